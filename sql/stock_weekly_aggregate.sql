-- Weekly in-stock share per sku over complete ISO weeks (week = Monday) ending on or before
-- $as_of, from the validated raw stock history (temp table raw_stock_history, trimmed VARCHAR)
-- and the sales of temp table/view sales_daily (for the weekday profile).
--
-- {stockout_hours} is the staged stockout_hours column, or null when the file has none.
-- A day's out-of-stock fraction: stockout_hours / 24 when given; otherwise 1 when the day
-- starts and ends with nothing on hand (end-of-day on_hand = 0 on this day and on the day
-- before), 1/2 when it sells out (had stock the day before, none at its end: on average out of
-- stock half of the day), else 0 (a receipt is taken to arrive before the day's demand). Days
-- without a row are in stock. The week's in-stock share weights each weekday by
-- its share of all units sold (the weekday profile; uniform without sales), so a closed Sunday
-- out of stock costs nothing and a Monday out of stock costs more than a Saturday:
--   in_stock_share = 1 - sum over the week's days of weight(weekday) * out_of_stock_fraction.
with typed as (
    select
        sku,
        cast(cast("date" as timestamp) as date) as day,
        cast(on_hand as double) as on_hand,
        cast({stockout_hours} as double) as stockout_hours
    from raw_stock_history
),
with_previous as (
    select
        *,
        lag(on_hand) over (partition by sku order by day) as previous_on_hand,
        lag(day) over (partition by sku order by day) as previous_day
    from typed
),
daily as (
    select
        sku,
        day,
        case
            when stockout_hours is not null then least(stockout_hours, 24) / 24
            when on_hand <= 0 and previous_on_hand <= 0 and previous_day = day - 1 then 1.0
            when on_hand <= 0 and previous_on_hand > 0 and previous_day = day - 1 then 0.5
            else 0.0
        end as out_of_stock_fraction
    from with_previous
    where day <= cast($as_of as date)
),
weekday_sales as (
    select isodow(day) as weekday, sum(greatest(quantity, 0)) as units
    from sales_daily
    where day <= cast($as_of as date)
    group by all
),
weekdays as (
    select range as weekday from range(1, 8)
),
weekday_weight as (
    select
        weekdays.weekday,
        case
            when (select coalesce(sum(units), 0) from weekday_sales) > 0
                then coalesce(weekday_sales.units, 0) / (select sum(units) from weekday_sales)
            else 1.0 / 7
        end as weight
    from weekdays
    left join weekday_sales using (weekday)
),
weekly as (
    select
        daily.sku,
        cast(date_trunc('week', daily.day) as date) as week,
        count(*) filter (where daily.out_of_stock_fraction > 0) as out_of_stock_days,
        sum(daily.out_of_stock_fraction) as out_of_stock_day_equivalents,
        1 - sum(weekday_weight.weight * daily.out_of_stock_fraction) as in_stock_share
    from daily
    join weekday_weight on weekday_weight.weekday = isodow(daily.day)
    group by all
),
final as (
    select
        sku,
        cast(week as timestamp) as week,
        greatest(least(in_stock_share, 1.0), 0.0) as in_stock_share,
        out_of_stock_days,
        out_of_stock_day_equivalents
    from weekly
    where week + 6 <= cast($as_of as date)
    order by sku, week
)
select * from final
