"""Load and validate an input folder (see docs/data-contract.md) into pandas frames.

Every file is staged into an in-memory DuckDB database with all columns as VARCHAR, then
checked in SQL (types, ranges, keys, references) — except the big sales table, which is
checked and aggregated straight from one scan of the file and staged only when it has problems
to report line by line (`sales_fast`); all problems are collected and raised at once
as `InputValidationError`. Raw sales lines never enter pandas: they are aggregated in DuckDB to
complete ISO weeks, so memory stays bounded (DuckDB spills to a temporary directory).

This module orchestrates (`load_inputs`) and builds the results: typed frames, notes and the
weekly sales aggregate. Finding and reading inputs: `sources`; staging into DuckDB and
the sales fast path: `staging`; value, key and reference checks: `checks`; the contract: `contract`.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.inputs.checks import check_keys, check_references, check_values
from safestock.pipelines.inputs.contract import (
    TABLES,
    DataQualityNote,
    InputValidationError,
    ValidationIssue,
    blank_sql,
    quote_identifier,
    typed_sql,
)
from safestock.pipelines.inputs.sources import find_input_files, read_header, sha256
from safestock.pipelines.inputs.staging import StagedTable, sales_fast, stage
from safestock.pipelines.sqlfiles import sql


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


def _typed_frame(con: duckdb.DuckDBPyConnection, staged: StagedTable) -> pd.DataFrame:
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


def _default_notes(con: duckdb.DuckDBPyConnection, staged: StagedTable) -> list[DataQualityNote]:
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
    con: duckdb.DuckDBPyConnection, sales: StagedTable, items: pd.DataFrame, items_file: str,
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


def check_input_structure(input_dir: Path) -> None:
    """The cheap part of validation, run before anything slow starts (the CLI calls it before
    Prefect): every input file is there, readable, and has its required columns, judged from the
    header lines alone. Raises InputValidationError with all such issues; ``load_inputs`` repeats
    these checks and adds the value, key and reference checks."""
    paths, issues = find_input_files(Path(input_dir))
    with duckdb.connect() as con:
        for table, path in paths.items():
            read_header(con, TABLES[table], path, issues)
    if issues:
        raise InputValidationError(issues)


def load_inputs(input_dir: Path, as_of: datetime.date | None = None, *,
                memory_limit: str = "2GB") -> LoadedInputs:
    """Load, validate and type the input folder; raise InputValidationError with all issues."""
    input_dir = Path(input_dir)
    paths, issues = find_input_files(input_dir)
    with ThreadPoolExecutor(max_workers=1) as hasher, \
            tempfile.TemporaryDirectory(prefix="safestock-load-") as spill_dir:
        hashes = {table: hasher.submit(sha256, path) for table, path in paths.items()}
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill_dir,
                                     "threads": _cores(), "preserve_insertion_order": True})
        con.execute("set enable_progress_bar = false")
        try:
            staged = {table: (sales_fast if table == "sales" else stage)(
                          con, TABLES[table], path, issues) for table, path in paths.items()}
            for table in staged.values():
                if table.structurally_ok and table.source is None:
                    check_values(con, table, issues)
                    if table.spec.key:
                        check_keys(con, table, issues)
            check_references(con, staged, issues)
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
