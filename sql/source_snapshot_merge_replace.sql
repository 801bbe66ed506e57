-- The merged table (sql/source_snapshot_merge.sql) takes the place of the input table {changed}
-- (a quoted input-table name) in the pulled DuckDB file (pipelines/storage/source_snapshots.py).
alter table merged rename to {changed};
