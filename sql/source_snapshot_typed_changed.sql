-- The typed rows an incremental read checked (the loader's typed frame registered as {changed}, its
-- pulled rows numbered after the kept ones: "__line" = $shift + the pulled row's "__line"), with
-- the key columns of their pulled rows {pulled_rows} (pulled."__pulled_<table>"), numbered as
-- pulled: the rows sql/source_snapshot_store_changed.sql writes into the typed snapshot by key
-- (pipelines/storage/source_snapshots.py). Parameter: $shift.
create or replace temp table typed_changed as
with typed as (
    select * replace ("__line" - $shift as "__line")
    from {changed}
    where "__line" > $shift + 1
),
keys as (
    select columns(lambda name: starts_with(name, '__row_key_') or name = '__line')
    from {pulled_rows}
),
final as (
    select typed.*, keys.* exclude ("__line")
    from typed
    join keys using ("__line")
)
select * from final order by "__line"
