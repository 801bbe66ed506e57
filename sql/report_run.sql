-- The run a report is made for, the previous succeeded run (earlier as_of) to compare with,
-- whether this run is the newest planning date (then planner.html/buyer.html are refreshed), and
-- the at-risk threshold the run was configured with (runs.config policy.at_risk_probability) and
-- the policy-backtest settings (runs.config policy_backtest_reforecast_weeks / _max_skus) and
-- the currency of its money values (runs.config currency; NULL: not stated).
-- Parameters: $run_id
with current_run as (
    select run_id, as_of, status, started_at, finished_at, skus, first_forecast_week,
           horizon_weeks, service_level_type,
           case when json_valid(config)
                then try_cast(json_extract_string(config, '$.policy.at_risk_probability') as double)
           end as at_risk_probability,
           case when json_valid(config)
                then try_cast(json_extract_string(config, '$.policy_backtest_reforecast_weeks') as integer)
           end as backtest_reforecast_weeks,
           case when json_valid(config)
                then try_cast(json_extract_string(config, '$.policy_backtest_max_skus') as integer)
           end as backtest_max_skus,
           case when json_valid(config)
                then nullif(json_extract_string(config, '$.currency'), '')
           end as currency
    from runs
    where run_id = $run_id
),

previous_run as (
    select r.run_id, r.as_of
    from runs as r
    cross join current_run as c
    where r.status = 'succeeded' and r.as_of < c.as_of
    order by r.as_of desc, r.finished_at desc nulls last
    limit 1
),

later_runs as (
    select count(*) as runs_after
    from runs as r
    cross join current_run as c
    where r.status = 'succeeded' and r.as_of > c.as_of
),

final as (
    select
        c.*,
        p.run_id as previous_run_id,
        p.as_of as previous_as_of,
        l.runs_after = 0 as is_latest
    from current_run as c
    left join previous_run as p on true
    cross join later_runs as l
)

select * from final
