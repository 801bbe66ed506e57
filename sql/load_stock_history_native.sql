-- Fast path for a Parquet stock_history whose columns already have their contract types
-- (pipelines/inputs/stock_fast.py, native_scan): the same typed temp table stock_typed as
-- sql/load_stock_history_typed.sql (item position, day, ended empty, stockout_hours, failed),
-- with the contract checks evaluated on the native values instead of their text. Valid here
-- exactly when valid there (a text check of a native value only fails on what these predicates
-- catch); any failure, an unknown or padded sku sends the file to the staged path for its
-- per-line messages. Placeholders: source = read_parquet subquery with the contract columns in
-- their native types; failed = SQL (1 when a contract check fails, else 0); on_hand_sql /
-- day_sql / stockout_hours = the typed values; items_table = the staged items table.
create or replace temp table stock_typed as
with source as (
    select * from {source}
),
item_positions as (
    select "sku" as item_sku, cast(row_number() over (order by line) - 1 as integer) as position
    from {items_table}
),
final as (
    select
        item_positions.position,
        {day_sql} as day,
        {on_hand_sql} <= 0 as ended_empty,
        {stockout_hours} as stockout_hours,
        {failed} as failed
    from source
    left join item_positions on source.sku = item_positions.item_sku
)
select * from final
