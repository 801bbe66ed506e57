-- Weekly demand per sku from the accumulated sales history as it will be after this run's pull:
-- the stored days outside the pull's window [$replace_from, $replace_to] (NULL $replace_to: no end;
-- NULL $replace_from: nothing replaced), the stored days in it of SKUs not among the run's items
-- (Parquet at $skus_path), and the pulled days (Parquet at $path): as sql/sales_history_delete.sql
-- and sql/sales_history_insert.sql leave it. The same weekly rule as sql/sales_weekly_aggregate.sql:
-- complete ISO weeks (Monday) ending on or before $as_of, only weeks with sales rows, weekly totals
-- below zero (net returns) clipped at 0. Unordered: storage/history.py `weekly_sales` sorts the
-- sku-weeks in pandas (20,000 SKUs, 3.1 M sku-weeks: the query takes 1.4 s CPU unordered, 2.5 s
-- with ORDER BY sku, week; the pandas sort 0.4 s).
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
final as (
    select
        sku,
        cast(week as timestamp) as week,
        greatest(net_quantity, 0) as quantity
    from weekly
    where week + 6 <= cast($as_of as date)
)
select * from final
