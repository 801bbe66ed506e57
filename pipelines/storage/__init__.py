"""Storage: the DuckDB results file — the output-table registry, schema, run records, the run
lock, the atomic write of a run's output tables — and the shaping of stage results into those tables.

Rooms: ``tables`` (the output-table registry: every table and column, declared once), ``schema``
(DDL generated from it), ``table_doc`` (its markdown, docs/output-tables.md), ``records``
(RunRecord, RunSummary), ``database`` (connections, lock, run rows, write), ``outputs`` (stage
results → output frames).
"""

from safestock.pipelines.storage.database import (
    DatabaseBusyError,
    ForeignTableError,
    OutputWriteError,
    RunInProgressError,
    check_frame,
    connect,
    create_schema,
    fail_run,
    latest_run_id,
    run_lock,
    start_run,
    write_run,
)
from safestock.pipelines.storage.records import RunRecord, RunSummary
from safestock.pipelines.storage.tables import OUTPUT_TABLES, RUN_TABLES, output_table

__all__ = ["OUTPUT_TABLES", "RUN_TABLES", "DatabaseBusyError", "ForeignTableError", "OutputWriteError",
           "RunInProgressError", "RunRecord", "RunSummary", "check_frame",
           "connect", "create_schema", "fail_run", "latest_run_id", "output_table", "run_lock", "start_run",
           "write_run"]
