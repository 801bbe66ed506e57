-- Fast path: how many validated sales lines name a sku missing from the staged items (temp table
-- sales_checked of sql/load_sales_fast.sql, keyed by the items' numbers: sku_id NULL); when any,
-- the loader stages sales to report each unknown sku with its first line and row count.
with final as (
    select coalesce(sum(unknown_lines), 0) as unknown_lines
    from sales_checked
)
select * from final
