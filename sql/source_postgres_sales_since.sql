-- Pull only the sales from day $1 on (run by the PostgreSQL server through ADBC): the renamed
-- sales SELECT of source_postgres_table.sql, filtered on its "date" column, which PostgreSQL
-- pushes down to the source table (an index on the date serves it). Loader-generated placeholders
-- (named in braces below): pulled = that SELECT; since = `cast($1 as date)` for a date or
-- timestamp column, `$1` (an ISO 'YYYY-MM-DD' text, compared as text) for a text column.
with pulled as (
    {pulled}
),
final as (
    select *
    from pulled
    where "date" >= {since}
)
select * from final
