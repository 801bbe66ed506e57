-- How well earlier runs forecast: per earlier succeeded run, WAPE and bias of its step
-- 1..$max_step forecasts against the weekly actuals now known (sales_weekly is zero-filled,
-- so a forecast week without a sales row is not observed yet and is left out).
-- WAPE = sum |forecast - actual| / sum actual; bias = sum (forecast - actual) / sum actual.
-- Parameters: $run_id, $max_runs, $max_step
with current_run as (
    select as_of from runs where run_id = $run_id
),

earlier_runs as (
    select r.run_id, r.as_of
    from runs as r
    cross join current_run as c
    where r.status = 'succeeded' and r.as_of < c.as_of
    order by r.as_of desc
    limit $max_runs
),

matched as (
    select earlier_runs.run_id, earlier_runs.as_of, f.sku, f.step, f.mean, sales.quantity
    from earlier_runs
    inner join forecasts as f
        on f.run_id = earlier_runs.run_id and f.step between 1 and $max_step
    inner join sales_weekly as sales
        on sales.sku = f.sku and sales.week = f.week
),

final as (
    select
        run_id,
        as_of,
        count(*) as forecasts,
        count(distinct sku) as skus,
        max(step) as steps_observed,
        sum(quantity) as actual_units,
        sum(mean) as forecast_units,
        sum(abs(mean - quantity)) / nullif(sum(quantity), 0) as wape,
        sum(mean - quantity) / nullif(sum(quantity), 0) as bias
    from matched
    group by run_id, as_of
    order by as_of
)

select * from final
