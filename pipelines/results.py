"""Reading a run's results back from the DuckDB file (notebooks, ad-hoc analysis).

Open the file read-only and close it soon: an open connection blocks the next pipeline write.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.sqlfiles import sql

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_db_path() -> Path:
    """``$SAFESTOCK_DB``, else the database ``make demo`` writes (``demo_output/safestock.duckdb``)."""
    return Path(os.environ.get("SAFESTOCK_DB") or REPO_ROOT / "demo_output" / "safestock.duckdb")


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
