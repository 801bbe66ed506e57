-- Validated raw sales lines → one row per item and day (a timestamp is truncated to its date),
-- keyed by the sku's number in temp table sales_sku_ids (sql/load_sales_sku_ids.sql over
-- raw_sales), with the number of lines, of negative lines (returns) and the first line number,
-- and the price columns of load_sales_fast.sql (NULL without sales.unit_price).
-- Reads temp table raw_sales (trimmed VARCHAR columns, already checked by the loader).
-- {unit_price}: the staged price column ("unit_price") or null when the file has none.
create or replace temp table sales_daily_keyed as
with typed as (
    select
        line,
        sales_sku_ids.sku_id,
        cast(cast("date" as timestamp) as date) as day,
        cast(quantity as double) as quantity,
        cast({unit_price} as double) as unit_price
    from raw_sales
    join sales_sku_ids on raw_sales.sku = sales_sku_ids.sku
),
final as (
    select
        sku_id,
        day,
        sum(quantity) as quantity,
        count(*) as lines,
        count(*) filter (where quantity < 0) as negative_lines,
        min(line) as first_line,
        sum(quantity * unit_price) filter (where quantity > 0 and unit_price is not null) as priced_value,
        sum(quantity) filter (where quantity > 0 and unit_price is not null) as priced_quantity,
        sum(unit_price) as price_sum,
        count(unit_price) as price_lines
    from typed
    group by sku_id, day
)
select * from final
