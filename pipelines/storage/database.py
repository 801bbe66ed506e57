"""The DuckDB results database: schema, run records, the run lock and the atomic write.

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

# Tables holding one set of rows per run, keyed by run_id (the public output interface).
RUN_TABLES: tuple[str, ...] = (
    "sku_class",
    "forecasts",
    "forecast_accuracy",
    "forecast_coverage",
    "lead_times",
    "inventory_policy",
    "backorder_risk",
    "projection",
    "supplier_risk",
    "purchase_recommendations",
    "data_quality",
    "items_snapshot",
    "suppliers_snapshot",
    "inventory_snapshot",
    "purchase_orders_snapshot",
    "policy_backtest",
)


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
    con.execute(sql("schema"))
    con.execute(sql("schema_migrations"))
    return con


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


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return [row[0] for row in rows]


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert the frame's columns that the table has, matched by name."""
    if frame.empty:
        return
    columns = [c for c in _table_columns(con, table) if c in frame.columns]
    con.register("incoming_frame", frame[columns])
    try:
        quoted = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'insert into "{table}" ({quoted}) select {quoted} from incoming_frame')
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

    ``outputs`` maps table names from RUN_TABLES to frames without ``run_id``. Returns the ids
    of the superseded runs. Either everything is committed or nothing is.
    """
    unknown = set(outputs) - set(RUN_TABLES)
    if unknown:
        raise ValueError(f"not output tables: {sorted(unknown)}")
    with connect(db_path) as con:
        con.begin()
        try:
            superseded = [
                row[0]
                for row in con.execute(
                    sql("runs_superseded"), {"as_of": run.as_of.date(), "run_id": run.run_id}
                ).fetchall()
            ]
            for table in RUN_TABLES:
                if superseded:
                    con.execute(f'delete from "{table}" where run_id in (select unnest(?))', [superseded])
                if table in outputs:
                    _insert_frame(con, table, outputs[table].assign(run_id=run.run_id))
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
