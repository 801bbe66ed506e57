-- Column names of one Parquet input file or folder (parameter: $path, a file or a glob;
-- placeholder {options}: extra read_parquet options, e.g. union_by_name for a folder).
with header as (
    describe select * from read_parquet($path{options})
),
final as (
    select column_name from header
)
select * from final
