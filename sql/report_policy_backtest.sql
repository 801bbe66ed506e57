-- Policy backtest per demand class: the last weeks of real demand replayed under the run's
-- policy (pipelines/flow.py policy_backtest_task), achieved vs target service levels.
-- A class is flagged when its achieved cycle service level or fill rate is more than
-- $below_target_margin (0.02 = 2 points) under the target of the configured service-level type
-- (the other target is NULL/NaN and is never judged). The 'all' row comes last.
-- Parameters: $run_id, $below_target_margin
with backtest as (
    select
        demand_class, skus, weeks,
        case when isfinite(service_level_target) then service_level_target end as service_level_target,
        case when isfinite(cycle_service_level) then cycle_service_level end as cycle_service_level,
        case when isfinite(fill_rate_target) then fill_rate_target end as fill_rate_target,
        case when isfinite(fill_rate) then fill_rate end as fill_rate,
        average_on_hand, backorder_units, review_cycle_service_level, cycles, demand_units
    from policy_backtest
    where run_id = $run_id
),

judged as (
    select
        *,
        cycle_service_level - service_level_target as cycle_service_level_gap,
        fill_rate - fill_rate_target as fill_rate_gap,
        coalesce(cycle_service_level < service_level_target - $below_target_margin, false) as cycle_below_target,
        coalesce(fill_rate < fill_rate_target - $below_target_margin, false) as fill_below_target,
        demand_class = 'all' as is_total,
        case demand_class
            when 'smooth' then 1 when 'erratic' then 2 when 'intermittent' then 3
            when 'lumpy' then 4 when 'new' then 5 when 'inactive' then 6 when 'all' then 99
            else 50
        end as class_order
    from backtest
),

final as (
    select *, cycle_below_target or fill_below_target as below_target
    from judged
    order by class_order, demand_class
)

select * from final
