"""The DuckDB results database: schema, run records, the run lock and the atomic write.

The tables are those of the registry (``storage.tables``; DDL from ``storage.schema``).
A run writes nothing but its ``runs`` row until it has computed everything; then all of its
output tables are written in ONE transaction, together with marking earlier runs for the same
``as_of`` as superseded (their rows deleted). A crash or an error before that commit leaves the
previous results untouched. Connections are opened only for those short write windows, so
notebooks and report readers can open the file between them.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.sqlfiles import sql
from safestock.pipelines.storage.records import RunRecord
from safestock.pipelines.storage.schema import schema_ddl
from safestock.pipelines.storage.tables import RUN_TABLES, OutputTable, per_run_tables


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


def utc_now() -> datetime:
    """Current UTC time without tzinfo (DuckDB TIMESTAMP)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def connect(db_path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the results database, creating the schema when writing."""
    if read_only:
        return duckdb.connect(str(db_path), read_only=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    create_schema(con)
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registered tables (adding columns an older safestock's database lacks), then the views."""
    con.execute(schema_ddl())
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


def start_run(db_path: Path, as_of: pd.Timestamp, input_dir: str, config: Mapping[str, object]) -> RunRecord:
    """Insert a 'running' row for a new attempt (caller holds the run lock)."""
    started_at = utc_now()
    run_id = f"{pd.Timestamp(as_of):%Y-%m-%d}_{started_at:%Y%m%dT%H%M%S%f}"
    with connect(db_path) as con:
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


def fail_run(db_path: Path, run_id: str, error: str) -> None:
    """Record a failed attempt; its outputs were never written."""
    with connect(db_path) as con:
        con.execute(sql("run_fail"), {"run_id": run_id, "finished_at": utc_now(), "error": error[:4000]})


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
    """Insert the frame's columns that the registered table has, matched by name."""
    check_frame(table, frame)
    if frame.empty:
        return
    columns = [name for name in table.column_names if name in frame.columns]
    con.register("incoming_frame", frame[columns])
    try:
        quoted = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'insert into "{table.name}" ({quoted}) select {quoted} from incoming_frame')
    finally:
        con.unregister("incoming_frame")


def write_run(
    db_path: Path,
    run: RunRecord,
    outputs: Mapping[str, pd.DataFrame],
    sales_weekly: pd.DataFrame,
    summary: Mapping[str, object],
) -> list[str]:
    """Write all outputs of ``run`` atomically and supersede earlier runs for the same as_of.

    ``outputs`` maps names of the registry's per-run tables (``tables.RUN_TABLES``) to frames
    without ``run_id``; each frame is checked against its table's columns (``check_frame``).
    Returns the ids of the superseded runs. Either everything is committed or nothing is.
    """
    unknown = set(outputs) - set(RUN_TABLES)
    if unknown:
        raise ValueError(f"not registered per-run output tables: {sorted(unknown)}")
    with connect(db_path) as con:
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
            con.execute(
                sql("run_succeed"),
                {"run_id": run.run_id, "finished_at": utc_now(), **summary},
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return superseded


def latest_run_id(db_path: Path) -> str | None:
    """The newest succeeded run in the database, or None."""
    with connect(db_path, read_only=True) as con:
        row = con.execute(sql("latest_run")).fetchone()
    return None if row is None else str(row[0])
