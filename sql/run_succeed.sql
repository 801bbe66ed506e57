update runs
set status = 'succeeded',
    finished_at = $finished_at,
    skus = $skus,
    first_forecast_week = $first_forecast_week,
    horizon_weeks = $horizon_weeks,
    service_level_type = $service_level_type,
    input_files = $input_files
where run_id = $run_id;
