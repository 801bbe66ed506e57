-- The state of the source snapshots (pipelines/storage/source_snapshots.py): one row per input table
-- read with an updated_column, for the snapshot table source_snapshot_<input_table>.
create table if not exists source_snapshot_state (
    input_table varchar primary key,      -- items | suppliers | inventory | purchase_orders
    source varchar not null,              -- the PostgreSQL URI (no password) it was pulled from
    fingerprint varchar not null,         -- sha256 of the table's SELECT (mapping, key, updated column)
    watermark varchar,                    -- newest updated_column value of the snapshot (text), or null
    runs_since_full integer not null,     -- incremental reads since the last whole read
    snapshot_rows bigint not null,        -- rows of the snapshot
    pulled_at timestamp not null          -- when the run that pulled it started
)
