-- Weekly demand per sku over complete ISO weeks (week = Monday) ending on or before $as_of;
-- only weeks that had sales rows. Weekly totals below zero (net returns) are clipped at 0;
-- `net_quantity` keeps the unclipped total so the loader can report the clipping.
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
final as (
    select
        sku,
        cast(week as timestamp) as week,
        greatest(net_quantity, 0) as quantity,
        net_quantity
    from complete_weeks
    order by sku, week
)
select * from final
