"""Reading a run's results back from the DuckDB file (notebooks, ``safestock explain``, ad-hoc analysis).

Open the file read-only and close it soon: an open connection blocks the next pipeline write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd
from safestock.models.demand_matrix import (
    DemandMatrix,
    build_demand_matrix,
    last_complete_week,
)
from safestock.pipelines.config import PipelineConfig
from safestock.pipelines.sqlfiles import sql

DEMO_DATABASE = Path("demo_output") / "safestock.duckdb"  # what `safestock demo` (and `make demo`) writes


def default_db_path(start: Path | None = None) -> Path:
    """``$SAFESTOCK_DB``; else the nearest ``demo_output/safestock.duckdb`` in ``start`` (default: the
    working directory) or a folder above it, so a notebook opened in ``notebooks/`` finds the
    checkout's demo; else ``demo_output/safestock.duckdb`` under ``start``."""
    if os.environ.get("SAFESTOCK_DB"):
        return Path(os.environ["SAFESTOCK_DB"])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEMO_DATABASE).is_file():
            return folder / DEMO_DATABASE
    return here / DEMO_DATABASE


def read_run(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pd.Series:
    """The ``runs`` row of ``run_id``, or of the newest succeeded run when ``run_id`` is None."""
    if run_id is None:
        latest = con.execute(sql("latest_run")).fetchone()
        if latest is None:
            raise LookupError("no succeeded run in this database")
        run_id = latest[0]
    run = con.execute("select * from runs where run_id = ?", [run_id]).df()
    if run.empty:
        raise LookupError(f"no run {run_id!r} in this database")
    return run.iloc[0]


def read_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every ``runs`` row (one per attempt: running, succeeded, failed, superseded), oldest first."""
    return con.execute(sql("run_list")).df()


def read_run_table(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> pd.DataFrame:
    """The rows of ``run_id`` in the per-run table ``table`` (any table with a ``run_id`` column:
    ``sku_class``, ``forecasts``, ``forecast_accuracy``, ``items_snapshot``, ...), sorted by every
    column left to right, so by sku first. An unknown table raises ``duckdb.CatalogException``."""
    return con.execute(sql("run_table"), {"table": table, "run_id": run_id}).df()


def run_config(run: pd.Series) -> PipelineConfig:
    """The configuration the run used, rebuilt from its ``runs.config`` JSON (written by the flow
    from ``PipelineConfig.as_dict``); ``TypeError`` when it holds a key this version does not know."""
    return PipelineConfig.from_dict(json.loads(run["config"]))


def read_demand_matrix(con: duckdb.DuckDBPyConnection, run: pd.Series) -> DemandMatrix:
    """The SKU x week demand matrix the run forecast from, built as the flow's weekly-demand task
    builds it: ``build_demand_matrix`` over the run's SKUs (``items_snapshot``, sorted by sku), its
    last complete ISO week and its ``history_weeks``. ``sales_weekly`` keeps the newest data, so
    weeks that a later run re-loaded show the later figures."""
    last_week = last_complete_week(pd.Timestamp(run["as_of"]))
    sales = con.execute(sql("run_sales_weekly"), {"run_id": run["run_id"], "last_week": last_week.date()}).df()
    sales["week"] = pd.to_datetime(sales["week"])
    skus = read_run_table(con, "items_snapshot", run["run_id"])["sku"].to_numpy(dtype=object)
    return build_demand_matrix(sales, skus, last_week, run_config(run).history_weeks)
