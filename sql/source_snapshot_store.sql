-- Store a pulled (and merged) input table as its snapshot in the results database
-- (pipelines/storage/source_snapshots.py), the pulled DuckDB file attached as "pulled": every
-- column as pulled (contract columns, "__row_key_N", "__updated", "__line").
-- Placeholders (quoted internal identifiers): {snapshot} = source_snapshot_<table>; {changed} = the
-- input table's name in the pulled file.
create or replace table {snapshot} as
with pulled_rows as (
    select * from pulled.{changed}
),
final as (
    select * from pulled_rows
)
select * from final
