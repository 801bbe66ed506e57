-- Fast path for the big sales table: one scan of the file, no staging table. Every value check
-- of the contract runs on each row (the CASE codes of pipelines.contract.value_check_cases, with
-- each column's try_cast computed once), and the rows are aggregated straight away to one row
-- per item and day, keyed by the item's integer number (temp table sales_sku_ids, numbered from
-- the staged items in sku order: grouping and later sorting on integers instead of the text sku
-- costs about a third of the CPU: 7.5 -> 2.7 s at 11.2 M lines). The loader then reads the counts:
-- failed_lines (rows failing any check) and unknown_lines (a sku not in the items) must be zero and
-- no CSV record rejected for `sales_daily_keyed` to be this table; otherwise it falls back to
-- staging (load_csv_stage / load_parquet_stage) for the per-line messages.
-- `first_line` is filled only when the scan gives line numbers for free (one Parquet file).
-- Price columns (optional sales.unit_price), for sql/sales_prices_weekly.sql: priced_value =
-- sum(quantity x unit_price) and priced_quantity = sum(quantity) over the lines with a price and
-- a positive quantity; price_sum / price_lines = sum and count of the given prices. Without the
-- column they are the constants these aggregates give over no prices (NULL, NULL, NULL, 0): four
-- aggregates over NULL cost a quarter of the scan (pipelines/inputs/staging.py).
-- Placeholders: source = loader-generated subquery with trimmed VARCHAR contract columns (as
-- staged); parsed = the try_cast columns; codes = the CASE check columns; failed = SQL true when
-- a row fails any check; line = SQL of the line number or NULL; price_aggregates = the four price
-- columns (staging.PRICE_AGGREGATES or staging.NO_PRICE_AGGREGATES). Parameters: as the source needs.
create or replace temp table sales_checked as
with source as (
    select * from {source}
),
parsed as (
    select *, {parsed}
    from source
),
coded as (
    select *, {codes}
    from parsed
),
keyed as (
    select coded.*, sales_sku_ids.sku_id
    from coded
    left join sales_sku_ids on coded.sku = sales_sku_ids.sku
),
final as (
    select
        sku_id,
        cast("__stamp_date" as date) as day,
        sum("__number_quantity") as quantity,
        count(*) as lines,
        count(*) filter (where "__number_quantity" < 0) as negative_lines,
        min({line}) as first_line,
        {price_aggregates},
        count(*) filter (where {failed}) as failed_lines,
        count(*) filter (where sku_id is null) as unknown_lines
    from keyed
    group by all
)
select * from final
