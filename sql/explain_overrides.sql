-- The planner overrides that changed one SKU in a run (overrides_applied), in file order.
-- Parameters: $run_id, $sku
with final as (
    select line, scope, key, kind, weeks, before, after, note
    from overrides_applied
    where run_id = $run_id and sku = $sku
    order by line
)

select * from final
