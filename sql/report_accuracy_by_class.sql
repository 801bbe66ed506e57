-- Backtest accuracy of the selected models per demand class, next to the interval coverage
-- per class (either side may be missing). Parameters: $run_id
with selected as (
    select sku, model, rmsse, mase, wape, bias
    from forecast_accuracy
    where run_id = $run_id and selected
),

classes as (
    select sku, demand_class from sku_class where run_id = $run_id
),

accuracy as (
    select
        coalesce(classes.demand_class, 'unclassified') as demand_class,
        count(*) as skus,
        mode(selected.model) as main_model,
        count(distinct selected.model) as models_used,
        median(selected.rmsse) as median_rmsse,
        median(selected.mase) as median_mase,
        median(selected.wape) as median_wape,
        median(selected.bias) as median_bias
    from selected
    left join classes on classes.sku = selected.sku
    group by all
),

coverage as (
    select demand_class, series, coverage80, coverage95, pit_coverage80, pit_coverage95,
        window_coverage80, window_coverage95, level_error_weeks
    from forecast_coverage
    where run_id = $run_id
),

final as (
    select
        coalesce(accuracy.demand_class, coverage.demand_class) as demand_class,
        accuracy.skus, accuracy.main_model, accuracy.models_used,
        accuracy.median_rmsse, accuracy.median_mase, accuracy.median_wape, accuracy.median_bias,
        coverage.series, coverage.coverage80, coverage.coverage95,
        coverage.pit_coverage80, coverage.pit_coverage95,
        coverage.window_coverage80, coverage.window_coverage95, coverage.level_error_weeks
    from accuracy
    full outer join coverage on coverage.demand_class = accuracy.demand_class
    order by accuracy.skus desc nulls last, 1
)

select * from final
