-- The largest "__line" of a stored snapshot (0 when empty): the position after which an
-- incremental read's rows are numbered (sql/source_snapshot_store_changed.sql).
-- Placeholder: {snapshot} = a quoted internal snapshot table (pipelines/storage/source_snapshots.py).
with lines as (
    select max("__line") as last_line
    from {snapshot}
),
final as (
    select coalesce(last_line, 0) as last_line from lines
)
select * from final
