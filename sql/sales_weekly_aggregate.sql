-- Weekly demand per sku over complete ISO weeks (week = Monday) ending on or before $as_of;
-- only weeks that had sales rows. Weekly totals below zero (net returns) are clipped at 0;
-- `net_quantity` keeps the unclipped total so the loader can report the clipping. Grouped and
-- ordered on the integer sku_id of temp table sales_daily_keyed (sales_sku_ids numbers the skus in
-- sku order, sql/load_sales_sku_ids.sql), the text sku joined only to the weekly rows: the same
-- rows in the same order as ORDER BY sku, week (as sql/sales_history_weekly_all_days.sql).
with daily as (
    select sku_id, day, quantity
    from sales_daily_keyed
    where day <= cast($as_of as date)
),
weekly as (
    select
        sku_id,
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
        sales_sku_ids.sku,
        cast(complete_weeks.week as timestamp) as week,
        greatest(complete_weeks.net_quantity, 0) as quantity,
        complete_weeks.net_quantity
    from complete_weeks
    join sales_sku_ids on complete_weeks.sku_id = sales_sku_ids.sku_id
    order by complete_weeks.sku_id, complete_weeks.week
)
select * from final
