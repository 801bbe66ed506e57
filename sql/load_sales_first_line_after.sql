-- The first line of a validated sales file dated after $as_of, for the "dropped" note when the
-- fast path did not keep line numbers. Line numbering as in staging (CSV: record number + 1;
-- folder of Parquet files: row over the files in name order, first data row = 2).
-- Placeholder: source = loader-generated subquery (as in load_sales_fast, with a `line` column).
with source as (
    select * from {source}
),
final as (
    select min(line) as first_line
    from source
    where cast(cast("date" as timestamp) as date) > cast($as_of as date)
)
select * from final
