-- An incremental read of a table whose stored rows are kept typed (pipelines/storage/source_snapshots.py):
-- the loader reads only the pulled rows, numbered as in the merged table (after the $kept kept
-- rows: "__line" = $kept + the pulled "__line"), so its issues and notes name the merged table's
-- lines; the merged table waits as {merged} ("__merged_<table>") and takes the table's place again
-- after the checks (sql/source_snapshot_merged_back.sql), for the messages and the snapshot.
-- Placeholders (quoted internal identifiers): {changed} = the input table; {merged} =
-- "__merged_<table>"; {pulled_rows} = "__pulled_<table>". Parameter: $kept.
alter table {changed} rename to {merged};

create table {changed} as
with pulled_rows as (
    select * replace ($kept + "__line" as "__line")
    from {pulled_rows}
),
final as (
    select * from pulled_rows
)
select * from final order by "__line";
