-- Lost sales and backorders per supplier (lost_sales_by_supplier), largest 52-week lost value first.
-- Parameters: $run_id
with totals as (
    select
        lost.*,
        supplier.name as supplier_name
    from lost_sales_by_supplier as lost
    left join suppliers_snapshot as supplier
        on supplier.run_id = lost.run_id and supplier.supplier_id = lost.supplier_id
    where lost.run_id = $run_id
),

final as (
    select * from totals
    order by lost_value_52w desc nulls last, backordered_units_52w desc nulls last, supplier_id
)

select * from final
