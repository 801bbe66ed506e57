-- Fast path for the big stock_history table (pipelines/inputs/stock_fast.py): one scan of the
-- file into the typed temp table stock_typed — the item position of each row's sku (NULL: not
-- in items), its day, whether it ended empty (on_hand <= 0) and its stockout_hours — with
-- `failed`, the number of the first failed contract check of the row (0 = valid; the CASE codes
-- of pipelines.contract.value_check_cases). The loader counts failed rows, unknown skus and
-- duplicate (sku, day) keys from it; any of them sends the file to the staged path for its
-- per-line messages. Placeholders: source = loader-generated subquery with trimmed VARCHAR
-- contract columns (as staged); codes = the CASE check columns; failed = SQL of the first failed
-- code; stockout_hours = the column or null; items_table = the staged items table (positions
-- follow its line order).
create or replace temp table stock_typed as
with source as (
    select * from {source}
),
coded as (
    select sku, "date", on_hand, {stockout_hours} as stockout_hours, {codes}
    from source
),
item_positions as (
    select "sku" as item_sku, cast(row_number() over (order by line) - 1 as integer) as position
    from {items_table}
),
final as (
    select
        item_positions.position,
        cast(try_cast(coded."date" as timestamp) as date) as day,
        try_cast(coded.on_hand as double) <= 0 as ended_empty,
        try_cast(coded.stockout_hours as double) as stockout_hours,
        {failed} as failed
    from coded
    left join item_positions on coded.sku = item_positions.item_sku
)
select * from final
