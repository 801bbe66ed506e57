"""Reading a run's results back from the DuckDB file (notebooks, ad-hoc analysis).

Open the file read-only and close it soon: an open connection blocks the next pipeline write.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
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
