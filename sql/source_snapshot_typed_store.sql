-- Store a whole read's typed rows as the typed snapshot (pipelines/storage/source_snapshots.py), in
-- the results database with the pulled DuckDB file attached as "pulled": the loader's typed frame
-- (registered as {changed}, in the table's line order, with its "__line") and the key columns of
-- the pulled row of the same "__line". Placeholders (quoted internal identifiers): {snapshot} =
-- source_snapshot_typed_<table>; {changed} = the registered frame; {pulled_rows} = pulled.<table>.
create or replace table {snapshot} as
with keys as (
    select columns(lambda name: starts_with(name, '__row_key_') or name = '__line')
    from {pulled_rows}
),
final as (
    select typed.*, keys.* exclude ("__line")
    from {changed} as typed
    join keys using ("__line")
)
select * from final order by "__line"
