-- Forecast mean and 80/95 % bands of the drill-down SKUs. Parameters: $run_id, $skus
with final as (
    select sku, week, step, mean, lo80, hi80, lo95, hi95, model
    from forecasts
    where run_id = $run_id and list_contains($skus, sku)
    order by sku, week
)

select * from final
