-- Fast path for the big sales table: one scan of the file, no staging table. Every value check
-- of the contract runs on each row (the CASE codes of pipelines.contract.value_check_cases, with
-- each column's try_cast computed once), and the rows are aggregated straight away to one row
-- per sku, day and check outcome. The loader then counts rows per failed check: when all are
-- zero (and no CSV record was rejected) `sales_daily` is this table's valid part; otherwise it
-- falls back to staging (load_csv_stage / load_parquet_stage) for the per-line messages.
-- `first_line` is filled only when the scan gives line numbers for free (one Parquet file).
-- Price columns (optional sales.unit_price; all NULL without it), for sql/sales_prices_weekly.sql:
-- priced_value = sum(quantity x unit_price) and priced_quantity = sum(quantity) over the lines with
-- a price and a positive quantity; price_sum / price_lines = sum and count of the given prices.
-- Placeholders: source = loader-generated subquery with trimmed VARCHAR contract columns (as
-- staged); parsed = the try_cast columns; codes = the CASE check columns; code_names = their
-- names; line = SQL of the line number or NULL; unit_price = the parsed price column or a NULL
-- double. Parameters: as needed by the source.
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
        sum("__number_quantity" * {unit_price})
            filter (where "__number_quantity" > 0 and {unit_price} is not null) as priced_value,
        sum("__number_quantity")
            filter (where "__number_quantity" > 0 and {unit_price} is not null) as priced_quantity,
        sum({unit_price}) as price_sum,
        count({unit_price}) as price_lines
    from coded
    group by all
)
select * from final
