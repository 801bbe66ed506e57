-- Write an incremental read into its stored snapshot by key (pipelines/storage/source_snapshots.py),
-- in the results database with the pulled DuckDB file attached as "pulled": the stored rows whose
-- key was pulled are deleted and the pulled rows inserted, numbered after the stored rows in pull
-- order ("__line" = the snapshot's largest "__line" + the row's position in the pull), so that the
-- next merge (sql/source_snapshot_merge.sql, which orders the kept rows by "__line") keeps the
-- order of this run's merged table. Gaps in "__line" are harmless: the merge numbers anew.
-- Placeholders (quoted internal identifiers): {snapshot} = source_snapshot_<table> (or its typed
-- twin); {changed} = pulled."__pulled_<table>" or the typed changed rows; {key_match} =
-- changed."__row_key_0" is not distinct from snapshot."__row_key_0" and …
-- Parameter: $last = the snapshot's largest "__line" before the delete.
delete from {snapshot} as snapshot
where exists (select 1 from {changed} as changed where {key_match});

insert into {snapshot} by name
with pulled_rows as (
    select changed.* exclude ("__line"), $last + changed."__line" - 1 as "__line"
    from {changed} as changed
),
final as (
    select * from pulled_rows
)
select * from final order by "__line";
