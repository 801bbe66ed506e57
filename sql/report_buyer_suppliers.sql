-- Purchase recommendations per supplier: lines, value and whether the recommended value meets
-- the supplier's minimum order value. Parameters: $run_id
with lines as (
    select * from purchase_recommendations where run_id = $run_id
),

suppliers as (
    select supplier_id, name, min_order_value, lead_time_days
    from suppliers_snapshot
    where run_id = $run_id
),

totals as (
    select
        supplier_id,
        count(*) as lines,
        count(*) filter (where status = 'recommended') as recommended_lines,
        coalesce(sum(line_value) filter (where status = 'recommended'), 0) as recommended_value,
        coalesce(sum(line_value) filter (where status is distinct from 'recommended'), 0)
            as deferred_value,
        coalesce(sum(order_quantity) filter (where status = 'recommended'), 0)
            as recommended_units,
        min(order_by) filter (where status = 'recommended') as first_order_by
    from lines
    group by supplier_id
),

final as (
    select
        totals.*,
        suppliers.name,
        coalesce(suppliers.min_order_value, 0) as min_order_value,
        suppliers.lead_time_days,
        totals.recommended_value >= coalesce(suppliers.min_order_value, 0) as meets_minimum
    from totals
    left join suppliers on suppliers.supplier_id = totals.supplier_id
    order by totals.first_order_by nulls last, totals.recommended_value desc, totals.supplier_id
)

select * from final
