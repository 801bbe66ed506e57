-- Weekly demand history of the drill-down SKUs: the last $history_weeks complete weeks before
-- the run's first forecast week. Parameters: $run_id, $skus (list of SKU codes), $history_weeks
with run as (
    select coalesce(first_forecast_week, as_of + 1) as first_forecast_week
    from runs
    where run_id = $run_id
),

final as (
    select sales.sku, sales.week, sales.quantity
    from sales_weekly as sales
    cross join run
    where list_contains($skus, sales.sku)
      and sales.week < run.first_forecast_week
      and sales.week >= run.first_forecast_week - (7 * $history_weeks)::integer
    order by sales.sku, sales.week
)

select * from final
