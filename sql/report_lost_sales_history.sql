-- Stock-out history of the SKUs with the largest 52-week lost value (then backordered units):
-- their demand_weekly rows (sales, demand estimate, in-stock share) over the last 52 weeks.
-- Parameters: $run_id, $top_n
with ranked as (
    select
        lost.sku,
        lost.supplier_id,
        lost.unmet_demand,
        lost.lost_units_52w,
        lost.lost_value_52w,
        lost.backordered_units_52w,
        lost.backorder_rate_52w,
        row_number() over (
            order by lost.lost_value_52w desc, lost.backordered_units_52w desc, lost.sku
        ) as rank
    from lost_sales as lost
    where lost.run_id = $run_id
        and (lost.lost_units_52w > 0 or lost.backordered_units_52w > 0)
),

top_skus as (
    select * from ranked where rank <= $top_n
),

last_week as (
    select max(week) as week from demand_weekly where run_id = $run_id
),

weeks as (
    select
        top_skus.*,
        item.description,
        demand.week,
        demand.sales,
        demand.demand_estimate,
        demand.in_stock_share
    from top_skus
    join demand_weekly as demand
        on demand.run_id = $run_id and demand.sku = top_skus.sku
    cross join last_week
    left join items_snapshot as item
        on item.run_id = $run_id and item.sku = top_skus.sku
    where demand.week > last_week.week - interval 52 week
),

final as (
    select * from weeks order by rank, week
)

select * from final
