-- Merge an incremental read into the stored snapshot (pipelines/storage/source_snapshots.py), in the
-- pulled DuckDB file: the snapshot's rows whose key was not pulled (in their stored order), then the
-- pulled rows (in pull order), numbered anew as "__line" (first row = 2, the staging's convention).
-- A pulled row replaces the stored row with the same key ("__row_key_N", null equal to null).
-- The merged rows go to "merged" (sql/source_snapshot_merge_replace.sql puts it in the pulled
-- table's place). Placeholders (loader-generated, quoted identifiers): {changed} = the pulled
-- table; {snapshot} = stored.<snapshot table>; {key_match} = changed.k is not distinct from
-- snapshot.k and …
create or replace table merged as
with kept as (
    select snapshot.* exclude ("__line"), 0 as part, snapshot."__line" as position
    from {snapshot} as snapshot
    where not exists (select 1 from {changed} as changed where {key_match})
),
pulled as (
    select changed.* exclude ("__line"), 1 as part, changed."__line" as position
    from {changed} as changed
),
final as (
    select * exclude (part, position), row_number() over (order by part, position) + 1 as "__line"
    from (select * from kept union all by name select * from pulled)
)
select * from final order by "__line"
