-- Fast path for the big sales table: one scan of the file, no staging table. Every value check
-- of the contract runs on each row (the CASE codes of pipelines.contract.value_check_cases, with
-- each column's try_cast computed once), and the rows are aggregated straight away to one row
-- per sku, day and check outcome. The loader then counts rows per failed check: when all are
-- zero (and no CSV record was rejected) `sales_daily` is this table's valid part; otherwise it
-- falls back to staging (load_csv_stage / load_parquet_stage) for the per-line messages.
-- `first_line` is filled only when the scan gives line numbers for free (one Parquet file).
-- Price columns (optional sales.unit_price), for sql/sales_prices_weekly.sql: priced_value =
-- sum(quantity x unit_price) and priced_quantity = sum(quantity) over the lines with a price and
-- a positive quantity; price_sum / price_lines = sum and count of the given prices. Without the
-- column they are the constants these aggregates give over no prices (NULL, NULL, NULL, 0): four
-- aggregates over NULL cost a quarter of the scan (pipelines/inputs/staging.py).
-- Placeholders: source = loader-generated subquery with trimmed VARCHAR contract columns (as
-- staged); parsed = the try_cast columns; codes = the CASE check columns; code_names = their
-- names; line = SQL of the line number or NULL; price_aggregates = the four price columns
-- (staging.PRICE_AGGREGATES or staging.NO_PRICE_AGGREGATES). Parameters: as needed by the source.
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
final as (
    select
        sku,
        cast("__stamp_date" as date) as day,
        {code_names},
        sum("__number_quantity") as quantity,
        count(*) as lines,
        count(*) filter (where "__number_quantity" < 0) as negative_lines,
        min({line}) as first_line,
        {price_aggregates}
    from coded
    group by all
)
select * from final
