-- Validated raw sales lines → one row per sku and day (a timestamp is truncated to its date),
-- with the number of lines, of negative lines (returns) and the first line number.
-- Reads temp table raw_sales (trimmed VARCHAR columns, already checked by the loader).
create or replace temp table sales_daily as
with typed as (
    select
        line,
        sku,
        cast(cast("date" as timestamp) as date) as day,
        cast(quantity as double) as quantity
    from raw_sales
),
final as (
    select
        sku,
        day,
        sum(quantity) as quantity,
        count(*) as lines,
        count(*) filter (where quantity < 0) as negative_lines,
        min(line) as first_line
    from typed
    group by sku, day
)
select * from final
