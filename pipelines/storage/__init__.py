"""Storage: the DuckDB results file — schema, run records, the run lock, the atomic write of a
run's output tables — and the shaping of stage results into those tables.

Rooms: ``records`` (RunRecord, RunSummary), ``database`` (connections, lock, run rows, write),
``outputs`` (stage results → output frames).
"""

from safestock.pipelines.storage.database import (
    RUN_TABLES,
    RunInProgressError,
    connect,
    fail_run,
    latest_run_id,
    run_lock,
    start_run,
    write_run,
)
from safestock.pipelines.storage.records import RunRecord, RunSummary

__all__ = ["RUN_TABLES", "RunInProgressError", "RunRecord", "RunSummary", "connect", "fail_run",
           "latest_run_id", "run_lock", "start_run", "write_run"]
