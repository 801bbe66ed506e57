-- An incremental read's pulled rows {changed} (a quoted input-table name in the pulled DuckDB file)
-- are set aside as {pulled_rows} ("__pulled_<table>"): the merge (sql/source_snapshot_merge.sql) or
-- the check of the pulled rows alone (sql/source_snapshot_changed_only.sql) builds the table the
-- loader reads, and the snapshot is written by their key (sql/source_snapshot_store_changed.sql).
-- pipelines/storage/source_snapshots.py.
alter table {changed} rename to {pulled_rows};
