-- Projected on-hand stock, receipts and backorder probability of the drill-down SKUs.
-- Parameters: $run_id, $skus
with final as (
    select sku, week, step, demand_mean, receipts, on_hand_expected, backorder_probability,
           expected_backorder_units
    from projection
    where run_id = $run_id and list_contains($skus, sku)
    order by sku, week
)

select * from final
