-- Weekly sales of one run's SKUs (items_snapshot) up to the run's last complete ISO week.
-- sales_weekly keeps the newest data: weeks a later run re-loaded show the later figures.
-- Parameters: $run_id, $last_week (Monday of the run's last complete week)
with run_skus as (
    select sku from items_snapshot where run_id = $run_id
),

history as (
    select sku, week, quantity
    from sales_weekly
    where week <= $last_week
      and sku in (select sku from run_skus)
),

final as (
    select * from history order by sku, week
)

select * from final;
