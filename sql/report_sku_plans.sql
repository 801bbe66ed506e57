-- Forecast and stock of the SKUs with order lines in the buyer report ($skus): the link target of
-- each order line in the planner report. Per SKU: stock now, policy levels, forecast units over
-- the next 4 and 13 weeks (sum of the weekly means of steps 1-4 and 1-13), the stock-out
-- probability and projected stock-out week, and the units on its order lines by status.
-- Parameters: $run_id, $skus (list of SKU codes)
with wanted as (
    select distinct unnest($skus::varchar[]) as sku
),

forecast as (
    select
        forecast.sku,
        sum(forecast.mean) filter (where forecast.step <= 4) as forecast_4_weeks,
        sum(forecast.mean) filter (where forecast.step <= 13) as forecast_13_weeks
    from forecasts as forecast
    join wanted on wanted.sku = forecast.sku
    where forecast.run_id = $run_id
    group by forecast.sku
),

orders as (
    select
        rec.sku,
        sum(rec.order_quantity) filter (where rec.status = 'recommended') as recommended_quantity,
        sum(rec.order_quantity) filter (where rec.status is distinct from 'recommended') as deferred_quantity
    from purchase_recommendations as rec
    join wanted on wanted.sku = rec.sku
    where rec.run_id = $run_id
    group by rec.sku
),

final as (
    select
        wanted.sku, item.description,
        risk.on_hand, risk.on_order, policy.safety_stock, policy.reorder_point, policy.order_up_to,
        forecast.forecast_4_weeks, forecast.forecast_13_weeks,
        risk.stockout_probability, risk.weeks_of_cover, risk.projected_stockout_week, risk.order_by,
        orders.recommended_quantity, orders.deferred_quantity
    from wanted
    left join items_snapshot as item on item.run_id = $run_id and item.sku = wanted.sku
    left join backorder_risk as risk on risk.run_id = $run_id and risk.sku = wanted.sku
    left join inventory_policy as policy on policy.run_id = $run_id and policy.sku = wanted.sku
    left join forecast on forecast.sku = wanted.sku
    left join orders on orders.sku = wanted.sku
    order by wanted.sku
)

select * from final
