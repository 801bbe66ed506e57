-- Validated raw sales lines → one row per sku and day (a timestamp is truncated to its date),
-- with the number of lines, of negative lines (returns) and the first line number, and the price
-- columns of load_sales_fast.sql (NULL without sales.unit_price).
-- Reads temp table raw_sales (trimmed VARCHAR columns, already checked by the loader).
-- {unit_price}: the staged price column ("unit_price") or null when the file has none.
create or replace temp table sales_daily as
with typed as (
    select
        line,
        sku,
        cast(cast("date" as timestamp) as date) as day,
        cast(quantity as double) as quantity,
        cast({unit_price} as double) as unit_price
    from raw_sales
),
final as (
    select
        sku,
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
    group by sku, day
)
select * from final
