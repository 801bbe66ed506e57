-- The buyer's decisions on this run's order lines (order_decisions, stored by `safestock approve`), per
-- supplier: recommended lines and units vs approved lines and units, rejected and still undecided lines,
-- and the lines this run did not recommend because a buyer rejected them recently (status 'rejected').
-- Parameters: $run_id
with lines as (
    select
        rec.supplier_id, rec.order_quantity, rec.status, decision.decision, decision.quantity as decided_quantity
    from purchase_recommendations as rec
    left join order_decisions as decision
        on decision.run_id = rec.run_id and decision.line_key = rec.supplier_id || '/' || rec.sku
    where rec.run_id = $run_id and rec.status in ('recommended', 'rejected')
),

final as (
    select
        lines.supplier_id,
        any_value(supplier.name) as name,
        count(*) filter (where status = 'recommended') as recommended_lines,
        coalesce(sum(order_quantity) filter (where status = 'recommended'), 0) as recommended_units,
        count(*) filter (where decision = 'approved') as approved_lines,
        coalesce(sum(decided_quantity) filter (where decision = 'approved'), 0) as approved_units,
        count(*) filter (where decision = 'rejected') as rejected_lines,
        count(*) filter (where status = 'recommended' and decision is null) as undecided_lines,
        count(*) filter (where status = 'rejected') as rejected_before_lines
    from lines
    left join suppliers_snapshot as supplier
        on supplier.run_id = $run_id and supplier.supplier_id = lines.supplier_id
    group by lines.supplier_id
    order by lines.supplier_id
)

select * from final
