"""Fast path for the big optional `stock_history` table (a year of days x every SKU).

Staging it as an all-VARCHAR table, checking it there and aggregating it with a window over
(sku, day) costs several passes and a sort of tens of millions of rows. Like the sales fast path
(`staging.sales_fast`), this reads the file once into a compact typed table
(sql/load_stock_history_typed.sql: item position, day, ended empty, stockout_hours and the
first failed contract check of each row) and counts failed rows and unknown skus from it; any
of them, a malformed record or a reader error falls back to `staging.stage` and the SQL
aggregate, so the issues reported are exactly those of the staged path, with file, line and
column. When valid, the weekly in-stock shares come from a SKU x day grid
(`safestock.models.stock_exposure.weekly_stock`, the rule of sql/stock_weekly_aggregate.sql),
built in chunks of SKUs; a duplicate (sku, date) key, found there by a bitmap, makes the loader
stage the file and report the staged key check's messages.

A Parquet file whose columns already have their contract types (text sku, DATE / TIMESTAMP date,
integer / decimal / float numbers) is checked on the native values (`native_scan`,
sql/load_stock_history_native.sql): no value is cast to text and parsed back.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from safestock.models.stock_exposure import weekly_stock
from safestock.pipelines.inputs.contract import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_MAGNITUDE,
    TableSpec,
    ValidationIssue,
    quote_identifier,
    value_check_cases,
)
from safestock.pipelines.inputs.sources import Source, file_name, read_header
from safestock.pipelines.inputs.staging import StagedTable, stage
from safestock.pipelines.sqlfiles import sql

#: SKU x day cells per chunk of the grid.
GRID_CELLS_PER_CHUNK = 8_000_000


def stock_history_fast(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
                       issues: list[ValidationIssue], items: StagedTable,
                       source: Source | None = None) -> StagedTable:
    """The stock history read once and checked (see the module docstring); a `StagedTable` whose
    ``source`` is set (temp table stock_typed, no `raw_stock_history`) when valid, else the
    staged table. Duplicate keys are found by `stock_weekly_fast` (a bitmap over the grid)."""
    source = source or read_header(con, spec, path, issues)  # given: a pulled table's checked header
    if source is None:
        return StagedTable(spec, file_name(path), set(), 0, structurally_ok=False)
    if not items.structurally_ok:
        return stage(con, spec, path, issues, source)
    present = set(source.by_name)
    codes, checks = value_check_cases(spec, present)
    code_names = list(dict.fromkeys(code for _, code, _ in checks))
    failed = f"greatest({', '.join(code_names)})" if len(code_names) > 1 else code_names[0]
    hours = quote_identifier("stockout_hours") if "stockout_hours" in present else "null"
    rejects = f"fast_rejects_{spec.name}"
    try:
        native = native_scan(con, spec, source) if source.is_parquet else None
        if native is not None:
            native_sql, parameters = native
            con.execute(sql("load_stock_history_native").format(items_table=items.raw_table, **native_sql),
                        parameters)
        else:
            scan, parameters = source.scan_sql(line=False, rejects_table=None if source.is_parquet else rejects)
            con.execute(sql("load_stock_history_typed").format(
                source=scan, codes=", ".join(codes), failed=failed, stockout_hours=hours,
                items_table=items.raw_table), parameters)
        rows, bad, unknown = con.execute(
            "select count(*), count(*) filter (where failed > 0), count(*) filter (where position is null) "
            "from stock_typed").fetchone()
        rejected = (0 if source.is_parquet else
                    con.execute(f"select count(*) from {quote_identifier(rejects)}").fetchone()[0])
    except (duckdb.Error, UnicodeError, OverflowError):
        con.execute("drop table if exists stock_typed")
        return stage(con, spec, path, issues, source)
    if rejected or bad or unknown:
        con.execute("drop table if exists stock_typed")
        return stage(con, spec, path, issues, source)
    return StagedTable(spec, file_name(path), present, int(rows), source=source,
                       extra_columns=source.extra_columns)


_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
_DATE_TYPES = ("DATE", "TIMESTAMP")


def native_scan(con: duckdb.DuckDBPyConnection, spec: TableSpec, source: Source,
                ) -> tuple[dict[str, str], dict[str, object]] | None:
    """The placeholders and parameters of sql/load_stock_history_native.sql when every contract
    column of the Parquet ``source`` has a native type of its kind (text: VARCHAR; date: DATE or
    TIMESTAMP; number: an integer, decimal or float type) and the table has no row rule; else None.

    The checks on native values, per column (``contract.value_checks`` on the text of the same
    value fails exactly then): missing = NULL (unless nullable); a number fails when not finite,
    |x| >= MAX_MAGNITUDE or outside its bounds; a date when outside EARLIEST_DATE .. LATEST_DATE.
    A text value is compared as it is (no trim): a padded or blank sku matches no item, and
    unknown skus send the file to the staged path, which trims."""
    if spec.row_checks:
        return None
    parameters: dict[str, object] = {} if source.relation is not None else {"path": source.read_path}
    described = con.execute(f"describe select * from {source.reader_sql(row_numbers=False)}",
                            parameters).fetchall()
    types = {row[0]: str(row[1]).upper() for row in described}
    columns, failures = [], []
    for index, (name, position) in enumerate(source.by_name.items()):
        column = spec.column(name)
        kind_type = types.get(source.header[position], "")
        base = kind_type.split("(")[0]
        native_ok = {"text": base == "VARCHAR", "date": base in _DATE_TYPES, "number": base in _NUMBER_TYPES}
        if not native_ok.get(column.kind, False):
            return None
        parameters[f"column_{index}"] = source.header[position]
        value = quote_identifier(name)
        columns.append(f"struct_extract(record, $column_{index}) as {value}")
        checks = [] if column.nullable else [f"{value} is null"]
        if column.kind == "number":
            number = f"cast({value} as double)"
            checks += [f"not isfinite({number})", f"abs({number}) >= {MAX_MAGNITUDE:g}"]
            if column.minimum is not None:
                checks.append(f"{number} {'<=' if column.minimum_exclusive else '<'} {column.minimum:g}")
            if column.maximum_exclusive is not None:
                checks.append(f"{number} >= {column.maximum_exclusive:g}")
            if column.maximum is not None:
                checks.append(f"{number} > {column.maximum:g}")
        elif column.kind == "date":
            checks.append(f"{value} < date '{EARLIEST_DATE}' or {value} >= date '{LATEST_DATE}' + 1")
        failures.append(f"coalesce({' or '.join(f'({check})' for check in checks)}, false)" if checks else "false")
    source_sql = f"(select {', '.join(columns)} from {source.reader_sql(row_numbers=False)})"
    hours = "cast(stockout_hours as double)" if "stockout_hours" in source.by_name else "null"
    return ({"source": source_sql, "failed": f"cast({' or '.join(failures)} as integer)",
             "day_sql": "cast(\"date\" as date)", "on_hand_sql": "cast(on_hand as double)",
             "stockout_hours": hours}, parameters)


def stock_weekly_fast(con: duckdb.DuckDBPyConnection, skus: np.ndarray, as_of: pd.Timestamp,
                      ) -> pd.DataFrame | None:
    """Weekly in-stock shares of the fast-path stock history (temp table stock_typed; ``skus``:
    the items in line order, which the positions index) over complete ISO weeks up to
    ``as_of``: the columns of sql/stock_weekly_aggregate.sql, rows in items order then week.
    None when a (sku, date) key is duplicated (the caller stages the file for its messages)."""
    as_of = pd.Timestamp(as_of).normalize()
    last_day = as_of - pd.Timedelta(days=(as_of.weekday() + 1) % 7)  # the last complete week's Sunday
    columns = ["sku", "week", "in_stock_share", "out_of_stock_days", "out_of_stock_day_equivalents"]
    first, last = con.execute("select min(day), max(day) from stock_typed").fetchone()
    if first is None:
        return pd.DataFrame({name: [] for name in columns})
    first_day = pd.Timestamp(first) - pd.Timedelta(days=pd.Timestamp(first).weekday())  # a Monday
    hours_given = con.execute("select count(stockout_hours) > 0 from stock_typed").fetchone()[0]
    n_days = max((last_day - first_day).days + 1, 0)
    span = max((pd.Timestamp(last) - first_day).days + 1, n_days)   # grid width: every row's day, all weeks
    weights = con.execute(sql("stockout_inference_weekday_weights"),
                          {"as_of": as_of.date()}).fetchnumpy()["weight"].astype(np.float64)
    # each row's cell of the chunk's SKU x day grid (row-major over ``span`` days), computed in DuckDB
    query = ("select cast((position - $low) * $span + datediff('day', cast($first_day as date), day) as integer) "
             "as cell, ended_empty" + (", coalesce(stockout_hours, cast('nan' as double)) as stockout_hours"
                                       if hours_given else "") +
             " from stock_typed where position >= $low and position < $high")
    frames = []
    chunk = max(1, GRID_CELLS_PER_CHUNK // max(span, 1))
    for low in range(0, len(skus), chunk):  # blocks of SKUs, each read by DuckDB's filter
        high = min(low + chunk, len(skus))
        cells = con.execute(query, {"first_day": first_day.date(), "low": low, "high": high,
                                    "span": span}).fetchnumpy()
        cell = np.asarray(cells["cell"])
        grid = (high - low, span)
        has_row = np.zeros(grid[0] * span, dtype=bool)
        has_row[cell] = True
        if np.count_nonzero(has_row) < len(cell):  # two rows on one cell: a duplicate (sku, date)
            return None
        if n_days < 7 or len(cell) == 0:
            continue
        empty = np.zeros(grid[0] * span, dtype=bool)
        empty[cell] = np.asarray(cells["ended_empty"], dtype=bool)
        hours_grid = None
        if hours_given:
            hours_grid = np.full(grid[0] * span, np.nan)
            hours_grid[cell] = np.asarray(cells["stockout_hours"], dtype=np.float64)
            hours_grid = hours_grid.reshape(grid)[:, :n_days]
        del cells, cell
        weekly = weekly_stock(empty.reshape(grid)[:, :n_days], hours_grid, has_row.reshape(grid)[:, :n_days],
                              weights, first_day.weekday())
        sku_index, week_index = np.nonzero(weekly.has_row)
        frames.append({
            "sku": np.asarray(skus, dtype=object)[low + sku_index],
            "week": np.datetime64(first_day.date(), "us") + (7 * week_index).astype("timedelta64[D]"),
            "in_stock_share": weekly.in_stock_share[sku_index, week_index],
            "out_of_stock_days": weekly.out_of_stock_days[sku_index, week_index].astype(np.int64),
            "out_of_stock_day_equivalents": weekly.out_of_stock_day_equivalents[sku_index, week_index],
        })
    if not frames:
        return pd.DataFrame({name: [] for name in columns})
    # one array per column, joined once (no block consolidation copy of millions of rows)
    return pd.DataFrame({name: np.concatenate([frame[name] for frame in frames]) for name in columns}, copy=False)
