-- Pull only the rows of one input table changed since the last pull (run by the PostgreSQL server
-- through ADBC; pipelines/storage/source_snapshots.py): the renamed SELECT of
-- source_postgres_table.sql, filtered on its change-tracking column "__updated" (the configured
-- `updated_column`, a date or timestamp), from the watermark $1 minus $2 days of look-back.
-- PostgreSQL pushes the filter down to the source table (an index on the column serves it).
-- Loader-generated placeholders (named in braces below): pulled = that SELECT; since =
-- `cast($1 as <date | timestamp | timestamptz>)`, the column's own type.
with pulled as (
    {pulled}
),
final as (
    select *
    from pulled
    where "__updated" >= {since} - make_interval(days => cast($2 as integer))
)
select * from final
