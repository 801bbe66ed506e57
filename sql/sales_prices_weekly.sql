-- Weekly selling price per sku over complete ISO weeks (week = Monday) ending on or before $as_of,
-- from the optional sales.unit_price (price columns of temp table/view sales_daily_keyed, keyed by sku_id, see
-- load_sales_fast.sql / load_sales_daily.sql). Only weeks with at least one priced line.
--   unit_price = sum(quantity x unit_price) / sum(quantity) over the week's priced lines with a
--                positive quantity (the quantity-weighted mean price: revenue per unit sold);
--                a week whose priced lines are all returns or zero quantities takes the plain
--                mean of its prices.
-- Weeks without a priced line are filled forward on the demand grid by the forecasting engine
-- (safestock.models.forecasting.prices.weekly_price_matrix): the shelf price stays until it changes.
with daily as (
    select sku_id, day, priced_value, priced_quantity, price_sum, price_lines
    from sales_daily_keyed
    where day <= cast($as_of as date) and price_lines > 0
),
weekly as (
    select
        sku_id,
        cast(date_trunc('week', day) as date) as week,
        sum(priced_value) as priced_value,
        sum(priced_quantity) as priced_quantity,
        sum(price_sum) as price_sum,
        sum(price_lines) as price_lines
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
        cast(week as timestamp) as week,
        case
            when priced_quantity > 0 then priced_value / priced_quantity
            else price_sum / price_lines
        end as unit_price
    from complete_weeks
    join sales_sku_ids on complete_weeks.sku_id = sales_sku_ids.sku_id
    order by complete_weeks.sku_id, week
)
select * from final
