-- The line and key of every row of the merged table when the loader checks only the pulled rows
-- (sql/source_snapshot_changed_only.sql): the kept rows of the typed snapshot with their stored
-- lines, then the pulled rows numbered after them ($shift + "__line"). Messages look a named
-- line's key up here (it takes the input table's place after the checks,
-- sql/source_snapshot_merged_back.sql). Run in the pulled DuckDB file, the results database
-- attached as "stored". Placeholders (quoted internal identifiers): {merged} = "__merged_<table>";
-- {snapshot} = stored."source_snapshot_typed_<table>"; {changed} = "__pulled_<table>";
-- {key_match} = changed."__row_key_0" is not distinct from snapshot."__row_key_0" and …
create table {merged} as
with kept as (
    select columns(lambda name: starts_with(name, '__row_key_') or name = '__line')
    from {snapshot} as snapshot
    where not exists (select 1 from {changed} as changed where {key_match})
),
pulled_rows as (
    select columns(lambda name: starts_with(name, '__row_key_') or name = '__line')
    from {changed}
),
final as (
    select * from kept
    union all by name
    select * replace ($shift + "__line" as "__line") from pulled_rows
)
select * from final
