-- Second half of keeping the weekly totals with the history (after
-- sql/sales_history_weekly_refresh_delete.sql, same transaction): the touched weeks of the affected
-- SKUs re-aggregated from sales_history as the pull left it — the week's stored days summed (net of
-- returns, not clipped) and counted. Only those days are read (a weekly pull: the days from the
-- Monday of its first replaced day on), not the whole history.
insert into sales_history_weekly by name
with affected_skus as (
    select sku from read_parquet($skus_path)
    union
    select sku from read_parquet($path)
),
touched_days as (
    select sku, "date" as day, quantity
    from sales_history
    where $replace_from is not null
      and "date" >= cast(date_trunc('week', cast($replace_from as date)) as date)
      and "date" <= coalesce(cast(date_trunc('week', cast($replace_to as date)) as date) + 6,
                             cast('infinity' as date))
      and sku in (select sku from affected_skus)
),
weekly as (
    select
        sku,
        cast(date_trunc('week', day) as date) as week,
        sum(quantity) as quantity,
        count(*) as days
    from touched_days
    group by all
),
final as (
    select sku, week, quantity, cast(days as integer) as days
    from weekly
)
select * from final
