"""Load and validate an input folder (see docs/data-contract.md) into pandas frames.

Every file is staged into an in-memory DuckDB database with all columns as VARCHAR, then
checked in SQL (types, ranges, keys, references) — except the big sales table, which is
checked and aggregated straight from one scan of the file and staged only when it has problems
to report line by line (`_sales_fast`); all problems are collected and raised at once
as `InputValidationError`. Raw sales lines never enter pandas: they are aggregated in DuckDB to
complete ISO weeks, so memory stays bounded (DuckDB spills to a temporary directory).
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import os
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.contract import (  # noqa: F401  (the issue types are part of this module's API)
    FILE_SUFFIXES, TABLES, DataQualityNote, InputValidationError, TableSpec, ValidationIssue,
    blank_sql, quote_identifier, staged_value_sql, typed_sql, value_check_cases,
)
from pipelines.sqlfiles import sql

MAX_ISSUES_PER_KIND = 50
MAX_VALUE_SHOWN = 60
MAX_HEADER_BYTES = 1 << 20
MAX_REJECTS_RECORDED = 1000  # per file; beyond it DuckDB skips malformed records uncounted
FOLDER_TABLES = ("sales",)  # tables that may also be given as a folder of Parquet files


@dataclass
class LoadedInputs:
    """Validated, typed inputs (columns as in docs/architecture.md)."""

    items: pd.DataFrame
    suppliers: pd.DataFrame
    inventory: pd.DataFrame
    purchase_orders: pd.DataFrame
    sales_weekly: pd.DataFrame
    notes: list[DataQualityNote] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None


@dataclass
class _StagedTable:
    """A file staged as temp table `raw_<table>` (VARCHAR columns + `line`)."""

    spec: TableSpec
    file_name: str
    present_columns: set[str]
    rows: int
    structurally_ok: bool = True  # no unreadable file / missing required column
    #: Fast path (sales): checked and aggregated straight from the file (`_sales_fast`); no
    #: `raw_<table>` exists until `_ensure_staged` stages it for per-line messages.
    source: "_Source | None" = None

    @property
    def raw_table(self) -> str:
        return quote_identifier(f"raw_{self.spec.name}")


def _show(value: object, limit: int = MAX_VALUE_SHOWN) -> str:
    """A value as shown in a message: quoted, control characters escaped, truncated."""
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'"


def _sha256(path: Path) -> str:
    """sha256 of a file; of a folder of Parquet files: of their bytes in name order."""
    digest = hashlib.sha256()
    for part in _parquet_parts(path) if path.is_dir() else [path]:
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _parquet_parts(folder: Path) -> list[Path]:
    """The `*.parquet` files of a table folder (e.g. `sales/`), in name order."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file())


def _file_name(path: Path) -> str:
    """How issues and `files` name an input: the file name, or `<table>/` for a folder."""
    return f"{path.name}/" if path.is_dir() else path.name


def _first_error_line(error: Exception) -> str:
    """The reason of a reader error in one short line (no echoed data, no option dump)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()
             and not line.strip().startswith(("Original Line", "Possible Solution"))
             and " = " not in line]
    text = " ".join(line[:160] for line in lines[:2]) if lines else type(error).__name__
    return _show(text, limit=300)[1:-1]


def _csv_header(path: Path) -> list[str]:
    """Column names from the header line of a CSV (optionally gzip) file, BOM removed.

    Read in Python rather than sniffed, so a malformed data row can never be taken as header.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        first_line = handle.readline(MAX_HEADER_BYTES + 1)
    if b"\x00" in first_line:
        raise ValueError("binary content (NUL bytes) in the header line")
    if len(first_line) > MAX_HEADER_BYTES:
        raise ValueError(f"header line longer than {MAX_HEADER_BYTES} bytes")
    text = first_line.decode("utf-8-sig").rstrip("\r\n")
    if not text.strip():
        raise ValueError("the first line (header) is empty")
    return next(csv.reader([text]))


def find_input_files(input_dir: Path) -> tuple[dict[str, Path], list[ValidationIssue]]:
    """One file per contract table: `<table>.csv`, `<table>.csv.gz` or `<table>.parquet`."""
    found: dict[str, Path] = {}
    issues: list[ValidationIssue] = []
    if not input_dir.is_dir():
        return found, [ValidationIssue(str(input_dir), None, None, "input folder does not exist")]
    for name in TABLES:
        candidates = [input_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
        existing = [path for path in candidates if path.is_file()]
        if name in FOLDER_TABLES and (input_dir / name).is_dir():
            existing.append(input_dir / name)  # a folder of Parquet files
        if not existing:
            issues.append(ValidationIssue(f"{name}.csv", None, None,
                                          "missing file (expected " + " or ".join(
                                              p.name for p in candidates) + ")"))
        elif len(existing) > 1:
            issues.append(ValidationIssue(existing[0].name, None, None,
                                          "several files for one table: "
                                          + ", ".join(_file_name(p) for p in existing)))
        else:
            found[name] = existing[0]
    return found, issues


@dataclass
class _Source:
    """A readable input with a valid header: how its contract columns map to file columns."""

    path: Path
    header: list[str]
    by_name: dict[str, int]  # contract column -> position in the header

    @property
    def is_parquet(self) -> bool:
        return self.path.is_dir() or self.path.name.endswith(".parquet")

    @property
    def read_path(self) -> str:
        return str(self.path / "*.parquet") if self.path.is_dir() else str(self.path)

    def parquet_options(self) -> str:
        """read_parquet options: a folder's files are unioned by column name."""
        return ", union_by_name = true, filename = true" if self.path.is_dir() else ""

    def parquet_line(self) -> str:
        """`line` of a Parquet row: first data row = 2; over a folder's files in name order."""
        return ("row_number() over (order by filename, file_row_number) + 1"
                if self.path.is_dir() else "file_row_number + 2")

    def parquet_columns(self) -> tuple[list[str], dict[str, object]]:
        parameters: dict[str, object] = {"path": self.read_path}
        columns = []
        for index, (name, position) in enumerate(self.by_name.items()):
            parameters[f"column_{index}"] = self.header[position]
            columns.append(staged_value_sql(
                f"cast(struct_extract(record, $column_{index}) as varchar)")
                + f" as {quote_identifier(name)}")
        return columns, parameters

    def csv_columns_read(self) -> dict[str, str]:
        position_names = {position: name for name, position in self.by_name.items()}
        return {position_names.get(i, f"ignored_{i}"): "VARCHAR" for i in range(len(self.header))}

    def scan_sql(self, *, line: bool, rejects_table: str | None = None,
                 ) -> tuple[str, dict[str, object]]:
        """A subquery over the whole input: trimmed VARCHAR contract columns (as staged),
        plus `line` when asked (CSV: needs preserve_insertion_order). With `rejects_table`,
        malformed CSV records go there instead of failing the scan."""
        if self.is_parquet:
            columns, parameters = self.parquet_columns()
            line_sql = f"{self.parquet_line()} as line, " if line else ""
            return (f"(select {line_sql}{', '.join(columns)} from read_parquet($path, "
                    f"file_row_number = true{self.parquet_options()}) as record)", parameters)
        columns = [f"{staged_value_sql(quote_identifier(name))} as {quote_identifier(name)}"
                   for name in self.by_name]
        rejects = (f", store_rejects = true, rejects_table = '{rejects_table}', "
                   f"rejects_scan = '{rejects_table}_scan', rejects_limit = 1"
                   if rejects_table else "")
        line_sql = "row_number() over () + 1 as line, " if line else ""
        return (f"(select {line_sql}{', '.join(columns)} from read_csv($path, header = true, "
                f"all_varchar = true, columns = $columns, delim = ',', quote = '\"', "
                f"escape = '\"', encoding = 'utf-8', strict_mode = true{rejects}))",
                {"path": self.read_path, "columns": self.csv_columns_read()})


def _read_header(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
                 issues: list[ValidationIssue]) -> _Source | None:
    """Header, readability and required-column checks of one input; None after an issue."""
    file_name = _file_name(path)
    is_parquet = path.is_dir() or path.name.endswith(".parquet")
    if path.is_dir():
        if not _parquet_parts(path):
            issues.append(ValidationIssue(file_name, None, None, "folder holds no .parquet "
                                          "files (expected one or more <name>.parquet)"))
            return None
    elif path.stat().st_size == 0:
        issues.append(ValidationIssue(file_name, None, None, "file is empty (expected a header "
                                      "line: " + ", ".join(spec.required_columns) + ")"))
        return None
    read_path = str(path / "*.parquet") if path.is_dir() else str(path)
    try:
        header = ([row[0] for row in con.execute(sql("load_parquet_header").format(
                      options=", union_by_name = true" if path.is_dir() else ""),
                      {"path": read_path}).fetchall()]
                  if is_parquet else _csv_header(path))
    except (duckdb.Error, OSError, EOFError, zlib.error, UnicodeError, csv.Error,
            OverflowError, ValueError) as error:
        kind = "Parquet" if is_parquet else "UTF-8 CSV"
        issues.append(ValidationIssue(file_name, None, None,
                                      f"unreadable file (not a valid {kind} file): "
                                      f"{_first_error_line(error)}"))
        return None
    wanted = {column.name for column in spec.columns}
    by_name: dict[str, int] = {}
    for position, name in enumerate(header):
        normalized = name.replace("\ufeff", "").strip().lower()
        if normalized in wanted:
            if normalized in by_name:
                issues.append(ValidationIssue(file_name, 1, normalized, "column appears twice"))
                return None
            by_name[normalized] = position
    missing = [name for name in spec.required_columns if name not in by_name]
    found = _show(", ".join(header), limit=300)[1:-1]
    hint = (" — is the file comma-separated?"
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|") else "")
    for name in missing:
        issues.append(ValidationIssue(file_name, None, name, "required column is missing "
                                      f"(columns found: {found}){hint}"))
    if missing:
        return None
    return _Source(path, header, by_name)


def _stage(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
           issues: list[ValidationIssue], source: _Source | None = None) -> _StagedTable:
    """Stage one file as raw VARCHAR table; header, readability and rejected-record checks.

    `source`: the already checked header (the sales fast path falling back to staging)."""
    staged = _StagedTable(spec, _file_name(path), set(), 0, structurally_ok=False)
    if source is None:
        source = _read_header(con, spec, path, issues)
        if source is None:
            return staged
    raw, stage = f"raw_{spec.name}", f"stage_{spec.name}"
    rejects, rejected_count = f"rejects_{spec.name}", 0
    try:
        if source.is_parquet:
            columns, parameters = source.parquet_columns()
            con.execute(sql("load_parquet_stage").format(
                stage_table=quote_identifier(raw), columns=", ".join(columns),
                options=source.parquet_options(), line=source.parquet_line()), parameters)
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
                                      f"unreadable file: {_first_error_line(error)}"))
        return staged
    staged.present_columns = set(source.by_name)
    staged.rows = con.execute(f"select count(*) from {quote_identifier(raw)}").fetchone()[0]
    staged.rows += rejected_count
    staged.structurally_ok = True
    return staged


def _sales_fast(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
                issues: list[ValidationIssue]) -> _StagedTable:
    """The big sales table without a staging table: every value check in one aggregate scan
    of the file; when all rows pass, aggregated to `sales_daily` straight from a second scan.
    Any failing row, malformed record or reader error falls back to `_stage` (all-VARCHAR
    staging) so the issues are exactly those of the staged path, with lines."""
    source = _read_header(con, spec, path, issues)
    if source is None:
        return _StagedTable(spec, _file_name(path), set(), 0, structurally_ok=False)
    present = set(source.by_name)
    codes, checks = value_check_cases(spec, present)
    # each try_cast once per row: the CASE codes and the aggregate share these columns
    parsed = {'try_cast("date" as timestamp)': '"__stamp_date"',
              'try_cast("quantity" as double)': '"__number_quantity"'}
    for expression, name in parsed.items():
        codes = [code.replace(expression, name) for code in codes]
    code_names = list(dict.fromkeys(code for _, code, _ in checks))
    rejects = f"fast_rejects_{spec.name}"
    line = "file_row_number + 2" if source.is_parquet and not path.is_dir() else "null"
    try:
        scan, parameters = source.scan_sql(line=line != "null",
                                           rejects_table=None if source.is_parquet else rejects)
        con.execute("set preserve_insertion_order = false")
        try:
            con.execute(sql("load_sales_fast").format(
                source=scan, parsed=", ".join(f"{e} as {n}" for e, n in parsed.items()),
                codes=", ".join(codes), code_names=", ".join(code_names),
                line="line" if line != "null" else "null"), parameters)
        finally:
            con.execute("set preserve_insertion_order = true")
        counts = ", ".join(f"coalesce(sum(lines) filter (where {code} = {number}), 0)"
                           for number, (_, code, _) in enumerate(checks, start=1))
        rows, *failed = con.execute(f"select coalesce(sum(lines), 0), {counts} "
                                    "from sales_checked").fetchone()
        rejected = (0 if source.is_parquet else
                    con.execute(f"select count(*) from {quote_identifier(rejects)}").fetchone()[0])
        if rejected or any(failed):
            con.execute("drop table sales_checked")
            return _stage(con, spec, path, issues, source)
        con.execute("create or replace temp view sales_daily as select sku, day, quantity, "
                    "lines, negative_lines, first_line from sales_checked")
    except (duckdb.Error, UnicodeError, OverflowError):
        con.execute("drop view if exists sales_daily")
        con.execute("drop table if exists sales_checked")
        return _stage(con, spec, path, issues, source)
    return _StagedTable(spec, _file_name(path), present, int(rows), source=source)


def _ensure_staged(con: duckdb.DuckDBPyConnection, table: _StagedTable,
                   issues: list[ValidationIssue]) -> _StagedTable:
    """A fast-path table staged as `raw_<table>` (for per-line messages); others unchanged."""
    if table.source is None:
        return table
    con.execute("drop view if exists sales_daily")
    con.execute("drop table if exists sales_checked")
    return _stage(con, table.spec, table.source.path, issues, table.source)


def _report_rejected(con: duckdb.DuckDBPyConnection, file_name: str, rejects_table: str,
                     issues: list[ValidationIssue]) -> int:
    """Issues for records the CSV reader rejected; returns how many were rejected."""
    rows = con.execute(sql("validate_rejected_records").format(
        rejects_table=quote_identifier(rejects_table))).fetchall()
    for line, problems, csv_line, _ in rows:
        issues.append(ValidationIssue(file_name, int(line), None,
                                      f"malformed record ({problems}): {_show(csv_line)}"))
    total = int(rows[0][3]) if rows else 0
    if total >= MAX_REJECTS_RECORDED:
        issues.append(ValidationIssue(file_name, None, None, f"... and at least "
                                      f"{total - len(rows)} more malformed records (counting "
                                      f"stops at {total}; later line numbers may be too low)"))
    elif total > len(rows):
        issues.append(ValidationIssue(file_name, None, None,
                                      f"... and {total - len(rows)} more malformed records"))
    return total


def _capped(file_name: str, column: str | None, message: str, total: int,
            examples: list[ValidationIssue]) -> list[ValidationIssue]:
    """The examples plus a '... and N more' issue when `total` exceeds them."""
    if total > len(examples):
        examples.append(ValidationIssue(file_name, None, column,
                                        f"... and {total - len(examples)} more: {message}"))
    return examples


def _check_values(con: duckdb.DuckDBPyConnection, staged: _StagedTable,
                  issues: list[ValidationIssue]) -> None:
    """Type, range and row-rule checks of one staged table in one scan: count and first lines
    per check (see `value_check_cases`)."""
    codes, checks = value_check_cases(staged.spec, staged.present_columns)
    if not checks:
        return
    selects = []
    for number, (column, code, _) in enumerate(checks, start=1):
        selects.append(f"count(*) filter (where {code} = {number})")
        selects.append(f"arg_min(struct_pack(line := line, value := left("
                       f"{quote_identifier(column)}, 100)), line, {MAX_ISSUES_PER_KIND}) "
                       f"filter (where {code} = {number})")
    result = con.execute(f"select {', '.join(selects)} from (select *, {', '.join(codes)} "
                         f"from {staged.raw_table})").fetchone()
    for index, (column, _, message) in enumerate(checks):
        total, examples = result[2 * index], result[2 * index + 1] or []
        if not total:
            continue
        found = [ValidationIssue(staged.file_name, int(example["line"]), column,
                                 message if message.startswith(("missing", "received"))
                                 else f"{message}, got {_show(example['value'])}")
                 for example in examples]
        issues.extend(_capped(staged.file_name, column, message, int(total), found))


def _check_keys(con: duckdb.DuckDBPyConnection, staged: _StagedTable,
                issues: list[ValidationIssue]) -> None:
    """Duplicate primary keys (staged text: trimmed)."""
    key_sql = " || ' / ' || ".join(quote_identifier(c)
                                   for c in staged.spec.key)
    rows = con.execute(sql("validate_duplicate_keys").format(
        raw_table=staged.raw_table, key=key_sql)).fetchall()
    label = " / ".join(staged.spec.key)
    found = [ValidationIssue(staged.file_name, int(line), label,
                             f"duplicate {label} {_show(value)} (first on line {first_line})")
             for line, value, first_line, _ in rows]
    issues.extend(_capped(staged.file_name, label, f"duplicate {label}",
                          int(rows[0][3]) if rows else 0, found))


def _check_references(con: duckdb.DuckDBPyConnection, staged: dict[str, _StagedTable],
                      issues: list[ValidationIssue]) -> None:
    """Values of reference columns (sku, supplier_id) missing from the referenced table."""
    for child_name in list(staged):
        for column, parent_name in staged[child_name].spec.references:
            child, parent = staged[child_name], staged.get(parent_name)
            if parent is None or not parent.structurally_ok or not child.structurally_ok:
                continue
            parent_key = parent.spec.key[0]
            if child.source is not None:  # fast path: count unknown skus from sales_daily
                assert column == "sku", column
                unknown = con.execute(sql("load_sales_unknown_skus").format(
                    parent_table=parent.raw_table,
                    parent_column=quote_identifier(parent_key))).fetchone()[0]
                if not unknown:
                    continue
                child = staged[child_name] = _ensure_staged(con, child, issues)
                if not child.structurally_ok:
                    continue
            rows = con.execute(sql("validate_unknown_reference").format(
                raw_table=child.raw_table, column=quote_identifier(column),
                parent_table=parent.raw_table, parent_column=quote_identifier(parent_key),
            )).fetchall()
            found = [ValidationIssue(child.file_name, int(first_line), column,
                                     f"unknown {column} {_show(value)} (not in "
                                     f"{parent.file_name}; {rows_with} row(s))")
                     for value, first_line, rows_with, _ in rows]
            issues.extend(_capped(child.file_name, column, f"unknown {column} values",
                                  int(rows[0][3]) if rows else 0, found))


def _typed_frame(con: duckdb.DuckDBPyConnection, staged: _StagedTable) -> pd.DataFrame:
    """The validated table as a typed DataFrame with defaults applied."""
    spec = staged.spec
    selects = [f"{typed_sql(c, c.name in staged.present_columns)} as {quote_identifier(c.name)}"
               for c in spec.columns]
    frame = con.execute(f"select {', '.join(selects)} from {staged.raw_table} "
                        f"order by line").df()
    if spec.name == "purchase_orders":  # status default: closed once fully received
        received = frame["received_quantity"].fillna(-1.0) >= frame["quantity"]
        frame["status"] = frame["status"].fillna(received.map({True: "closed", False: "open"}))
    return frame


def _default_notes(con: duckdb.DuckDBPyConnection, staged: _StagedTable) -> list[DataQualityNote]:
    """Info notes for optional columns whose default was applied (column absent or empty)."""
    notes = []
    for column in staged.spec.columns:
        if column.required or (column.default is None and column.name != "service_level"):
            continue
        if column.name in staged.present_columns:
            empty = con.execute(f"select count(*) from {staged.raw_table} where "
                                f"{blank_sql(quote_identifier(column.name))}").fetchone()[0]
        else:
            empty = staged.rows
        if empty:
            applied = ("left empty (policy default applies)" if column.default is None
                       else f"defaulted to {column.default}")
            notes.append(DataQualityNote(staged.file_name, None, column.name, "info",
                                         f"{column.name} not given for {empty} row(s): {applied}",
                                         int(empty)))
    return notes


def _sales_weekly(
    con: duckdb.DuckDBPyConnection, sales: _StagedTable, items: pd.DataFrame, items_file: str,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, list[DataQualityNote]]:
    """Aggregate validated raw sales to complete ISO weeks up to `as_of`, with notes.

    A fast-path sales table (`sales.source`) is already aggregated to `sales_daily`."""
    if sales.source is None:
        con.execute(sql("load_sales_daily"))
        con.execute(f"drop table {sales.raw_table}")
    parameters = {"as_of": as_of.date()}
    weekly = con.execute(sql("sales_weekly_aggregate"), parameters).df()
    after, first_after, partial, negative, aggregated = con.execute(
        sql("load_sales_notes"), parameters).fetchone()
    if after and first_after is None and sales.source is not None:  # lines not kept: one scan
        scan, scan_parameters = sales.source.scan_sql(line=True)
        first_after = con.execute(sql("load_sales_first_line_after").format(source=scan),
                                  {**scan_parameters, **parameters}).fetchone()[0]
    name, notes = sales.file_name, []
    # Accounting: every validated sales row is either aggregated or dropped by a note below.
    notes.append(DataQualityNote(name, None, None, "info",
                                 f"{aggregated} sales row(s) aggregated into {len(weekly)} "
                                 f"sku-week total(s) of complete ISO weeks up to {as_of.date()}",
                                 int(aggregated)))
    if after:
        notes.append(DataQualityNote(name, first_after, "date", "warning",
                                     f"{after} sales row(s) dated after as_of {as_of.date()} "
                                     "dropped", int(after)))
    if partial:
        notes.append(DataQualityNote(name, None, "date", "info",
                                     f"{partial} sales row(s) in the incomplete week of as_of "
                                     f"{as_of.date()} excluded from history", int(partial)))
    if negative:
        notes.append(DataQualityNote(name, None, "quantity", "info",
                                     f"{negative} negative sales line(s) (returns) netted "
                                     "against demand", int(negative)))
    clipped = int((weekly["net_quantity"] < 0).sum())
    if clipped:
        notes.append(DataQualityNote(name, None, "quantity", "warning",
                                     f"{clipped} sku-week total(s) below zero (net returns) "
                                     "clipped to 0", clipped))
    weekly = weekly.drop(columns="net_quantity")
    # distinct SKUs first: isin over a 1.4 M-row arrow string column is slow in pandas 3
    with_sales = set(weekly["sku"].drop_duplicates().tolist())
    without_sales = int((~items["sku"].isin(with_sales)).sum())
    if without_sales:
        notes.append(DataQualityNote(items_file, None, "sku",
                                     "info", f"{without_sales} item(s) without sales in the "
                                     "history", without_sales))
    return weekly, notes


def _cores() -> int:
    """CPU cores this process may use (DuckDB threads)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load_inputs(input_dir: Path, as_of: datetime.date | None = None, *,
                memory_limit: str = "2GB") -> LoadedInputs:
    """Load, validate and type the input folder; raise InputValidationError with all issues."""
    input_dir = Path(input_dir)
    paths, issues = find_input_files(input_dir)
    with ThreadPoolExecutor(max_workers=1) as hasher, \
            tempfile.TemporaryDirectory(prefix="safestock-load-") as spill_dir:
        hashes = {table: hasher.submit(_sha256, path) for table, path in paths.items()}
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill_dir,
                                     "threads": _cores(), "preserve_insertion_order": True})
        con.execute("set enable_progress_bar = false")
        try:
            staged = {table: (_sales_fast if table == "sales" else _stage)(
                          con, TABLES[table], path, issues) for table, path in paths.items()}
            for table in staged.values():
                if table.structurally_ok and table.source is None:
                    _check_values(con, table, issues)
                    if table.spec.key:
                        _check_keys(con, table, issues)
            _check_references(con, staged, issues)
            if issues:
                raise InputValidationError(issues)
            frames = {name: _typed_frame(con, table) for name, table in staged.items()
                      if name != "sales"}
            notes = [note for table in staged.values() for note in _default_notes(con, table)]
            if as_of is None:
                if frames["inventory"].empty:
                    raise InputValidationError([ValidationIssue(
                        staged["inventory"].file_name, None, "as_of",
                        "no inventory rows: as_of cannot be derived (give as_of explicitly)")])
                as_of_stamp = pd.Timestamp(frames["inventory"]["as_of"].max())
            else:
                as_of_stamp = pd.Timestamp(as_of)
            sales_weekly, sales_notes = _sales_weekly(con, staged["sales"], frames["items"],
                                                      staged["items"].file_name, as_of_stamp)
        finally:
            con.close()
        files = {table.file_name: {"sha256": hashes[name].result(), "rows": table.rows}
                 for name, table in staged.items()}
    return LoadedInputs(
        items=frames["items"], suppliers=frames["suppliers"], inventory=frames["inventory"],
        purchase_orders=frames["purchase_orders"], sales_weekly=sales_weekly,
        notes=notes + sales_notes, files=files, as_of=as_of_stamp.normalize(),
    )
