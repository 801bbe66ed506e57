-- The forecasting models selected in a run, with how many SKUs use each (the planner report's
-- model legend). Parameters: $run_id
with selected as (
    select sku, model
    from forecast_accuracy
    where run_id = $run_id and selected
),

final as (
    select model, count(*) as skus
    from selected
    group by model
)

select * from final
order by skus desc, model
