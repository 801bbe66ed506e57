-- The validated daily sales with their text sku back (temp view sales_daily: sku, day, quantity,
-- lines, negative_lines, first_line and the price columns), for the readers that join on sku
-- (stock-out inference, stock history weekday profile); the loader's own aggregates read
-- sales_daily_keyed and join the sku only into their (smaller) results.
create or replace temp view sales_daily as
with final as (
    select
        sales_sku_ids.sku,
        sales_daily_keyed.day,
        sales_daily_keyed.quantity,
        sales_daily_keyed.lines,
        sales_daily_keyed.negative_lines,
        sales_daily_keyed.first_line,
        sales_daily_keyed.priced_value,
        sales_daily_keyed.priced_quantity,
        sales_daily_keyed.price_sum,
        sales_daily_keyed.price_lines
    from sales_daily_keyed
    join sales_sku_ids on sales_daily_keyed.sku_id = sales_sku_ids.sku_id
)
select * from final
