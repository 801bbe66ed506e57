-- The merged table (sql/source_snapshot_merge.sql) takes the place of the pulled rows {changed}
-- (a quoted input-table name) in the pulled DuckDB file (pipelines/storage/source_snapshots.py);
-- the pulled rows themselves are kept as {pulled_rows} ("__pulled_<table>"): the snapshot is
-- written by their key (sql/source_snapshot_store_changed.sql).
alter table {changed} rename to {pulled_rows};
alter table merged rename to {changed};
