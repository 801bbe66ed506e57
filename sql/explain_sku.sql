-- Everything behind one SKU's numbers in one run: policy inputs and levels, risk, and the order.
-- Parameters: $run_id, $sku
with policy as (
    select * from inventory_policy where run_id = $run_id and sku = $sku
),

risk as (
    select * from backorder_risk where run_id = $run_id and sku = $sku
),

demand_class as (
    select demand_class, abc, xyz, adi, cv2, history_weeks
    from sku_class where run_id = $run_id and sku = $sku
),

model as (
    select any_value(model) as model, any_value(family) as family,
           sum(mean) filter (where step <= 13) as forecast_next_13_weeks
    from forecasts where run_id = $run_id and sku = $sku
),

item as (
    select description, unit_cost, pack_size, moq, status
    from items_snapshot where run_id = $run_id and sku = $sku
),

purchase as (
    select order_quantity, packs, order_by, expected_arrival, line_value, reason, status as order_status
    from purchase_recommendations where run_id = $run_id and sku = $sku
),

final as (
    select
        policy.sku, item.description, policy.supplier_id, item.status, item.unit_cost, item.pack_size, item.moq,
        demand_class.demand_class, demand_class.abc, demand_class.xyz, demand_class.adi, demand_class.cv2,
        demand_class.history_weeks, model.model, model.family, model.forecast_next_13_weeks,
        policy.service_level, policy.service_level_type, policy.lead_time_weeks_mean, policy.lead_time_weeks_sd,
        policy.review_period_weeks, policy.demand_per_week_mean, policy.demand_per_week_sd,
        policy.protection_demand_mean, policy.protection_demand_sd, policy.safety_stock, policy.reorder_point,
        policy.order_up_to, policy.eoq, policy.method, policy.zero_policy_reason, policy.level_error_weeks,
        risk.on_hand, risk.on_order, risk.backordered, risk.inventory_position, risk.stockout_probability,
        risk.expected_backorder_units, risk.weeks_of_cover, risk.projected_stockout_week,
        purchase.order_quantity, purchase.packs, purchase.order_by, purchase.expected_arrival,
        purchase.line_value, purchase.order_status, purchase.reason
    from policy
    left join risk using (sku)
    cross join model
    left join demand_class on true
    left join item on true
    left join purchase on true
)

select * from final
