-- SKUs ranked by risk, with what the planner needs next to them: description, supplier, policy,
-- demand class, recommended order. Ranking: SKUs at risk first, then by stock-out probability
-- (to the 0.1 % the report shows), then expected backorder units, expected backorder value, sku;
-- NULL and NaN probabilities last. So no SKU under the at-risk threshold ranks above one at or
-- over it, and a more likely stock-out above a less likely one.
-- stockout_probability is P(demand over the protection interval > inventory position);
-- protection_weeks = mean lead time + review period, the horizon of that probability.
-- at_risk: the SKU counts in the headline "SKUs at risk" KPI and in supplier_risk.skus_at_risk
-- (stock-out probability >= the run's threshold, NaN never); at_risk_total: how many SKUs do.
-- Parameters: $run_id, $row_limit, $at_risk_probability
with risk as (
    select * from backorder_risk where run_id = $run_id
),

items as (
    select sku, description, unit_cost from items_snapshot where run_id = $run_id
),

suppliers as (
    select supplier_id, name as supplier_name from suppliers_snapshot where run_id = $run_id
),

policy as (
    select sku, safety_stock, reorder_point, order_up_to, service_level,
           lead_time_weeks_mean, review_period_weeks, demand_per_week_mean
    from inventory_policy
    where run_id = $run_id
),

classes as (
    select sku, demand_class, abc, xyz from sku_class where run_id = $run_id
),

selected_models as (
    select sku, any_value(model) as model
    from forecast_accuracy
    where run_id = $run_id and selected
    group by sku
),

orders as (
    select
        sku,
        sum(order_quantity) filter (where status = 'recommended') as recommended_quantity,
        sum(order_quantity) filter (where status is distinct from 'recommended') as deferred_quantity
    from purchase_recommendations
    where run_id = $run_id
    group by sku
),

ranked as (
    select
        risk.sku, items.description, risk.supplier_id, suppliers.supplier_name,
        risk.on_hand, risk.on_order, risk.backordered, risk.inventory_position,
        risk.stockout_probability, risk.expected_backorder_units, risk.expected_backorder_value,
        risk.weeks_of_cover, risk.projected_stockout_week, risk.order_by,
        orders.recommended_quantity, orders.deferred_quantity,
        policy.safety_stock, policy.reorder_point, policy.order_up_to, policy.service_level,
        policy.lead_time_weeks_mean, policy.demand_per_week_mean,
        policy.lead_time_weeks_mean + policy.review_period_weeks as protection_weeks,
        classes.demand_class, classes.abc, classes.xyz, selected_models.model,
        coalesce(risk.stockout_probability >= $at_risk_probability
                 and not isnan(risk.stockout_probability), false) as at_risk,
        count(*) over () as total_rows,
        count(*) filter (
            where risk.stockout_probability >= $at_risk_probability
              and not isnan(risk.stockout_probability)
        ) over () as at_risk_total,
        row_number() over (
            order by coalesce(risk.stockout_probability >= $at_risk_probability
                              and not isnan(risk.stockout_probability), false) desc,
                     round(case when not isnan(risk.stockout_probability)
                                then risk.stockout_probability end, 3) desc nulls last,
                     risk.expected_backorder_units desc nulls last,
                     risk.expected_backorder_value desc nulls last,
                     risk.sku
        ) as risk_rank
    from risk
    left join items on items.sku = risk.sku
    left join suppliers on suppliers.supplier_id = risk.supplier_id
    left join policy on policy.sku = risk.sku
    left join classes on classes.sku = risk.sku
    left join selected_models on selected_models.sku = risk.sku
    left join orders on orders.sku = risk.sku
),

final as (
    select * from ranked where risk_rank <= $row_limit order by risk_rank
)

select * from final
