-- Weekly demand per sku from EVERY stored day of the accumulated sales history as it will be after
-- this run's pull: the fallback of storage/history.py `weekly_sales` when the weekly totals
-- (sales_history_weekly) do not cover sales_history (a database written before they existed, not yet
-- back-filled; sql/sales_history_weekly_sync.sql); sql/sales_history_weekly.sql reads them otherwise,
-- with the same rows. The stored days outside the pull's window [$replace_from, $replace_to] (NULL
-- $replace_to: no end; NULL $replace_from: nothing replaced), the stored days in it of SKUs not among
-- the run's items (Parquet at $skus_path), and the pulled days (Parquet at $path): as
-- sql/sales_history_delete.sql and sql/sales_history_insert.sql leave it. The same weekly rule as
-- sql/sales_weekly_aggregate.sql: complete ISO weeks (Monday) ending on or before $as_of, only weeks
-- with sales rows, weekly totals below zero (net returns) clipped at 0. Ordered by sku, week through
-- each sku's rank among the distinct skus (sku_order): sorting the sku-weeks on two integers instead
-- of the text sku is 1.6-2.2x faster at 15.6 M sku-weeks (100,000 SKUs x 3 years;
-- benchmarks/history_speed.py), same rows.
with outside as (
    select sku, "date" as day, quantity
    from sales_history
    where "date" < coalesce(cast($replace_from as date), cast('infinity' as date))
       or "date" > coalesce(cast($replace_to as date), cast('infinity' as date))
),
inside_other_skus as (
    select stored.sku, stored."date" as day, stored.quantity
    from sales_history as stored
    anti join read_parquet($skus_path) as items on stored.sku = items.sku
    where stored."date" >= coalesce(cast($replace_from as date), cast('infinity' as date))
      and stored."date" <= coalesce(cast($replace_to as date), cast('infinity' as date))
),
pulled as (
    select sku, "date" as day, quantity
    from read_parquet($path)
),
daily as (
    select * from outside
    union all
    select * from inside_other_skus
    union all
    select * from pulled
),
weekly as (
    select
        sku,
        cast(date_trunc('week', day) as date) as week,
        sum(quantity) as net_quantity
    from daily
    where day <= cast($as_of as date)
    group by all
),
sku_order as (
    select sku, row_number() over (order by sku) as sku_rank
    from (select distinct sku from weekly)
),
final as (
    select
        weekly.sku,
        cast(weekly.week as timestamp) as week,
        greatest(weekly.net_quantity, 0) as quantity
    from weekly
    join sku_order on weekly.sku = sku_order.sku
    where weekly.week + 6 <= cast($as_of as date)
    order by sku_order.sku_rank, weekly.week
)
select * from final
