-- One run's rows of a per-run table, sorted by every column left to right (run_id, sku, ...).
-- Parameters: $table (a table name: query_table looks it up in the catalog, no SQL text is spliced
-- in; it must have a run_id column), $run_id
with run_rows as (
    select * from query_table($table) where run_id = $run_id
),

final as (
    select * from run_rows order by all
)

select * from final;
