-- First day with sales on or before $as_of among the SKUs of temp table inference_skus (NULL:
-- none): the start of the stock-out inference grid.
with final as (
    select min(sales_daily.day) as first_day
    from sales_daily
    join inference_skus using (sku)
    where sales_daily.day <= cast($as_of as date)
)
select * from final
