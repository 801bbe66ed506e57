-- The stored state of the source snapshots pulled from $source (pipelines/storage/source_snapshots.py):
-- per input table, the fingerprint of its SELECT, the watermark (newest updated_column value, as
-- text) and the runs since its last whole read.
with state as (
    select input_table, fingerprint, watermark, runs_since_full
    from source_snapshot_state
    where source = $source
),
final as (
    select * from state order by input_table
)
select * from final
