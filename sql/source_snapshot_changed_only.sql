-- An incremental read of a table whose stored rows are kept typed (pipelines/storage/source_snapshots.py):
-- the loader reads only the pulled rows {pulled_rows} ("__pulled_<table>"), numbered after the
-- typed snapshot's last line ("__line" = $shift + the pulled "__line"; the kept rows keep their
-- stored lines), so its issues and notes name the merged table's lines.
-- Placeholders (quoted internal identifiers): {changed} = the input table; {pulled_rows}.
create table {changed} as
with pulled_rows as (
    select * replace ($shift + "__line" as "__line")
    from {pulled_rows}
),
final as (
    select * from pulled_rows
)
select * from final order by "__line"
