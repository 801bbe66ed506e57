"""Load and validate an input folder (see docs/data-contract.md) into pandas frames.

Every file is staged into an in-memory DuckDB database with all columns as VARCHAR, then
checked in SQL (types, ranges, keys, references); all problems are collected and raised at once
as `InputValidationError`. Raw sales lines never enter pandas: they are aggregated in DuckDB to
complete ISO weeks, so memory stays bounded (DuckDB spills to a temporary directory).
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
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
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
        if not existing:
            issues.append(ValidationIssue(f"{name}.csv", None, None,
                                          "missing file (expected " + " or ".join(
                                              p.name for p in candidates) + ")"))
        elif len(existing) > 1:
            issues.append(ValidationIssue(existing[0].name, None, None,
                                          "several files for one table: "
                                          + ", ".join(p.name for p in existing)))
        else:
            found[name] = existing[0]
    return found, issues


def _stage(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
           issues: list[ValidationIssue]) -> _StagedTable:
    """Stage one file as raw VARCHAR table; header, readability and rejected-record checks."""
    staged = _StagedTable(spec, path.name, set(), 0, structurally_ok=False)
    is_parquet = path.name.endswith(".parquet")
    if path.stat().st_size == 0:
        issues.append(ValidationIssue(path.name, None, None, "file is empty (expected a header "
                                      "line: " + ", ".join(spec.required_columns) + ")"))
        return staged
    try:
        header = ([row[0] for row in con.execute(sql("load_parquet_header"),
                                                 {"path": str(path)}).fetchall()]
                  if is_parquet else _csv_header(path))
    except (duckdb.Error, OSError, EOFError, zlib.error, UnicodeError, csv.Error,
            OverflowError, ValueError) as error:
        kind = "Parquet" if is_parquet else "UTF-8 CSV"
        issues.append(ValidationIssue(path.name, None, None,
                                      f"unreadable file (not a valid {kind} file): "
                                      f"{_first_error_line(error)}"))
        return staged
    wanted = {column.name for column in spec.columns}
    by_name: dict[str, int] = {}
    for position, name in enumerate(header):
        normalized = name.replace("\ufeff", "").strip().lower()
        if normalized in wanted:
            if normalized in by_name:
                issues.append(ValidationIssue(path.name, 1, normalized, "column appears twice"))
                return staged
            by_name[normalized] = position
    missing = [name for name in spec.required_columns if name not in by_name]
    found = _show(", ".join(header), limit=300)[1:-1]
    hint = (" — is the file comma-separated?"
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|") else "")
    for name in missing:
        issues.append(ValidationIssue(path.name, None, name, "required column is missing "
                                      f"(columns found: {found}){hint}"))
    if missing:
        return staged
    raw, stage = f"raw_{spec.name}", f"stage_{spec.name}"
    rejects, rejected_count = f"rejects_{spec.name}", 0
    try:
        if is_parquet:
            parameters: dict[str, object] = {"path": str(path)}
            columns = []
            for index, (name, position) in enumerate(by_name.items()):
                parameters[f"column_{index}"] = header[position]
                columns.append(staged_value_sql(
                    f"cast(struct_extract(record, $column_{index}) as varchar)")
                    + f" as {quote_identifier(name)}")
            con.execute(sql("load_parquet_stage").format(
                stage_table=quote_identifier(raw), columns=", ".join(columns)), parameters)
        else:
            position_names = {position: name for name, position in by_name.items()}
            columns_read = {position_names.get(i, f"ignored_{i}"): "VARCHAR"
                            for i in range(len(header))}
            columns = [f"{staged_value_sql(quote_identifier(name))} as {quote_identifier(name)}"
                       for name in by_name]
            con.execute(sql("load_csv_stage").format(
                stage_table=quote_identifier(stage), rejects_table=rejects,
                rejects_scan=f"rejects_scan_{spec.name}", columns=", ".join(columns),
                rejects_limit=MAX_REJECTS_RECORDED),
                {"path": str(path), "columns": columns_read})
            rejected_count = _report_rejected(con, path.name, rejects, issues)
            if rejected_count:
                con.execute(sql("load_renumber_lines").format(
                    stage_table=quote_identifier(stage), rejects_table=quote_identifier(rejects),
                    raw_table=quote_identifier(raw)))
                con.execute(f"drop table {quote_identifier(stage)}")
            else:
                con.execute(f"alter table {quote_identifier(stage)} rename to "
                            f"{quote_identifier(raw)}")
    except (duckdb.Error, UnicodeError, OverflowError) as error:
        issues.append(ValidationIssue(path.name, None, None,
                                      f"unreadable file: {_first_error_line(error)}"))
        return staged
    staged.present_columns = set(by_name)
    staged.rows = con.execute(f"select count(*) from {quote_identifier(raw)}").fetchone()[0]
    staged.rows += rejected_count
    staged.structurally_ok = True
    return staged


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
    for child in staged.values():
        for column, parent_name in child.spec.references:
            parent = staged.get(parent_name)
            if parent is None or not parent.structurally_ok:
                continue
            parent_key = parent.spec.key[0]
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
    """Aggregate validated raw sales to complete ISO weeks up to `as_of`, with notes."""
    con.execute(sql("load_sales_daily"))
    con.execute(f"drop table {sales.raw_table}")
    parameters = {"as_of": as_of.date()}
    weekly = con.execute(sql("sales_weekly_aggregate"), parameters).df()
    after, first_after, partial, negative, aggregated = con.execute(
        sql("load_sales_notes"), parameters).fetchone()
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
    without_sales = int((~items["sku"].isin(weekly["sku"])).sum())
    if without_sales:
        notes.append(DataQualityNote(items_file, None, "sku",
                                     "info", f"{without_sales} item(s) without sales in the "
                                     "history", without_sales))
    return weekly, notes


def load_inputs(input_dir: Path, as_of: datetime.date | None = None, *,
                memory_limit: str = "2GB") -> LoadedInputs:
    """Load, validate and type the input folder; raise InputValidationError with all issues."""
    input_dir = Path(input_dir)
    paths, issues = find_input_files(input_dir)
    with ThreadPoolExecutor(max_workers=1) as hasher, \
            tempfile.TemporaryDirectory(prefix="safestock-load-") as spill_dir:
        hashes = {table: hasher.submit(_sha256, path) for table, path in paths.items()}
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill_dir,
                                     "preserve_insertion_order": True})
        con.execute("set enable_progress_bar = false")
        try:
            staged = {table: _stage(con, TABLES[table], path, issues)
                      for table, path in paths.items()}
            for table in staged.values():
                if table.structurally_ok:
                    _check_values(con, table, issues)
                    if table.spec.key:
                        _check_keys(con, table, issues)
            _check_references(con, {n: t for n, t in staged.items() if t.structurally_ok},
                              issues)
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
