-- Projected on-hand stock, receipts and backorder probability of the drill-down SKUs, without
-- new orders (the projection table) and with the run's recommended orders arriving (the plan).
-- The projection table has no with-plan series, so it is derived here:
--   planned_receipts_t  = order_quantity of the SKU's recommended lines whose expected_arrival
--                         falls in projection week t (week <= arrival < week + 7; an arrival
--                         before the first week counts in week 1, one after the last in none,
--                         exactly as models/inventory/projection.py places open purchase orders)
--   on_hand_with_plan_t = on_hand_expected_t + sum of planned_receipts_1..t
-- expected_arrival is order_by + mean lead time (the arrival when the line is placed on its
-- order-by date); deferred lines are not part of the plan. Expected net stock is linear in the
-- receipts, so adding them is exact for the mean (the backorder probability is not re-derived).
-- Parameters: $run_id, $skus
with projection_rows as (
    select sku, week, step, demand_mean, receipts, on_hand_expected, backorder_probability,
           expected_backorder_units
    from projection
    where run_id = $run_id and list_contains($skus, sku)
),

plan_lines as (
    select sku, order_quantity, expected_arrival
    from purchase_recommendations
    where run_id = $run_id and status = 'recommended' and expected_arrival is not null
      and list_contains($skus, sku)
),

first_weeks as (
    select sku, min(week) as first_week, max(week) as last_week
    from projection_rows
    group by sku
),

plan_receipts as (
    select
        plan_lines.sku,
        greatest(plan_lines.expected_arrival, first_weeks.first_week) as arrival,
        plan_lines.order_quantity
    from plan_lines
    inner join first_weeks on first_weeks.sku = plan_lines.sku
    where plan_lines.expected_arrival < first_weeks.last_week + 7
),

weekly_plan as (
    select
        projection_rows.sku, projection_rows.step,
        coalesce(sum(plan_receipts.order_quantity), 0) as planned_receipts
    from projection_rows
    left join plan_receipts
        on plan_receipts.sku = projection_rows.sku
       and plan_receipts.arrival >= projection_rows.week
       and plan_receipts.arrival < projection_rows.week + 7
    group by projection_rows.sku, projection_rows.step
),

final as (
    select
        projection_rows.*,
        weekly_plan.planned_receipts,
        projection_rows.on_hand_expected + sum(weekly_plan.planned_receipts) over (
            partition by projection_rows.sku order by projection_rows.step
            rows between unbounded preceding and current row
        ) as on_hand_with_plan
    from projection_rows
    inner join weekly_plan
        on weekly_plan.sku = projection_rows.sku and weekly_plan.step = projection_rows.step
    order by projection_rows.sku, projection_rows.week
)

select * from final
