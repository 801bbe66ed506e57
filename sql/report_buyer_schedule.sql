-- Recommended order value per order-by week and supplier (the buyer's cash-out schedule).
-- Parameters: $run_id
with final as (
    select
        date_trunc('week', rec.order_by)::date as order_week,
        rec.supplier_id,
        coalesce(any_value(sup.name), any_value(rec.supplier_id)) as supplier_name,
        sum(rec.line_value) as order_value,
        count(*) as lines
    from purchase_recommendations as rec
    left join suppliers_snapshot as sup
        on sup.run_id = rec.run_id and sup.supplier_id = rec.supplier_id
    where rec.run_id = $run_id and rec.status = 'recommended' and rec.order_by is not null
    group by order_week, rec.supplier_id
    order by order_week, order_value desc
)

select * from final
