-- After the checks of an incremental read that checked only the pulled rows
-- (sql/source_snapshot_changed_only.sql): the merged table {merged} takes the input table's place
-- {changed} again in the pulled DuckDB file, where messages look up a named row's key.
drop table {changed};
alter table {merged} rename to {changed};
