-- Excess and dead stock of the run (excess_stock), largest value first, at most $row_limit rows, with the
-- SKU's description, category (items.category, read through to_json so that a database written before
-- the column existed reads as NULL) and supplier name. Parameters: $run_id, $row_limit
with rows_of_run as (
    select excess.*, item.description, nullif(trim(to_json(item) ->> 'category'), '') as category,
        supplier.name as supplier_name
    from excess_stock as excess
    left join items_snapshot as item on item.run_id = excess.run_id and item.sku = excess.sku
    left join suppliers_snapshot as supplier
        on supplier.run_id = excess.run_id and supplier.supplier_id = excess.supplier_id
    where excess.run_id = $run_id
),

final as (
    select * from rows_of_run order by excess_value desc nulls last, sku limit $row_limit
)

select * from final
