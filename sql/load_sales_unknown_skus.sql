-- Fast path: how many distinct sales SKUs (from sales_daily) are missing from the staged items
-- table; when any, the loader stages sales to report each with its first line and row count.
-- Placeholders: parent_table, parent_column (quoted contract names).
with sales_skus as (
    select distinct sku from sales_daily
),
unknown as (
    select sales_skus.sku
    from sales_skus
    anti join {parent_table} as parent on sales_skus.sku = parent.{parent_column}
),
final as (
    select count(*) as unknown_skus from unknown
)
select * from final
