-- Weekday profile for the stock-out inference (models/stockout_inference.py): each ISO weekday's
-- share of all units sold up to $as_of in temp table/view sales_daily (uniform without sales) —
-- the same weights sql/stock_weekly_aggregate.sql gives a day of a stock history.
with weekday_sales as (
    select isodow(day) as weekday, sum(greatest(quantity, 0)) as units
    from sales_daily
    where day <= cast($as_of as date)
    group by all
),
weekdays as (
    select range as weekday from range(1, 8)
),
total as (
    select coalesce(sum(units), 0) as units from weekday_sales
),
final as (
    select
        weekdays.weekday,
        case
            when total.units > 0 then coalesce(weekday_sales.units, 0) / total.units
            else 1.0 / 7
        end as weight
    from weekdays
    cross join total
    left join weekday_sales using (weekday)
    order by weekdays.weekday
)
select * from final
