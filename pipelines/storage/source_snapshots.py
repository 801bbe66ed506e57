"""The last pulled snapshot of the PostgreSQL source's slowly changing tables (items, suppliers,
stock, purchase orders), kept in the DuckDB file so that a weekly run reads only the rows changed
since the last pull (docs/postgres-source.md, "Incremental read of the other tables").

A table whose `[source.tables.<table>]` names an `updated_column` (a date or timestamp the source
sets on every insert and update) is read incrementally:

1. `plan_snapshots` reads, for each such table, the stored state (`source_snapshot_state`): the
   source, the fingerprint of the table's SELECT (table or query, column mapping, key and
   updated column: a changed mapping or a column added at the source means a whole read), the
   watermark (the newest `updated_column` value of the snapshot) and the runs since the last
   whole read. A table is read incrementally unless there is no snapshot, the source or SELECT
   changed, the run is a full reload (`--full-reload`, `[source] full_reload`) or it is due for
   its periodic whole read (every `[source] full_refresh_runs` runs; 0 = never);
2. the pull reads only the rows with `updated_column >= watermark - lookback_days`
   (`sql/source_postgres_changed_since.sql`), and `merge` puts them into the snapshot by the
   table's key (the configured `key`, or the contract key mapped): the stored rows whose key was
   not pulled, then the pulled rows (`sql/source_snapshot_merge.sql`). The merged table is what
   the loader validates, exactly as a whole read;
3. `write` stores the merged tables as the new snapshots and their state in ONE transaction,
   only after every check passed (a failing check writes nothing: the next run pulls the same
   changes again).

Rows deleted at the source are not seen by an incremental read (nothing changed is left to
pull): they stay in the snapshot until the table's next whole read. Rows with no
`updated_column` value are only re-read by a whole read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from safestock.pipelines.config import SourceConfig
from safestock.pipelines.inputs.contract import quote_identifier
from safestock.pipelines.inputs.postgres import KEY_PREFIX, PulledTable
from safestock.pipelines.sqlfiles import sql

STATE_TABLE = "source_snapshot_state"
SNAPSHOT_PREFIX = "source_snapshot_"


def snapshot_table(table: str) -> str:
    """The DuckDB table holding the snapshot of input table `table` (`source_snapshot_items`)."""
    return f"{SNAPSHOT_PREFIX}{table}"


@dataclass(frozen=True)
class StoredSnapshot:
    """One table's state: its SELECT's fingerprint, watermark and runs since its last whole read."""

    fingerprint: str
    watermark: str | None
    runs_since_full: int


@dataclass
class SnapshotPlan:
    """The snapshots a run reads and writes: the results database, the source, and per input
    table with an `updated_column` the stored state it may read incrementally from (absent: the
    table is read whole). Made by `plan_snapshots`; `pull_tables` receives `incremental`."""

    db_path: Path
    source: str
    stored: dict[str, StoredSnapshot] = field(default_factory=dict)
    wait_seconds: float = 0.0

    @property
    def incremental(self) -> dict[str, tuple[str, str]]:
        """Input table -> (fingerprint, watermark) of the tables that may be read incrementally."""
        return {table: (state.fingerprint, state.watermark) for table, state in self.stored.items()
                if state.watermark is not None}


def plan_snapshots(db_path: Path, source_uri: str, source: SourceConfig, *, full_reload: bool,
                   wait_seconds: float = 0.0) -> SnapshotPlan:
    """The incremental reads of a run (see the module docstring): the stored state of every table
    with an `updated_column`, unless the run is a full reload, the snapshot was pulled from another
    source, or its periodic whole read is due (`full_refresh_runs`)."""
    from safestock.pipelines.storage.database import connect

    plan = SnapshotPlan(Path(db_path), source_uri, wait_seconds=wait_seconds)
    tracked = [table for table, entry in source.tables.items() if entry.get("updated_column")]
    if full_reload or not tracked or not Path(db_path).exists():
        return plan
    with connect(Path(db_path), read_only=True, wait_seconds=wait_seconds) as con:
        if not con.execute(sql("source_snapshot_state_exists"), {"state": STATE_TABLE}).fetchone()[0]:
            return plan
        rows = con.execute(sql("source_snapshot_state_read"), {"source": source_uri}).fetchall()
    refresh = source.full_refresh_runs
    for table, fingerprint, watermark, runs in rows:
        due = refresh > 0 and runs + 1 >= refresh
        if table in tracked and not due:
            plan.stored[table] = StoredSnapshot(fingerprint, watermark, int(runs))
    return plan


def merge(database: Path, plan: SnapshotPlan, pulled: dict[str, PulledTable]) -> None:
    """Each incrementally pulled table of the pulled DuckDB file (`database`) becomes the whole
    table: the stored snapshot's rows whose key was not pulled, then the pulled rows, numbered anew
    in that order (`sql/source_snapshot_merge.sql`)."""
    merged = [(table, entry) for table, entry in pulled.items() if entry.changed_since is not None]
    if not merged:
        return
    with duckdb.connect(str(database)) as con:
        con.execute("attach $path as stored (read_only)", {"path": str(plan.db_path)})
        for table, entry in merged:
            keys = [quote_identifier(f"{KEY_PREFIX}{index}") for index in range(len(entry.pull.key))]
            changed, snapshot = quote_identifier(table), "stored." + quote_identifier(snapshot_table(table))
            key_match = " and ".join(f"changed.{key} is not distinct from snapshot.{key}" for key in keys)
            con.execute(sql("source_snapshot_merge").format(changed=changed, snapshot=snapshot, key_match=key_match))
            con.execute(sql("source_snapshot_merge_replace").format(changed=changed))
            entry.rows = con.table(table).count("*").fetchall()[0][0]


def write(database: Path, plan: SnapshotPlan, pulled: dict[str, PulledTable],
          pulled_at: datetime.datetime) -> None:
    """Store the pulled (merged) tables with an `updated_column` as the new snapshots, with their
    state (fingerprint, watermark = newest `updated_column` value, runs since the last whole read),
    all in one transaction of the results database. Called only once every check has passed."""
    from safestock.pipelines.storage.database import connect

    tracked = {table: entry for table, entry in pulled.items() if entry.pull.updated is not None}
    if not tracked:
        return
    with connect(plan.db_path, wait_seconds=plan.wait_seconds) as con:
        con.execute("attach $path as pulled (read_only)", {"path": str(database)})
        con.execute(sql("source_snapshot_state_create"))
        con.begin()
        try:
            for table, entry in tracked.items():
                snapshot = quote_identifier(snapshot_table(table))
                con.execute(sql("source_snapshot_store").format(snapshot=snapshot, changed=quote_identifier(table)))
                stored = plan.stored.get(table)
                runs = stored.runs_since_full + 1 if entry.changed_since is not None and stored else 0
                con.execute(sql("source_snapshot_state_write").format(snapshot=snapshot),
                            {"source": plan.source, "input_table": table, "fingerprint": entry.fingerprint,
                             "runs": runs, "pulled_at": pulled_at, "rows": entry.rows})
            con.commit()
        except BaseException:
            con.rollback()
            raise
