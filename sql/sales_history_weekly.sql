-- Weekly demand per sku from the accumulated sales history as it will be after this run's pull,
-- read from the stored weekly totals (sales_history_weekly) instead of every stored day: only the
-- weeks the pull touches are re-aggregated from days. The touched weeks are the ISO weeks (Monday)
-- from the week of $replace_from to the week of $replace_to (NULL $replace_to: no end; NULL
-- $replace_from: nothing touched), of the affected SKUs: the run's items (Parquet at $skus_path) and
-- the SKUs of the pulled days (Parquet at $path), which lie in the window [$replace_from,
-- $replace_to] (storage/history.py describe_pull). For them: the stored days of those weeks that
-- sql/sales_history_delete.sql keeps (outside the window, or of a SKU that is not an item) plus the
-- pulled days, summed per week, exactly as sql/sales_history_weekly_refresh_insert.sql will store
-- them; every other sku-week is its stored total. The rows equal sql/sales_history_weekly_all_days.sql
-- (the same weekly rule as sql/sales_weekly_aggregate.sql: complete ISO weeks ending on or before
-- $as_of, only weeks with sales rows, weekly totals below zero clipped at 0; a complete week holds no
-- day after $as_of), in the same order (each sku's rank among the distinct skus, then week).
with affected_skus as (
    select sku from read_parquet($skus_path)
    union
    select sku from read_parquet($path)
),
touched as (
    select
        cast(date_trunc('week', cast($replace_from as date)) as date) as first_week,
        coalesce(cast(date_trunc('week', cast($replace_to as date)) as date),
                 cast('infinity' as date)) as last_week,
        coalesce(cast(date_trunc('week', cast($replace_to as date)) as date) + 6,
                 cast('infinity' as date)) as last_day
),
stored_weeks as (
    select weekly.sku, weekly.week, weekly.quantity as net_quantity
    from sales_history_weekly as weekly, touched
    where touched.first_week is null
       or weekly.week < touched.first_week
       or weekly.week > touched.last_week
       or weekly.sku not in (select sku from affected_skus)
),
kept_days_of_touched_weeks as (
    select stored.sku, stored."date" as day, stored.quantity
    from sales_history as stored, touched
    where stored."date" >= touched.first_week
      and stored."date" <= touched.last_day
      and stored.sku in (select sku from affected_skus)
      and not (stored."date" >= cast($replace_from as date)
               and stored."date" <= coalesce(cast($replace_to as date), cast('infinity' as date))
               and stored.sku in (select sku from read_parquet($skus_path)))
),
pulled as (
    select sku, "date" as day, quantity
    from read_parquet($path)
),
touched_weeks as (
    select
        sku,
        cast(date_trunc('week', day) as date) as week,
        sum(quantity) as net_quantity
    from (select * from kept_days_of_touched_weeks union all select * from pulled)
    group by all
),
weekly as (
    select * from stored_weeks
    union all
    select * from touched_weeks
),
complete_weeks as (
    select * from weekly
    where week + 6 <= cast($as_of as date)
),
sku_order as (
    select sku, row_number() over (order by sku) as sku_rank
    from (select distinct sku from complete_weeks)
),
final as (
    select
        complete_weeks.sku,
        cast(complete_weeks.week as timestamp) as week,
        greatest(complete_weeks.net_quantity, 0) as quantity
    from complete_weeks
    join sku_order on complete_weeks.sku = sku_order.sku
    order by sku_order.sku_rank, complete_weeks.week
)
select * from final
