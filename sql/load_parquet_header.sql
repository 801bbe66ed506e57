-- Column names of one Parquet input file (parameter: $path).
with header as (
    describe select * from read_parquet($path)
),
final as (
    select column_name from header
)
select * from final
