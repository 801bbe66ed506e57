-- Stage one CSV input file: every contract column as VARCHAR (no type inference: SKU codes keep
-- their leading zeros), trimmed, empty -> NULL, plus `line` = record number + 1 (header = line 1, first data row = line 2).
-- Malformed records (wrong column count, invalid UTF-8, over-long lines, an unterminated quote) go to the rejects
-- table instead of failing the read; pipelines/load.py reports them and renumbers `line`.
-- Placeholders: {stage_table}, {rejects_table}, {rejects_scan} (loader-generated names),
-- {rejects_limit} (loader constant: malformed records recorded at most);
-- {columns} = nullif(trim("<contract name>"), '') as "<contract name>", … (contract columns).
-- Parameters: $path (file), $columns (name -> VARCHAR for every column in the header line,
-- names from the contract or generated: no column sniffing, the header line decides).
create or replace temp table {stage_table} as
with source as (
    select *
    from read_csv(
        $path,
        header = true,
        all_varchar = true,
        columns = $columns,
        delim = ',',
        quote = '"',
        escape = '"',
        encoding = 'utf-8',
        strict_mode = true,
        auto_detect = false,  -- no sniffing: a sniffer failure (e.g. an unterminated quote) has no line number
        store_rejects = true,
        rejects_table = '{rejects_table}',
        rejects_scan = '{rejects_scan}',
        rejects_limit = {rejects_limit}
    )
),
final as (
    select row_number() over () + 1 as line, {columns}
    from source
)
select * from final
