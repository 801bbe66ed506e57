-- Excess and dead stock totals per supplier (excess_stock), largest excess value first. Parameters: $run_id
with totals as (
    select
        excess.supplier_id,
        any_value(supplier.name) as supplier_name,
        count(*) as skus,
        sum(excess.excess_units) as excess_units,
        sum(excess.excess_value) as excess_value,
        count(*) filter (where excess.dead) as dead_skus,
        count(*) filter (where excess.action = 'return to supplier') as discontinued_skus
    from excess_stock as excess
    left join suppliers_snapshot as supplier
        on supplier.run_id = excess.run_id and supplier.supplier_id = excess.supplier_id
    where excess.run_id = $run_id
    group by excess.supplier_id
),

final as (
    select * from totals order by excess_value desc nulls last, supplier_id
)

select * from final
