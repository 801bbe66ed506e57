"""Stage inputs into DuckDB: each file as an all-VARCHAR temp table `raw_<table>` (CSV
records the reader rejects reported as issues), or, for the big sales table, the fast path
that checks and aggregates it straight from scans of the file and stages it only on problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from safestock.pipelines.inputs.contract import (
    TableSpec,
    ValidationIssue,
    quote_identifier,
    staged_value_sql,
    value_check_cases,
)
from safestock.pipelines.inputs.sources import (
    Source,
    file_name,
    first_error_line,
    read_header,
    show,
)
from safestock.pipelines.sqlfiles import sql

MAX_REJECTS_RECORDED = 1000  # per file; beyond it DuckDB skips malformed records uncounted
#: The fast path's price columns (sql/load_sales_fast.sql) over the parsed sales.unit_price ...
PRICE_AGGREGATES = """sum("__number_quantity" * "__number_unit_price")
            filter (where "__number_quantity" > 0 and "__number_unit_price" is not null) as priced_value,
        sum("__number_quantity")
            filter (where "__number_quantity" > 0 and "__number_unit_price" is not null) as priced_quantity,
        sum("__number_unit_price") as price_sum,
        count("__number_unit_price") as price_lines"""
#: ... and without the column: the values those aggregates take over no prices, as constants (the
#: aggregates over a NULL column cost a quarter of the scan's CPU: 4.8 -> 3.6 s at 5.6 M CSV lines).
NO_PRICE_AGGREGATES = """cast(null as double) as priced_value, cast(null as double) as priced_quantity,
        cast(null as double) as price_sum, cast(0 as bigint) as price_lines"""


@dataclass
class StagedTable:
    """A file staged as temp table `raw_<table>` (VARCHAR columns + `line`)."""

    spec: TableSpec
    file_name: str
    present_columns: set[str]
    rows: int
    structurally_ok: bool = True  # no unreadable file / missing required column
    #: Fast path (sales): checked and aggregated straight from the file (`sales_fast`); no
    #: `raw_<table>` exists until `ensure_staged` stages it for per-line messages.
    source: "Source | None" = None
    #: Header names that are not contract columns (never read; see `check_extra_columns`).
    extra_columns: list[str] = field(default_factory=list)

    @property
    def raw_table(self) -> str:
        return quote_identifier(f"raw_{self.spec.name}")


def stage(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
          issues: list[ValidationIssue], source: Source | None = None) -> StagedTable:
    """Stage one file as raw VARCHAR table; header, readability and rejected-record checks.

    `source`: the already checked header (the sales fast path falling back to staging)."""
    staged = StagedTable(spec, file_name(path), set(), 0, structurally_ok=False)
    if source is None:
        source = read_header(con, spec, path, issues)
        if source is None:
            return staged
    raw, stage = f"raw_{spec.name}", f"stage_{spec.name}"
    rejects, rejected_count = f"rejects_{spec.name}", 0
    try:
        if source.is_parquet:
            columns, parameters = source.parquet_columns()
            con.execute(sql("load_parquet_stage").format(
                stage_table=quote_identifier(raw), columns=", ".join(columns),
                reader=source.reader_sql(), line=source.parquet_line()), parameters)
        else:
            columns = [f"{staged_value_sql(quote_identifier(name))} as {quote_identifier(name)}"
                       for name in source.by_name]
            con.execute(sql("load_csv_stage").format(
                stage_table=quote_identifier(stage), rejects_table=rejects,
                rejects_scan=f"rejects_scan_{spec.name}", columns=", ".join(columns),
                rejects_limit=MAX_REJECTS_RECORDED),
                {"path": str(path), "columns": source.csv_columns_read()})
            rejected_count = _report_rejected(con, staged.file_name, rejects, issues)
            if rejected_count:
                con.execute(sql("load_renumber_lines").format(
                    stage_table=quote_identifier(stage), rejects_table=quote_identifier(rejects),
                    raw_table=quote_identifier(raw)))
                con.execute(f"drop table {quote_identifier(stage)}")
            else:
                con.execute(f"alter table {quote_identifier(stage)} rename to "
                            f"{quote_identifier(raw)}")
    except (duckdb.Error, UnicodeError, OverflowError) as error:
        issues.append(ValidationIssue(staged.file_name, None, None,
                                      f"unreadable file: {first_error_line(error)}"))
        return staged
    staged.present_columns = set(source.by_name)
    staged.extra_columns = source.extra_columns
    staged.rows = con.execute(f"select count(*) from {quote_identifier(raw)}").fetchone()[0]
    staged.rows += rejected_count
    staged.structurally_ok = True
    return staged


def sales_fast(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
               issues: list[ValidationIssue], source: Source | None = None) -> StagedTable:
    """The big sales table without a staging table: every value check in the one scan of the
    file that also aggregates it to one row per item and day (`sql/load_sales_fast.sql`), keyed
    by the items' numbers (temp table `sales_sku_ids`, `number_item_skus`). When all rows pass, that aggregate
    is `sales_daily_keyed` (and the view `sales_daily`). Any failing row, malformed record or
    reader error falls back to `stage` (all-VARCHAR staging) so the issues are exactly those of the
    staged path, with lines; unknown skus are counted (`unknown_lines`) for `check_references`,
    which stages the file only then. `source`: the already checked header (a pulled table:
    `sources.read_relation_header`)."""
    source = source or read_header(con, spec, path, issues)
    if source is None:
        return StagedTable(spec, file_name(path), set(), 0, structurally_ok=False)
    present = set(source.by_name)
    codes, checks = value_check_cases(spec, present)
    # each try_cast once per row: the CASE codes and the aggregate share these columns
    parsed = {'try_cast("date" as timestamp)': '"__stamp_date"',
              'try_cast("quantity" as double)': '"__number_quantity"'}
    if "unit_price" in present:
        parsed['try_cast("unit_price" as double)'] = '"__number_unit_price"'
    price_aggregates = PRICE_AGGREGATES if "unit_price" in present else NO_PRICE_AGGREGATES
    for expression, name in parsed.items():
        codes = [code.replace(expression, name) for code in codes]
    code_names = list(dict.fromkeys(code for _, code, _ in checks))
    failed = " or ".join(f"{name} <> 0" for name in code_names) or "false"
    rejects = f"fast_rejects_{spec.name}"
    line = "file_row_number + 2" if source.is_parquet and not path.is_dir() else "null"
    try:
        scan, parameters = source.scan_sql(line=line != "null",
                                           rejects_table=None if source.is_parquet else rejects)
        con.execute("set preserve_insertion_order = false")
        try:
            con.execute(sql("load_sales_fast").format(
                source=scan, parsed=", ".join(f"{e} as {n}" for e, n in parsed.items()),
                codes=", ".join(codes), failed=failed,
                line="line" if line != "null" else "null", price_aggregates=price_aggregates), parameters)
        finally:
            con.execute("set preserve_insertion_order = true")
        rows, failed_lines = con.execute("select coalesce(sum(lines), 0), coalesce(sum(failed_lines), 0) "
                                         "from sales_checked").fetchone()
        rejected = (0 if source.is_parquet else
                    con.execute(f"select count(*) from {quote_identifier(rejects)}").fetchone()[0])
        if rejected or failed_lines:
            _drop_fast_tables(con)
            return stage(con, spec, path, issues, source)
        con.execute("create or replace temp view sales_daily_keyed as select sku_id, day, quantity, "
                    "lines, negative_lines, first_line, priced_value, priced_quantity, price_sum, "
                    "price_lines from sales_checked")
        con.execute(sql("load_sales_daily_view"))
    except (duckdb.Error, UnicodeError, OverflowError):
        _drop_fast_tables(con)
        return stage(con, spec, path, issues, source)
    return StagedTable(spec, file_name(path), present, int(rows), source=source,
                       extra_columns=source.extra_columns)


def number_item_skus(con: duckdb.DuckDBPyConnection, items: StagedTable | None) -> None:
    """Temp table `sales_sku_ids`: the staged items' skus numbered 1..n in sku order
    (`sql/load_sales_sku_ids.sql`), the keys of the sales fast path's aggregate. Without staged
    items it is empty: every sales sku counts as unknown, and the run fails on the items' own issues."""
    staged = items is not None and items.structurally_ok and items.source is None
    con.execute(sql("load_sales_sku_ids").format(
        staged_table=items.raw_table if staged else "(select cast(null as varchar) as sku)"))


def _drop_fast_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the fast path's aggregate (before staging the file instead)."""
    con.execute("drop view if exists sales_daily")
    con.execute("drop view if exists sales_daily_keyed")
    con.execute("drop table if exists sales_checked")
    con.execute("drop table if exists sales_sku_ids")


def ensure_staged(con: duckdb.DuckDBPyConnection, table: StagedTable,
                  issues: list[ValidationIssue]) -> StagedTable:
    """A fast-path table staged as `raw_<table>` (for per-line messages); others unchanged."""
    if table.source is None:
        return table
    _drop_fast_tables(con)
    return stage(con, table.spec, table.source.path, issues, table.source)


def _report_rejected(con: duckdb.DuckDBPyConnection, file_name: str, rejects_table: str,
                     issues: list[ValidationIssue]) -> int:
    """Issues for records the CSV reader rejected; returns how many were rejected."""
    rows = con.execute(sql("validate_rejected_records").format(
        rejects_table=quote_identifier(rejects_table))).fetchall()
    for line, problems, csv_line, _ in rows:
        issues.append(ValidationIssue(file_name, int(line), None,
                                      f"malformed record ({problems}): {show(csv_line)}"))
    total = int(rows[0][3]) if rows else 0
    if total >= MAX_REJECTS_RECORDED:
        issues.append(ValidationIssue(file_name, None, None, f"... and at least "
                                      f"{total - len(rows)} more malformed records (counting "
                                      f"stops at {total}; later line numbers may be too low)"))
    elif total > len(rows):
        issues.append(ValidationIssue(file_name, None, None,
                                      f"... and {total - len(rows)} more malformed records"))
    return total
