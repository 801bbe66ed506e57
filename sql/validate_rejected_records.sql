-- Records the CSV reader rejected (wrong column count, invalid UTF-8, …): one row per line
-- (a line can fail several ways), first 50 by line, with the count of rejected lines. An
-- unterminated quote is named as such (DuckDB types it 'UNQUOTED VALUE'); its line is where the
-- quote opens (the reader runs with auto_detect = false: a sniffing failure has no line).
-- Placeholder: {rejects_table}.
with rejected as (
    select
        line,
        string_agg(distinct case
            when error_message ilike '%unterminated quote%'
                then 'unterminated quote: a quote opened on this line never closes'
            else lower(replace(error_type, '_', ' '))
        end, ', ') as problems,
        left(min(csv_line), 80) as csv_line
    from {rejects_table}
    group by line
),
counted as (
    select *, count(*) over () as total
    from rejected
),
final as (
    select * from counted
    order by line
    limit 50
)
select * from final
