-- Whether the results database holds the source snapshots' state table (parameter: $state, its
-- name; pipelines/storage/source_snapshots.py).
with found as (
    select count(*) as tables
    from duckdb_tables()
    where table_name = $state and database_name = current_database()
),
final as (
    select tables > 0 as present from found
)
select * from final
