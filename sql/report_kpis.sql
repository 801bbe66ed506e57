-- Headline KPIs of one run: SKUs at risk, expected backorders, inventory value, weeks of cover.
-- Parameters: $run_id, $at_risk_probability (stock-out probability from which a SKU is "at risk")
-- skus_at_risk uses exactly the pipeline's rule (models/inventory/suppliers.py, numpy
-- `p >= threshold`), so it equals sum(supplier_risk.skus_at_risk) of the run: NULL and NaN
-- probabilities are never at risk (DuckDB orders NaN above every number, numpy does not).
with risk as (
    select
        count(*) as skus,
        count(*) filter (
            where stockout_probability >= $at_risk_probability and not isnan(stockout_probability)
        ) as skus_at_risk,
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

-- the pipeline's own count, for a consistency check in the report (NULL without supplier rows)
supplier_rollup as (
    select sum(skus_at_risk) as supplier_skus_at_risk
    from supplier_risk
    where run_id = $run_id
),

final as (
    select risk.*, stock.inventory_value, supplier_rollup.supplier_skus_at_risk
    from risk
    cross join stock
    cross join supplier_rollup
)

select * from final
