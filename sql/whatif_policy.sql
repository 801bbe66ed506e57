-- The stored policy of a run's SKUs for `safestock whatif`, with unit cost, ABC class and supplier.
-- Parameters: $run_id
with final as (
    select policy.sku, policy.supplier_id, policy.service_level, policy.safety_stock,
           policy.protection_demand_sd, item.unit_cost, class.abc
    from inventory_policy as policy
    left join items_snapshot as item on item.run_id = policy.run_id and item.sku = policy.sku
    left join sku_class as class on class.run_id = policy.run_id and class.sku = policy.sku
    where policy.run_id = $run_id
    order by policy.sku
)

select * from final
