-- Headline KPIs of one run: SKUs at risk, expected backorders, inventory value, weeks of cover.
-- Parameters: $run_id, $at_risk_probability (stock-out probability from which a SKU is "at risk")
with risk as (
    select
        count(*) as skus,
        count(*) filter (where stockout_probability >= $at_risk_probability) as skus_at_risk,
        coalesce(sum(expected_backorder_units), 0) as expected_backorder_units,
        coalesce(sum(expected_backorder_value), 0) as expected_backorder_value,
        median(weeks_of_cover) filter (where isfinite(weeks_of_cover)) as median_weeks_of_cover
    from backorder_risk
    where run_id = $run_id
),

stock as (
    select coalesce(sum(inv.on_hand * item.unit_cost), 0) as inventory_value
    from inventory_snapshot as inv
    inner join items_snapshot as item
        on item.run_id = inv.run_id and item.sku = inv.sku
    where inv.run_id = $run_id
),

final as (
    select risk.*, stock.inventory_value
    from risk
    cross join stock
)

select * from final
