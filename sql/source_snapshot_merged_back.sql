-- After the checks of an incremental read that checked only the pulled rows
-- (sql/source_snapshot_changed_only.sql): the merged rows' lines and keys {merged}
-- (sql/source_snapshot_typed_keys.sql) take the input table's place {changed} in the pulled DuckDB
-- file, where messages look up a named row's key (pipelines/storage/source_snapshots.py).
drop table {changed};
alter table {merged} rename to {changed};
