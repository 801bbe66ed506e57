-- Purchase recommendation lines with descriptions, at most $lines_per_supplier per supplier
-- (recommended before deferred, earliest order-by first), with the buyer's decision on each recommended
-- line (order_decisions: approved | rejected | undecided) and the approved quantity.
-- Parameters: $run_id, $lines_per_supplier
with lines as (
    select
        rec.supplier_id, rec.sku, item.description, rec.order_quantity, rec.packs,
        rec.order_by, rec.expected_arrival, rec.unit_cost, rec.line_value, rec.reason,
        rec.status,
        case when rec.status = 'recommended' then coalesce(decision.decision, 'undecided') end as decision,
        case when decision.decision = 'approved' then decision.quantity end as approved_quantity,
        row_number() over (
            partition by rec.supplier_id
            order by (rec.status = 'recommended') desc nulls last, rec.order_by nulls last,
                     rec.line_value desc nulls last, rec.sku
        ) as line_rank
    from purchase_recommendations as rec
    left join items_snapshot as item
        on item.run_id = rec.run_id and item.sku = rec.sku
    left join order_decisions as decision
        on decision.run_id = rec.run_id and decision.line_key = rec.supplier_id || '/' || rec.sku
    where rec.run_id = $run_id
),

final as (
    select * from lines where line_rank <= $lines_per_supplier order by supplier_id, line_rank
)

select * from final
