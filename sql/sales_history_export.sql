-- The validated sales of a load as they enter sales_history, written as Parquet to $path: one row
-- per sku and day (the loader's temp table/view sales_daily: the day's lines summed, returns
-- netted), with the number of source lines behind it (`lines`, for the run's rows_pulled; not stored).
copy (
    with daily as (
        select sku, day, quantity, lines
        from sales_daily
    ),
    final as (
        select sku, day as "date", quantity, lines
        from daily
    )
    select * from final
) to $path (format parquet)
