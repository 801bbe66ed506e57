-- Record the state of one freshly written source snapshot (pipelines/storage/source_snapshots.py):
-- its watermark is the newest "__updated" value of the snapshot table {snapshot} (a quoted
-- internal name). Parameters: $source, $input_table, $fingerprint, $runs, $rows, $pulled_at.
insert or replace into source_snapshot_state
with newest as (
    select cast(max("__updated") as varchar) as watermark
    from {snapshot}
),
final as (
    select $input_table as input_table, $source as source, $fingerprint as fingerprint, watermark,
           $runs as runs_since_full, $rows as snapshot_rows, $pulled_at as pulled_at
    from newest
)
select * from final
