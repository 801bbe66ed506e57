-- Service calibration per demand class and finer group (models/inventory/calibration.py):
-- the nominal level the policy uses so that the replay meets the target, achieved before
-- (at the target) and after (cross-fitted: the correction fitted on one half of the replayed
-- weeks, judged on the other), and the stock it costs; the empirical protection-interval candidate's
-- achieved and stock, and the interval model the class uses (empirical_demand.py). Class rows ('all') first, then the
-- class's finer groups with evidence of their own (shrink weight > 0).
-- Parameters: $run_id
with calibration as (
    select
        demand_class, calibration_group, service_level_type, skus, cycles,
        case when isfinite(service_level_target) then service_level_target end as service_level_target,
        case when isfinite(nominal_level) then nominal_level end as nominal_level,
        nominal_offset_z,
        case when isfinite(achieved_before) then achieved_before end as achieved_before,
        case when isfinite(achieved_after) then achieved_after end as achieved_after,
        shrink_weight, average_on_hand_before, average_on_hand_after,
        coalesce(interval_model, 'parametric') as interval_model,
        case when isfinite(achieved_empirical) then achieved_empirical end as achieved_empirical,
        case when isfinite(average_on_hand_empirical) then average_on_hand_empirical end as average_on_hand_empirical
    from service_calibration
    where run_id = $run_id
),

final as (
    select
        *,
        calibration_group = 'all' as is_class,
        achieved_before - service_level_target as gap_before,
        achieved_after - service_level_target as gap_after,
        case demand_class
            when 'smooth' then 1 when 'erratic' then 2 when 'intermittent' then 3
            when 'lumpy' then 4 when 'new' then 5 when 'inactive' then 6
            else 50
        end as class_order
    from calibration
    where calibration_group = 'all' or shrink_weight > 0
    order by class_order, demand_class, is_class desc, calibration_group
)

select * from final
