-- What the report filters (reports/report.js) know about each listed SKU: its supplier (code and
-- name), ABC class, category (items.category; NULL when the items file has none) and risk status:
-- 'at risk' when P(stock-out within lead time + review) >= $at_risk_probability (the headline
-- rule of report_top_risk.sql), 'not at risk' below it, 'no estimate' for NULL/NaN.
-- The category is read through to_json(item) so that a database written before items.category
-- existed (no such column in items_snapshot) reads as "no category" instead of failing.
-- Parameters: $run_id, $skus (list of SKU codes), $at_risk_probability
with wanted as (
    select distinct unnest($skus::varchar[]) as sku
),

items as (
    select item.sku, item.supplier_id, to_json(item) ->> 'category' as category
    from items_snapshot as item
    join wanted on wanted.sku = item.sku
    where item.run_id = $run_id
),

final as (
    select
        wanted.sku,
        coalesce(risk.supplier_id, items.supplier_id) as supplier_id,
        supplier.name as supplier_name,
        class.abc,
        nullif(trim(items.category), '') as category,
        case
            when risk.stockout_probability is null or isnan(risk.stockout_probability) then 'no estimate'
            when risk.stockout_probability >= $at_risk_probability then 'at risk'
            else 'not at risk'
        end as risk
    from wanted
    left join items on items.sku = wanted.sku
    left join backorder_risk as risk on risk.run_id = $run_id and risk.sku = wanted.sku
    left join sku_class as class on class.run_id = $run_id and class.sku = wanted.sku
    left join suppliers_snapshot as supplier
        on supplier.run_id = $run_id and supplier.supplier_id = coalesce(risk.supplier_id, items.supplier_id)
    order by wanted.sku
)

select * from final
