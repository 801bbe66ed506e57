-- The validated sales of a load as they enter sales_history, written as Parquet to $path: one row
-- per sku and day (the loader's temp table sales_daily_keyed: the day's lines summed, returns
-- netted, with the text sku of sales_sku_ids), with the number of source lines behind it
-- (`lines`, for the run's rows_pulled; not stored).
copy (
    with daily as (
        select sku_id, day, quantity, lines
        from sales_daily_keyed
    ),
    final as (
        select sales_sku_ids.sku, daily.day as "date", daily.quantity, daily.lines
        from daily
        join sales_sku_ids on daily.sku_id = sales_sku_ids.sku_id
    )
    select * from final
) to $path (format parquet)
