-- Daily units sold of the SKUs of temp table inference_skus (sku, position) from $first_day to
-- $as_of, as coordinates of the SKU x day grid of models/stockout_inference.py (day_offset = days
-- after $first_day). Days without a positive total are not returned (zero on the grid).
with daily as (
    select inference_skus.position, sales_daily.day, sales_daily.quantity
    from sales_daily
    join inference_skus using (sku)
    where sales_daily.day between cast($first_day as date) and cast($as_of as date)
      and sales_daily.quantity > 0
),
final as (
    select
        position,
        cast(datediff('day', cast($first_day as date), day) as integer) as day_offset,
        quantity
    from daily
)
select * from final
