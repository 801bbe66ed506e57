-- Suppliers ranked by the value they put at risk. Parameters: $run_id, $row_limit
with ranked as (
    select
        supplier_id, name, skus, skus_at_risk, expected_backorder_units,
        expected_backorder_value, lead_time_weeks_mean, lead_time_weeks_p90, on_time_rate,
        receipts, mean_days_late,
        count(*) over () as total_rows,
        row_number() over (
            order by expected_backorder_value desc nulls last,
                     expected_backorder_units desc nulls last,
                     supplier_id
        ) as risk_rank
    from supplier_risk
    where run_id = $run_id
),

final as (
    select * from ranked where risk_rank <= $row_limit order by risk_rank
)

select * from final
