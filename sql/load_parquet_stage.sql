-- Stage one Parquet input file as trimmed VARCHAR columns (empty -> NULL) (the same checks as for CSV then apply).
-- `line` follows the CSV convention: the first data row is row 2 (as if a header were row 1).
-- A folder of Parquet files (`sales/*.parquet`) is read as one table (union by column name);
-- its `line` numbers the rows over the files in name order (first data row = 2).
-- A table already in DuckDB (a pulled PostgreSQL table, inputs/postgres.py) is read the same way,
-- its rows numbered by its "__line" column.
-- Placeholders: {stage_table}; {reader} = read_parquet($path, file_row_number = true[, options])
-- as record (folder options: union_by_name, filename), or <pulled table> as record; {line} =
-- file_row_number + 2, for a folder row_number() over (order by filename, file_row_number) + 1,
-- for a pulled table "__line"; {columns} = loader-generated
--   nullif(trim(cast(struct_extract(record, $column_N) as varchar)), '') as "<contract name>", …
-- Parameters: $path (files only) and one $column_N per selected column (its name in the input).
create or replace temp table {stage_table} as
with source as (
    select {line} as line, record
    from {reader}
),
final as (
    select line, {columns}
    from source
)
select * from final
