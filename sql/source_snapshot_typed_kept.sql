-- The typed rows of a stored snapshot whose key was not pulled (pipelines/storage/source_snapshots.py),
-- in their stored order with their stored "__line": the rows of this run's merged table that need
-- no check, typed as the loader typed them when they were last checked; the contract columns and
-- "__line" (not the key columns). Run in the pulled DuckDB file, the results database attached as
-- "stored". Placeholders (quoted internal identifiers): {snapshot} =
-- stored."source_snapshot_typed_<table>"; {changed} = "__pulled_<table>"; {key_match} =
-- changed."__row_key_0" is not distinct from snapshot."__row_key_0" and …
with kept as (
    select snapshot.*
    from {snapshot} as snapshot
    where not exists (select 1 from {changed} as changed where {key_match})
),
final as (
    select columns(lambda name: not starts_with(name, '__')), "__line"
    from kept
)
select * from final order by "__line"
