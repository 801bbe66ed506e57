-- The planner overrides of the run and what each changed (overrides_applied), at most $row_limit rows:
-- overrides that matched nothing or changed nothing first (they need the planner's attention), then by file line.
-- Parameters: $run_id, $row_limit
with final as (
    select line, scope, key, kind, sku, weeks, before, after, note
    from overrides_applied
    where run_id = $run_id
    order by (coalesce(note, '') = '') , line, sku
    limit $row_limit
)

select * from final
