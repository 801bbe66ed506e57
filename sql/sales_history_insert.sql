-- Second half of writing one pull into the accumulated sales history (after
-- sql/sales_history_delete.sql, same transaction): the pulled sku-day rows (Parquet at $path),
-- stamped with their source and the run's start time.
insert into sales_history by name
with pulled as (
    select sku, "date", quantity
    from read_parquet($path)
),
final as (
    select sku, "date", quantity, $source as source, cast($loaded_at as timestamp) as loaded_at
    from pulled
)
select * from final
