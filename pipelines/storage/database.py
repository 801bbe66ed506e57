"""The DuckDB results database: schema, run records, the run lock and the atomic write.

The tables are those of the registry (``storage.tables``; DDL from ``storage.schema``).
A run writes nothing but its ``runs`` row until it has computed everything; then all of its
output tables are written in ONE transaction, together with marking earlier runs for the same
``as_of`` as superseded (their rows deleted). A crash or an error before that commit leaves the
previous results untouched. Connections are opened only for those short write windows, so
notebooks and report readers can open the file between them; a window that finds the file held
by another process (a reader keeping ``read_only=True`` open) waits for it up to the run's
``--wait`` and then raises ``DatabaseBusyError`` (exit 3). A file holding a table named like ours
that safestock did not create is refused (``ForeignTableError``) before anything is written.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.sqlfiles import sql
from safestock.pipelines.storage.history import SalesHistoryUpdate, write_history
from safestock.pipelines.storage.records import RunRecord
from safestock.pipelines.storage.schema import (
    columns_to_widen,
    foreign_table_reason,
    schema_ddl,
    widen_columns_ddl,
)
from safestock.pipelines.storage.tables import OUTPUT_TABLES, RUN_TABLES, OutputTable, per_run_tables

FAIL_RECORD_WAIT_SECONDS = 5.0
"""How long ``fail_run`` waits for a busy database file before leaving the row ``running``."""


class RunInProgressError(RuntimeError):
    """Another safestock run holds the database's run lock."""

    def __init__(self, db_path: Path, holder: Mapping[str, object]) -> None:
        self.db_path = db_path
        self.holder = dict(holder)
        super().__init__(
            f"another run is in progress on {db_path} "
            f"(pid {holder.get('pid', '?')}, started at {holder.get('started_at', '?')}); "
            "wait for it to finish or use --wait SECONDS"
        )


class DatabaseBusyError(RuntimeError):
    """Another process holds the DuckDB file (a writer, or a reader kept open with read_only=True)."""

    def __init__(self, db_path: Path, waited_seconds: float, detail: str) -> None:
        self.db_path, self.waited_seconds, self.detail = db_path, waited_seconds, detail
        pid = re.search(r"\(PID (\d+)\)", detail)
        holder = f"process {pid.group(1)}" if pid else "another process"
        super().__init__(
            f"the database file {db_path} is held open by {holder} (waited {waited_seconds:g} s); "
            "close that connection (a notebook or report reader) or use --wait SECONDS"
        )

    def __reduce__(self):  # picklable across Prefect / Dask workers
        return (type(self), (self.db_path, self.waited_seconds, self.detail))


class ForeignTableError(RuntimeError):
    """The database file holds a table named like one of safestock's that safestock did not create."""

    def __init__(self, db_path: str, table: str, reason: str) -> None:
        self.db_path, self.table, self.reason = db_path, table, reason
        super().__init__(
            f"{db_path} holds a table {table!r} that is not safestock's ({reason}); nothing was written. "
            "Use another --db file, or rename that table"
        )

    def __reduce__(self):
        return (type(self), (self.db_path, self.table, self.reason))


class OutputWriteError(RuntimeError):
    """Inserting a run's rows into one output table failed; the message keeps the database's error."""

    def __init__(self, table: str, error: str) -> None:
        self.table, self.error = table, error
        super().__init__(f"writing output table {table!r} failed: {error}")

    def __reduce__(self):
        return (type(self), (self.table, self.error))


def utc_now() -> datetime:
    """Current UTC time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _is_lock_conflict(error: duckdb.Error) -> bool:
    """DuckDB's refusal to open a file another process holds (its message since 0.9)."""
    return isinstance(error, duckdb.IOException) and "Could not set lock on file" in str(error)


def _open(db_path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried every 0.2 s for up to ``wait_seconds`` while another process holds the file."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(db_path, wait_seconds, str(error)) from None
            time.sleep(0.2)


def connect(db_path: Path, *, read_only: bool = False, wait_seconds: float = 0.0) -> duckdb.DuckDBPyConnection:
    """Open the results database, creating the schema when writing.

    Waits up to ``wait_seconds`` for a file another process holds, then raises DatabaseBusyError;
    raises ForeignTableError (before writing anything) for a file with someone else's table
    named like ours."""
    if read_only:
        return _open(db_path, True, wait_seconds)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, False, wait_seconds)
    try:
        create_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registered tables (adding columns an older safestock's database lacks and widening
    the columns whose type was widened since), then the views. Raises ForeignTableError, before
    any statement that writes, when a relation named like a registered table is not safestock's."""
    existing: dict[str, tuple[str, dict[str, str]]] = {}
    for name, table_type, column, data_type, _ in con.execute(sql("schema_existing_columns")).fetchall():
        columns = existing.setdefault(name, (table_type, {}))[1]
        if column is not None:
            columns[column] = data_type
    for table in OUTPUT_TABLES:
        if table.name in existing:
            table_type, columns = existing[table.name]
            if reason := foreign_table_reason(table, table_type, columns):
                (path,) = con.execute(
                    "select path from duckdb_databases() where database_name = current_database()").fetchone()
                raise ForeignTableError(str(path), table.name, reason)
    if existing.get("forecast_vs_actual", ("VIEW",))[0] != "VIEW":
        (path,) = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
        raise ForeignTableError(str(path), "forecast_vs_actual", "safestock keeps a view of this name")
    con.execute(schema_ddl())
    for table in OUTPUT_TABLES:
        if table.name in existing and columns_to_widen(table, existing[table.name][1]):
            con.execute(widen_columns_ddl(table, existing[table.name][1]))  # registry names and types only
    con.execute(sql("schema_views"))


@contextmanager
def run_lock(db_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``<db>.lock`` (an flock) for the whole run; raise RunInProgressError if taken.

    The lock file records the holder's pid and start time so the second run can say who holds
    it. flock is released by the kernel when the holder dies, so a killed run never leaves a
    stale lock.
    """
    lock_path = Path(f"{db_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+", encoding="utf-8")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    try:
                        holder = json.loads(handle.read() or "{}")
                    except json.JSONDecodeError:
                        holder = {}
                    raise RunInProgressError(db_path, holder) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started_at": utc_now().isoformat(timespec="seconds")}))
        handle.flush()
        yield
    finally:
        handle.close()


def start_run(db_path: Path, as_of: pd.Timestamp, input_dir: str, config: Mapping[str, object],
              *, wait_seconds: float = 0.0) -> RunRecord:
    """Insert a 'running' row for a new attempt (caller holds the run lock); waits up to
    ``wait_seconds`` for a database file another process holds (then DatabaseBusyError)."""
    started_at = utc_now()
    run_id = f"{pd.Timestamp(as_of):%Y-%m-%d}_{started_at:%Y%m%dT%H%M%S%f}"
    with connect(db_path, wait_seconds=wait_seconds) as con:
        con.execute(sql("run_mark_abandoned"), {"now": started_at})
        con.execute(
            sql("run_start"),
            {
                "run_id": run_id,
                "as_of": pd.Timestamp(as_of).date(),
                "started_at": started_at,
                "input_dir": input_dir,
                "pid": os.getpid(),
                "config": json.dumps(config, default=str, sort_keys=True),
            },
        )
    return RunRecord(run_id=run_id, as_of=pd.Timestamp(as_of), started_at=started_at)


def fail_run(db_path: Path, run_id: str, error: str, *, wait_seconds: float = FAIL_RECORD_WAIT_SECONDS) -> bool:
    """Record a failed attempt (its outputs were never written); True when recorded.

    When another process still holds the file after ``wait_seconds`` the row stays 'running' and
    False is returned: the next run marks it failed ("abandoned", sql/run_mark_abandoned.sql).
    The caller's own error is what matters, so a busy file never replaces it."""
    try:
        with connect(db_path, wait_seconds=wait_seconds) as con:
            con.execute(sql("run_fail"), {"run_id": run_id, "finished_at": utc_now(), "error": error[:4000]})
    except DatabaseBusyError:
        return False
    return True


def check_frame(table: OutputTable, frame: pd.DataFrame) -> None:
    """Refuse a frame with rows that lacks one of the table's non-nullable columns.

    Nullable columns a frame lacks are written as NULL; columns the table does not have are not
    written. A frame without rows writes nothing and is not checked.
    """
    if frame.empty:
        return
    for column in table.columns:
        if not column.nullable and column.name not in frame.columns:
            raise ValueError(
                f"output table {table.name!r}: the frame has no column {column.name!r}, which may not be NULL"
            )


def _insert_frame(con: duckdb.DuckDBPyConnection, table: OutputTable, frame: pd.DataFrame) -> None:
    """Insert the frame's columns that the registered table has, matched by name.

    A failed insert aborts the transaction; the database's own error is raised (an I/O error as
    is, so the write can be retried; any other one as OutputWriteError naming the table), never
    the "transaction is aborted" that a clean-up statement would raise after it."""
    check_frame(table, frame)
    if frame.empty:
        return
    columns = [name for name in table.column_names if name in frame.columns]
    con.register("incoming_frame", frame[columns])
    quoted = ", ".join(f'"{c}"' for c in columns)
    try:
        con.execute(f'insert into "{table.name}" ({quoted}) select {quoted} from incoming_frame')
    except duckdb.Error as error:
        if isinstance(error, duckdb.IOException):
            raise
        raise OutputWriteError(table.name, f"{type(error).__name__}: {error}") from error
    con.unregister("incoming_frame")  # on failure the connection is rolled back and closed instead


def write_run(
    db_path: Path,
    run: RunRecord,
    outputs: Mapping[str, pd.DataFrame],
    sales_weekly: pd.DataFrame,
    summary: Mapping[str, object],
    *,
    wait_seconds: float = 0.0,
    history: SalesHistoryUpdate | None = None,
) -> list[str]:
    """Write all outputs of ``run`` atomically and supersede earlier runs for the same as_of.

    ``outputs`` maps names of the registry's per-run tables (``tables.RUN_TABLES``) to frames
    without ``run_id``; each frame is checked against its table's columns (``check_frame``).
    Returns the ids of the superseded runs. Either everything is committed or nothing is; the
    error raised is the one that stopped the write (a failed rollback after it is not reported:
    the uncommitted changes are discarded when the connection closes). Waits up to
    ``wait_seconds`` for a database file another process holds (then DatabaseBusyError).
    ``history``: the run's pull into ``sales_history`` (``storage.history``), in the same transaction.
    """
    unknown = set(outputs) - set(RUN_TABLES)
    if unknown:
        raise ValueError(f"not registered per-run output tables: {sorted(unknown)}")
    with connect(db_path, wait_seconds=wait_seconds) as con:
        con.begin()
        try:
            superseded = [
                row[0]
                for row in con.execute(
                    sql("runs_superseded"), {"as_of": run.as_of.date(), "run_id": run.run_id}
                ).fetchall()
            ]
            for table in per_run_tables():
                if superseded:
                    con.execute(f'delete from "{table.name}" where run_id in (select unnest(?))', [superseded])
                if table.name in outputs:
                    _insert_frame(con, table, outputs[table.name].assign(run_id=run.run_id))
            if superseded:
                con.execute(
                    "update runs set status = 'superseded' where run_id in (select unnest(?))", [superseded]
                )
            con.register("incoming_sales_weekly", sales_weekly)
            if not sales_weekly.empty:
                con.execute(sql("sales_weekly_replace"))
            con.unregister("incoming_sales_weekly")
            if history is not None:
                write_history(con, history, run.started_at)
            con.execute(
                sql("run_succeed"),
                {"run_id": run.run_id, "finished_at": utc_now(), **summary},
            )
            con.commit()
        except BaseException:
            try:
                con.rollback()
            except duckdb.Error:  # e.g. "cannot rollback - no transaction is active" after a failed commit
                pass
            raise
    return superseded


def latest_run_id(db_path: Path) -> str | None:
    """The newest succeeded run in the database, or None."""
    with connect(db_path, read_only=True) as con:
        row = con.execute(sql("latest_run")).fetchone()
    return None if row is None else str(row[0])
