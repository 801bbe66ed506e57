-- Stage one Parquet input file as trimmed VARCHAR columns (empty -> NULL) (the same checks as for CSV then apply).
-- `line` follows the CSV convention: the first data row is row 2 (as if a header were row 1).
-- Placeholders: {stage_table}; {columns} = loader-generated
--   nullif(trim(cast(struct_extract(record, $column_N) as varchar)), '') as "<contract name>", …
-- Parameters: $path and one $column_N per selected file column (its name in the file).
create or replace temp table {stage_table} as
with source as (
    select file_row_number, record
    from read_parquet($path, file_row_number = true) as record
),
final as (
    select file_row_number + 2 as line, {columns}
    from source
)
select * from final
