-- What one pull brings to the history (read from the Parquet file the loader wrote at $path):
-- its sku-day rows, the source rows (sales lines) behind them, and its first and last day (NULL
-- when the pull was empty).
with pulled as (
    select "date", lines
    from read_parquet($path)
),
final as (
    select
        count(*) as sku_days,
        coalesce(sum(lines), 0) as source_rows,
        min("date") as first_day,
        max("date") as last_day
    from pulled
)
select * from final
