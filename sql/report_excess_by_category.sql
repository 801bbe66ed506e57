-- Excess and dead stock totals per item category (excess_stock x items_snapshot.category), largest excess
-- value first; SKUs without a category are totalled under category NULL (shown as "no category"). The
-- category is read through to_json(item) so that a database written before items.category existed reads as
-- "no category" instead of failing. Parameters: $run_id
with excess_of_run as (
    select excess.*, nullif(trim(to_json(item) ->> 'category'), '') as category
    from excess_stock as excess
    left join items_snapshot as item on item.run_id = excess.run_id and item.sku = excess.sku
    where excess.run_id = $run_id
),

totals as (
    select
        category,
        count(*) as skus,
        sum(excess_units) as excess_units,
        sum(excess_value) as excess_value,
        count(*) filter (where dead) as dead_skus,
        count(*) filter (where action = 'return to supplier') as discontinued_skus
    from excess_of_run
    group by category
),

final as (
    select * from totals order by excess_value desc nulls last, category nulls last
)

select * from final
