"""Load and validate an input folder (see docs/data-contract.md) into pandas frames.

Every file is staged into an in-memory DuckDB database with all columns as VARCHAR, then
checked in SQL (types, ranges, keys, references) — except the big sales table, which is
checked and aggregated straight from one scan of the file and staged only when it has problems
to report line by line (`sales_fast`); all problems are collected and raised at once
as `InputValidationError`. Raw sales lines never enter pandas: they are aggregated in DuckDB to
complete ISO weeks, so memory stays bounded (DuckDB spills to a temporary directory).

This module orchestrates (`load_inputs`) and builds the results: typed frames, notes and the
weekly sales aggregate. Finding and reading inputs: `sources`; staging into DuckDB and
the sales fast path: `staging`; value, key and reference checks: `checks`; warnings on valid but
implausible values: `plausibility`; the contract: `contract`. The sales-age check
(`check_sales_age`) and the extra-column check (`sources.check_extra_columns`) follow the
`[inputs]` configuration the flow passes in.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
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
from safestock.pipelines.inputs.plausibility import plausibility_notes
from safestock.pipelines.inputs.sources import (
    check_extra_columns,
    file_name,
    PULLED_SUFFIX,
    find_input_files,
    read_header,
    read_relation_header,
    sha256,
)
from safestock.pipelines.inputs.staging import StagedTable, number_item_skus, sales_fast, stage
from safestock.pipelines.inputs.stock_fast import stock_history_fast, stock_weekly_fast
from safestock.pipelines.inputs.stockout_inference import infer_stock_weekly
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
    #: From the optional stock_history table (None without it): sku, week (Monday),
    #: in_stock_share (weekday-weighted share of the week in stock), out_of_stock_days,
    #: out_of_stock_day_equivalents — complete ISO weeks up to as_of (sql/stock_weekly_aggregate.sql),
    #: stockout_source ('stock_history'; 'inferred' for the inferred stock-out weeks of lost-sales
    #: SKUs without stock history, pipelines/inputs/stockout_inference.py).
    stock_weekly: pd.DataFrame | None = None
    #: From the optional sales.unit_price column (None without it): sku, week (Monday),
    #: unit_price (quantity-weighted mean selling price) — complete ISO weeks up to as_of with a
    #: priced sales line (sql/sales_prices_weekly.sql); the engine fills the other weeks forward.
    prices_weekly: pd.DataFrame | None = None


def _typed_frame(con: duckdb.DuckDBPyConnection, staged: StagedTable) -> pd.DataFrame:
    """The validated table as a typed DataFrame with defaults applied, plus its `line` numbers
    as the last column (for notes; `load_inputs` takes it off)."""
    spec = staged.spec
    selects = [f"{typed_sql(c, c.name in staged.present_columns)} as {quote_identifier(c.name)}"
               for c in spec.columns]
    frame = con.execute(f"select {', '.join(selects)}, line as __line from {staged.raw_table} "
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
) -> tuple[pd.DataFrame, list[DataQualityNote], pd.Timestamp | None]:
    """Aggregate validated raw sales to complete ISO weeks up to `as_of`, with notes and the last
    day with sales on or before `as_of` (None: no sales history).

    A fast-path sales table (`sales.source`) is already aggregated to `sales_daily_keyed`."""
    if sales.source is None:
        price = quote_identifier("unit_price") if "unit_price" in sales.present_columns else "null"
        con.execute(sql("load_sales_sku_ids").format(staged_table=sales.raw_table))
        con.execute(sql("load_sales_daily").format(unit_price=price))
        con.execute(sql("load_sales_daily_view"))
        con.execute(f"drop table {sales.raw_table}")
    parameters = {"as_of": as_of.date()}
    weekly = con.execute(sql("sales_weekly_aggregate"), parameters).df()
    after, first_after, partial, negative, aggregated, last_sales_day = con.execute(
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
    return weekly, notes, None if last_sales_day is None else pd.Timestamp(last_sales_day)


def _prices_weekly(con: duckdb.DuckDBPyConnection, sales: StagedTable, as_of: pd.Timestamp,
                   ) -> tuple[pd.DataFrame | None, list[DataQualityNote]]:
    """Weekly selling prices from the optional `sales.unit_price` (sql/sales_prices_weekly.sql) and
    a note saying how many sku-weeks and skus have one; (None, []) when the column is absent."""
    if "unit_price" not in sales.present_columns:
        return None, []
    weekly = con.execute(sql("sales_prices_weekly"), {"as_of": as_of.date()}).df()
    skus = int(weekly["sku"].nunique())
    note = DataQualityNote(sales.file_name, None, "unit_price", "info",
                           f"unit_price aggregated into {len(weekly)} weekly price(s) of {skus} sku(s) "
                           "(quantity-weighted mean per complete ISO week; weeks without a priced line "
                           "keep the last price)", int(len(weekly)))
    return weekly, [note]


def _stock_weekly(con: duckdb.DuckDBPyConnection, stock: StagedTable, as_of: pd.Timestamp,
                  skus: np.ndarray) -> tuple[pd.DataFrame, list[DataQualityNote]]:
    """Aggregate the validated stock history to weekly in-stock shares (see the SQL file; the
    fast path computes the same on a grid, `stock_fast`), with a note saying how many sku-weeks
    had stock-outs. ``skus``: the items in line order (the fast path's positions)."""
    hours = "stockout_hours" if "stockout_hours" in stock.present_columns else "null"
    if stock.source is not None:  # fast path (stock_fast): the same rule on a SKU x day grid
        weekly = stock_weekly_fast(con, skus, as_of)
        if weekly is None:  # a duplicate (sku, date) key: staged for the key check's messages
            issues: list[ValidationIssue] = []
            staged = stage(con, stock.spec, stock.source.path, issues, stock.source)
            if staged.structurally_ok:
                check_keys(con, staged, issues)
            raise InputValidationError(issues)
    else:
        weekly = con.execute(sql("stock_weekly_aggregate").format(stockout_hours=hours),
                             {"as_of": as_of.date()}).df()
    weekly["stockout_source"] = "stock_history"
    censored = int((weekly["in_stock_share"] < 1).sum())
    skus = int(weekly.loc[weekly["in_stock_share"] < 1, "sku"].nunique())
    note = DataQualityNote(stock.file_name, None, "on_hand", "info",
                           f"{stock.rows} stock row(s) aggregated into {len(weekly)} sku-week(s); "
                           f"{censored} sku-week(s) of {skus} sku(s) were partly or fully out of stock",
                           int(stock.rows))
    return weekly, [note]


def _with_inferred_stockouts(con: duckdb.DuckDBPyConnection, stock_weekly: pd.DataFrame | None,
                             staged: dict[str, StagedTable], frames: dict[str, pd.DataFrame],
                             as_of: pd.Timestamp) -> tuple[pd.DataFrame | None, list[DataQualityNote]]:
    """`stock_weekly` plus the inferred stock-out weeks of lost-sales SKUs without stock history
    rows up to as_of (`stockout_inference.infer_stock_weekly`)."""
    stock_history_skus = set() if stock_weekly is None else set(stock_weekly["sku"].drop_duplicates().tolist())
    inferred, notes = infer_stock_weekly(con, frames["items"], frames["purchase_orders"], stock_history_skus,
                                         as_of, staged["sales"].file_name)
    if inferred is None:
        return stock_weekly, notes
    if stock_weekly is None:
        return inferred, notes
    return pd.concat([stock_weekly, inferred], ignore_index=True), notes


def check_sales_age(sales_file: str, last_sales_day: pd.Timestamp | None, as_of: pd.Timestamp,
                    as_of_given: bool, max_sales_age_days: int | None) -> list[ValidationIssue]:
    """Stale data is not planned as if current: the days from the last sales day on or before
    `as_of` to `as_of` must not exceed `max_sales_age_days` (config `[inputs]`), since every
    complete week in that gap would count as zero demand. No check without a history (a new
    store, or `as_of` before every sales row: ordinary input) or when `max_sales_age_days` is None."""
    if max_sales_age_days is None or last_sales_day is None:
        return []
    age = (as_of.normalize() - last_sales_day.normalize()).days
    if age <= max_sales_age_days:
        return []
    source = "--as-of" if as_of_given else "the latest inventory.as_of"
    return [ValidationIssue(
        sales_file, None, "date",
        f"sales history ends {last_sales_day.date()}, {age} days before as_of {as_of.date()} "
        f"({source}); more than max_sales_age_days = {max_sales_age_days}, and the weeks without "
        "sales would be planned as zero demand. Add the missing sales, plan as of an earlier "
        f"date (--as-of {last_sales_day.date()}), or raise max_sales_age_days in the [inputs] "
        "table of the --config file")]


def _pulled_relations(con: duckdb.DuckDBPyConnection, database: Path,
                      issues: list[ValidationIssue]) -> dict[str, object]:
    """The input tables of a pulled DuckDB file, attached read-only as `pulled`: contract table ->
    its checked header (`sources.read_relation_header`; None after an issue)."""
    con.execute("attach $path as pulled (read_only)", {"path": str(database)})
    present = {row[0] for row in con.execute(
        "select table_name from duckdb_tables() where database_name = 'pulled'").fetchall()}
    return {table: read_relation_header(con, TABLES[table], Path(f"{table}{PULLED_SUFFIX}"),
                                        f"pulled.{quote_identifier(table)}", issues)
            for table in TABLES if table in present}


def _cores() -> int:
    """CPU cores this process may use (DuckDB threads)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_input_structure(input_dir: Path, *, allow_extra_columns: bool = False) -> None:
    """The cheap part of validation, run before anything slow starts (the CLI calls it before
    Prefect): every input file is there, readable, has its required columns and no misspelled
    optional column (see ``check_extra_columns``), judged from the header lines alone. Raises
    InputValidationError with all such issues; ``load_inputs`` repeats these checks and adds the
    value, key and reference checks."""
    paths, issues = find_input_files(Path(input_dir))
    with duckdb.connect() as con:
        for table, path in paths.items():
            source = read_header(con, TABLES[table], path, issues)
            if source is not None:
                check_extra_columns(TABLES[table], file_name(path), source.extra_columns,
                                    set(source.by_name), 0, allow_extra_columns, issues)
    if issues:
        raise InputValidationError(issues)


def load_inputs(input_dir: Path | None, as_of: datetime.date | None = None, *,
                memory_limit: str = "2GB", allow_extra_columns: bool = False,
                max_sales_age_days: int | None = None,
                sales_history_path: Path | None = None,
                unmet_demand: str = "backorder", infer_stockouts: bool = True,
                pulled_database: Path | None = None,
                complete_frames: Callable[[dict[str, pd.DataFrame]], None] | None = None) -> LoadedInputs:
    """Load, validate and type the input folder; raise InputValidationError with all issues.

    `allow_extra_columns`: a column that looks like a misspelled optional contract column is a
    warning instead of an error. `max_sales_age_days`: refuse a sales history that ends more than
    this many days before as_of (`check_sales_age`; None = not checked). The flow passes both
    from the configuration's `[inputs]` table, and `unmet_demand` (backorder | lost), the value
    of `items.unmet_demand` where the column is absent or empty. `sales_history_path`: the
    validated sales, one row per sku and day, are written there as Parquet
    (`sql/sales_history_export.sql`: the run's pull into `sales_history`, storage/history.py).
    The optional `stock_history` table becomes `stock_weekly` (None without the file and without
    inferred stock-outs); with `infer_stockouts`, lost-sales SKUs without stock history rows get
    the weeks of their inferred stock-outs there too (`stockout_source` 'inferred' instead of
    'stock_history'; `stockout_inference`).

    `pulled_database`: a DuckDB file holding the input tables instead of `input_dir` (a PostgreSQL
    pull streamed into DuckDB, inputs/postgres.py): one table per input table, named like it,
    with a `__line` column (first row = 2) and `__…` row-key columns; issues name `<table>.pulled`
    and `files` gives its rows (no file, so no sha256). `complete_frames`: called with the typed
    frames (each with its `__line` column) right after they are built, before anything reads
    them; a PostgreSQL pull that checked only a table's changed rows puts its stored typed rows
    there (storage/source_snapshots.py)."""
    if pulled_database is None:
        paths, issues = find_input_files(Path(input_dir))
    else:
        paths, issues = {}, []
    with ThreadPoolExecutor(max_workers=1) as hasher, \
            tempfile.TemporaryDirectory(prefix="safestock-load-") as spill_dir:
        hashes = {table: hasher.submit(sha256, path) for table, path in paths.items()}
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill_dir,
                                     "threads": _cores(), "preserve_insertion_order": True})
        con.execute("set enable_progress_bar = false")
        try:
            relations = {} if pulled_database is None else _pulled_relations(con, pulled_database, issues)
            if pulled_database is not None:
                paths = {table: Path(f"{table}{PULLED_SUFFIX}") for table in TABLES if table in relations}
            staged: dict[str, StagedTable] = {}
            for table, path in paths.items():  # TABLES order: items before stock_history
                source = relations.get(table)
                if table in relations and source is None:  # a required column missing: an issue
                    staged[table] = StagedTable(TABLES[table], file_name(path), set(), 0, structurally_ok=False)
                elif table == "stock_history" and "items" in staged:
                    staged[table] = stock_history_fast(con, TABLES[table], path, issues, staged["items"], source)
                elif table == "sales":
                    number_item_skus(con, staged.get("items"))
                    staged[table] = sales_fast(con, TABLES[table], path, issues, source)
                else:
                    staged[table] = stage(con, TABLES[table], path, issues, source)
            for table in staged.values():
                if table.structurally_ok and table.source is None:
                    check_values(con, table, issues)
                    if table.spec.key:
                        check_keys(con, table, issues)
            check_references(con, staged, issues)
            column_notes = [note for table in staged.values() if table.structurally_ok
                            for note in check_extra_columns(
                                table.spec, table.file_name, table.extra_columns,
                                table.present_columns, table.rows, allow_extra_columns, issues)]
            if issues:
                raise InputValidationError(issues)
            frames = {name: _typed_frame(con, table) for name, table in staged.items()
                      if name not in ("sales", "stock_history")}
            if complete_frames is not None:  # a pull's stored typed rows (storage/source_snapshots.py)
                complete_frames(frames)
            frames["items"]["unmet_demand"] = frames["items"]["unmet_demand"].fillna(unmet_demand)
            lines = {name: frame.pop("__line") for name, frame in frames.items()}
            notes = column_notes + [note for table in staged.values()
                                    for note in _default_notes(con, table)]
            if as_of is None:
                if frames["inventory"].empty:
                    raise InputValidationError([ValidationIssue(
                        staged["inventory"].file_name, None, "as_of",
                        "no inventory rows: as_of cannot be derived (give as_of explicitly)")])
                as_of_stamp = pd.Timestamp(frames["inventory"]["as_of"].max())
            else:
                as_of_stamp = pd.Timestamp(as_of)
            sales_weekly, sales_notes, last_sales_day = _sales_weekly(
                con, staged["sales"], frames["items"], staged["items"].file_name, as_of_stamp)
            if sales_history_path is not None:
                con.execute(sql("sales_history_export"), {"path": str(sales_history_path)})
            stale = check_sales_age(staged["sales"].file_name, last_sales_day, as_of_stamp,
                                    as_of is not None, max_sales_age_days)
            if stale:
                raise InputValidationError(stale)
            prices_weekly, price_notes = _prices_weekly(con, staged["sales"], as_of_stamp)
            sales_notes += price_notes
            stock_weekly = None
            if "stock_history" in staged:
                stock_weekly, stock_notes = _stock_weekly(con, staged["stock_history"], as_of_stamp,
                                                          frames["items"]["sku"].to_numpy(dtype=object))
                sales_notes += stock_notes
            if infer_stockouts:
                stock_weekly, inferred_notes = _with_inferred_stockouts(
                    con, stock_weekly, staged, frames, as_of_stamp)
                sales_notes += inferred_notes
            notes += plausibility_notes(frames, lines, {name: table.file_name for name, table
                                                        in staged.items()}, as_of_stamp)
        finally:
            con.close()
        files = {table.file_name: {"sha256": hashes[name].result() if name in hashes else None,
                                   "rows": table.rows} for name, table in staged.items()}
    return LoadedInputs(
        items=frames["items"], suppliers=frames["suppliers"], inventory=frames["inventory"],
        purchase_orders=frames["purchase_orders"], sales_weekly=sales_weekly,
        notes=notes + sales_notes, files=files, as_of=as_of_stamp.normalize(),
        stock_weekly=stock_weekly, prices_weekly=prices_weekly,
    )
