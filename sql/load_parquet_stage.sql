-- Stage one Parquet input file as trimmed VARCHAR columns (empty -> NULL) (the same checks as for CSV then apply).
-- `line` follows the CSV convention: the first data row is row 2 (as if a header were row 1).
-- A folder of Parquet files (`sales/*.parquet`) is read as one table (union by column name);
-- its `line` numbers the rows over the files in name order (first data row = 2).
-- Placeholders: {stage_table}; {options} = extra read_parquet options (folder: union_by_name,
-- filename); {line} = file_row_number + 2, or for a folder
-- row_number() over (order by filename, file_row_number) + 1; {columns} = loader-generated
--   nullif(trim(cast(struct_extract(record, $column_N) as varchar)), '') as "<contract name>", …
-- Parameters: $path and one $column_N per selected file column (its name in the file).
create or replace temp table {stage_table} as
with source as (
    select {line} as line, record
    from read_parquet($path, file_row_number = true{options}) as record
),
final as (
    select line, {columns}
    from source
)
select * from final
