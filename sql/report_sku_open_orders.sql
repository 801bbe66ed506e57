-- Open purchase orders (not yet received) of the drill-down SKUs. Parameters: $run_id, $skus
with final as (
    select po_id, sku, supplier_id, quantity, order_date, expected_date
    from purchase_orders_snapshot
    where run_id = $run_id and received_date is null and list_contains($skus, sku)
    order by sku, expected_date, po_id
)

select * from final
