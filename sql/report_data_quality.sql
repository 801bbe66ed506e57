-- What was dropped, flagged or defaulted while loading, grouped per file, column and message.
-- Parameters: $run_id, $row_limit
with grouped as (
    select
        file, column_name, severity, message,
        count(*) as notes,
        sum(rows) as affected_rows,
        min(line) as first_line
    from data_quality
    where run_id = $run_id
    group by file, column_name, severity, message
),

ranked as (
    select
        *,
        count(*) over () as total_rows,
        row_number() over (
            order by case severity when 'error' then 0 when 'warning' then 1 else 2 end,
                     affected_rows desc nulls last, file, column_name, message
        ) as row_rank
    from grouped
),

final as (
    select * from ranked where row_rank <= $row_limit order by row_rank
)

select * from final
