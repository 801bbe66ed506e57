-- Weekly demand per sku over complete ISO weeks (week = Monday) ending on or before $as_of;
-- only weeks that had sales rows. Weekly totals below zero (net returns) are clipped at 0;
-- `net_quantity` keeps the unclipped total so the loader can report the clipping. Ordered by sku,
-- week through each sku's rank among the distinct skus (sku_order), as
-- sql/sales_history_weekly_all_days.sql: the sort runs on two integers instead of the text sku
-- (same rows, same order; 2.6 -> 2.2 s CPU at 1.6 M sku-weeks, medians of 3).
with daily as (
    select sku, day, quantity
    from sales_daily
    where day <= cast($as_of as date)
),
weekly as (
    select
        sku,
        cast(date_trunc('week', day) as date) as week,
        sum(quantity) as net_quantity
    from daily
    group by all
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
        greatest(complete_weeks.net_quantity, 0) as quantity,
        complete_weeks.net_quantity
    from complete_weeks
    join sku_order on complete_weeks.sku = sku_order.sku
    order by sku_order.sku_rank, complete_weeks.week
)
select * from final
