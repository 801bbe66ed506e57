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
3. `write` stores the snapshots and their state in ONE transaction, only after every check
   passed (a failing check writes nothing: the next run pulls the same changes again): a whole
   read replaces them, an incremental read deletes the stored rows whose key it pulled and
   inserts the pulled rows (`sql/source_snapshot_store_changed.sql`), instead of rewriting the
   whole table.

The purchase-order lines (TYPED_TABLES: the big table, millions of lines, which no other input
table refers to, whose rows get no default notes and which does not give as_of) are also kept
**typed** as the loader typed them after their checks (`source_snapshot_typed_purchase_orders`).
An incremental read then checks only the pulled rows: the loader reads them alone (numbered after
the typed snapshot's lines, `sql/source_snapshot_changed_only.sql`; the whole merged table is
never built, only its lines and keys for the messages) and `complete_frames` puts the stored
typed rows that were not pulled before them in its typed frame, which the stock-out inference,
the plausibility notes and the run use. What the pulled rows alone cannot show is counted first
over the kept rows (`sql/source_snapshot_purchase_orders_check.sql`: a contract key repeated by a
pulled row, a sku or supplier no longer in this run's items or suppliers); any such row, or a
missing typed snapshot, makes the run check the merged table whole, so the issues are always
those of a whole read.

Rows deleted at the source are not seen by an incremental read (nothing changed is left to
pull): they stay in the snapshot until the table's next whole read. Rows with no
`updated_column` value are only re-read by a whole read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from safestock.pipelines.config import SourceConfig
from safestock.pipelines.inputs.contract import quote_identifier
from safestock.pipelines.inputs.postgres import KEY_PREFIX, PulledTable
from safestock.pipelines.sqlfiles import sql

STATE_TABLE = "source_snapshot_state"
SNAPSHOT_PREFIX = "source_snapshot_"
TYPED_PREFIX = "source_snapshot_typed_"
#: Input tables kept typed beside their pulled snapshot (see the module docstring), with the SQL
#: file counting the kept rows that the pulled rows' checks alone would not see.
TYPED_TABLE_CHECKS: dict[str, str] = {"purchase_orders": "source_snapshot_purchase_orders_check"}
TYPED_TABLES: tuple[str, ...] = tuple(TYPED_TABLE_CHECKS)
#: The pulled rows of an incremental read, kept in the pulled file beside the merged table.
PULLED_ROWS_PREFIX = "__pulled_"
#: The merged table while the loader reads only the pulled rows.
MERGED_PREFIX = "__merged_"


def snapshot_table(table: str) -> str:
    """The DuckDB table holding the snapshot of input table `table` (`source_snapshot_items`)."""
    return f"{SNAPSHOT_PREFIX}{table}"


def typed_snapshot_table(table: str) -> str:
    """The DuckDB table holding the typed snapshot of input table `table` (TYPED_TABLES)."""
    return f"{TYPED_PREFIX}{table}"


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
    #: Set by `merge`: per table of TYPED_TABLES whose pulled rows alone are checked, the stored
    #: typed rows that were not pulled (contract columns, in their merged order).
    typed_kept: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: ... and the offset of their pulled rows' lines (the typed snapshot's last line - 1).
    typed_shift: dict[str, int] = field(default_factory=dict)

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


def _key_match(entry: PulledTable) -> str:
    """`changed."__row_key_0" is not distinct from snapshot."__row_key_0" and …` of a pulled table."""
    keys = [quote_identifier(f"{KEY_PREFIX}{index}") for index in range(len(entry.pull.key))]
    return " and ".join(f"changed.{key} is not distinct from snapshot.{key}" for key in keys)


def _has_table(con: duckdb.DuckDBPyConnection, database: str, name: str) -> bool:
    return con.execute("select count(*) from duckdb_tables() where database_name = $database and table_name = $name",
                       {"database": database, "name": name}).fetchone()[0] > 0


def merge(database: Path, plan: SnapshotPlan, pulled: dict[str, PulledTable]) -> None:
    """Each incrementally pulled table of the pulled DuckDB file (`database`) becomes the whole
    table: the stored snapshot's rows whose key was not pulled, then the pulled rows, numbered anew
    in that order (`sql/source_snapshot_merge.sql`); the pulled rows stay as `__pulled_<table>`.
    A table of TYPED_TABLES with a typed snapshot whose kept rows pass its check
    (`sql/source_snapshot_purchase_orders_check.sql`, over the tables merged before it) is instead
    left to the loader as its pulled rows alone (`_typed_merge`)."""
    merged = [(table, entry) for table, entry in pulled.items() if entry.changed_since is not None]
    if not merged:
        return
    with duckdb.connect(str(database)) as con:
        con.execute("attach $path as stored (read_only)", {"path": str(plan.db_path)})
        for table, entry in merged:  # TABLES order: items and suppliers before purchase_orders
            changed, pulled_rows = quote_identifier(table), quote_identifier(f"{PULLED_ROWS_PREFIX}{table}")
            key_match = _key_match(entry)
            con.execute(sql("source_snapshot_set_aside").format(changed=changed, pulled_rows=pulled_rows))
            if table in TYPED_TABLES and _typed_merge(con, table, entry, plan):
                continue
            snapshot = "stored." + quote_identifier(snapshot_table(table))
            con.execute(sql("source_snapshot_merge").format(changed=pulled_rows, snapshot=snapshot,
                                                            key_match=key_match))
            con.execute(sql("source_snapshot_merge_replace").format(changed=changed))
            entry.rows = con.table(table).count("*").fetchall()[0][0]


def _typed_merge(con: duckdb.DuckDBPyConnection, table: str, entry: PulledTable, plan: SnapshotPlan) -> bool:
    """Check only the pulled rows of `table` when its typed snapshot exists and no kept row is
    affected by them (`TYPED_TABLE_CHECKS`): the loader's `<table>` is then the pulled rows, numbered
    after the typed snapshot's last line (its kept rows keep their stored lines, so nothing is
    renumbered or sorted), `plan.typed_kept` gets the kept typed rows, and `__merged_<table>` the
    line and key of every merged row, for the messages (`merged_back`). False: merge as usual."""
    if not _has_table(con, "stored", typed_snapshot_table(table)):
        return False
    changed, snapshot = (quote_identifier(f"{PULLED_ROWS_PREFIX}{table}"),
                         "stored." + quote_identifier(typed_snapshot_table(table)))
    key_match = _key_match(entry)
    if any(con.execute(sql(TYPED_TABLE_CHECKS[table]).format(
            changed=changed, snapshot=snapshot, key_match=key_match)).fetchone()):
        return False  # a kept row the pulled rows affect: the merged table is checked whole
    (last,) = con.execute(sql("source_snapshot_last_line").format(snapshot=snapshot)).fetchone()
    kept = con.execute(sql("source_snapshot_typed_kept").format(
        changed=changed, snapshot=snapshot, key_match=key_match)).df()
    pulled_rows, changed, merged = changed, quote_identifier(table), quote_identifier(f"{MERGED_PREFIX}{table}")
    con.execute(sql("source_snapshot_changed_only").format(changed=changed, pulled_rows=pulled_rows),
                {"shift": last - 1})
    con.execute(sql("source_snapshot_typed_keys").format(merged=merged, snapshot=snapshot, changed=pulled_rows,
                                                         key_match=key_match), {"shift": last - 1})
    plan.typed_kept[table] = kept
    plan.typed_shift[table] = last - 1
    entry.rows = len(kept) + entry.rows
    return True


def merged_back(database: Path, plan: SnapshotPlan) -> None:
    """After the checks of the pulled rows alone: the merged rows' lines and keys (`__merged_<table>`)
    take the table's place in the pulled file, where messages look up a named line's key
    (`sql/source_snapshot_merged_back.sql`)."""
    if not plan.typed_kept:
        return
    with duckdb.connect(str(database)) as con:
        for table in plan.typed_kept:
            changed, merged = quote_identifier(table), quote_identifier(f"{MERGED_PREFIX}{table}")
            con.execute(sql("source_snapshot_merged_back").format(changed=changed, merged=merged))


def complete_frames(plan: SnapshotPlan):
    """The loader's hook (`load_inputs(complete_frames=…)`) that puts the kept typed rows of each
    table in `plan.typed_kept` (with their stored lines) before the typed pulled rows (numbered
    after them); None when there are none."""
    if not plan.typed_kept:
        return None

    def completed(frames: dict[str, pd.DataFrame]) -> None:
        for table, kept in plan.typed_kept.items():
            checked = frames[table]
            # no pulled rows: the kept rows as stored (an empty frame's columns carry no string dtype)
            frames[table] = (pd.concat([kept.astype(checked.dtypes.to_dict()), checked], ignore_index=True)
                             if len(checked) else kept)

    return completed


def write(database: Path, plan: SnapshotPlan, pulled: dict[str, PulledTable],
          pulled_at: datetime.datetime, typed: dict[str, pd.DataFrame] | None = None) -> None:
    """Store the pulled tables with an `updated_column` as the new snapshots, with their state
    (fingerprint, watermark = newest `updated_column` value, runs since the last whole read), all
    in one transaction of the results database. Called only once every check has passed. A whole
    read replaces a snapshot (`sql/source_snapshot_store.sql`), an incremental read writes its
    pulled rows by key (`sql/source_snapshot_store_changed.sql`). `typed`: the loader's typed
    frames (in line order) of TYPED_TABLES, stored as their typed snapshots: whole after a whole
    check, the pulled rows by key after a check of the pulled rows alone."""
    from safestock.pipelines.storage.database import connect

    tracked = {table: entry for table, entry in pulled.items() if entry.pull.updated is not None}
    if not tracked:
        return
    typed = typed or {}
    with connect(plan.db_path, wait_seconds=plan.wait_seconds) as con:
        con.execute("attach $path as pulled (read_only)", {"path": str(database)})
        con.execute(sql("source_snapshot_state_create"))
        con.begin()
        try:
            for table, entry in tracked.items():
                snapshot = quote_identifier(snapshot_table(table))
                incremental = entry.changed_since is not None
                if incremental:
                    _store_changed(con, snapshot, f"pulled.{quote_identifier(PULLED_ROWS_PREFIX + table)}", entry)
                else:
                    con.execute(sql("source_snapshot_store").format(snapshot=snapshot, changed=quote_identifier(table)))
                if table in TYPED_TABLES and table in typed:
                    _store_typed(con, table, entry, typed[table], plan.typed_kept.get(table),
                                 plan.typed_shift.get(table, 0))
                stored = plan.stored.get(table)
                runs = stored.runs_since_full + 1 if incremental and stored else 0
                con.execute(sql("source_snapshot_state_write").format(snapshot=snapshot),
                            {"source": plan.source, "input_table": table, "fingerprint": entry.fingerprint,
                             "runs": runs, "pulled_at": pulled_at, "rows": entry.rows})
            con.commit()
        except BaseException:
            con.rollback()
            raise


def _store_changed(con: duckdb.DuckDBPyConnection, snapshot: str, changed: str, entry: PulledTable) -> None:
    """The rows `changed` (numbered as pulled) written into `snapshot` by key."""
    (last,) = con.execute(sql("source_snapshot_last_line").format(snapshot=snapshot)).fetchone()
    key_match = _key_match(entry)
    con.execute(sql("source_snapshot_store_changed").format(snapshot=snapshot, changed=changed, key_match=key_match),
                {"last": last})


def _store_typed(con: duckdb.DuckDBPyConnection, table: str, entry: PulledTable, frame: pd.DataFrame,
                 kept: pd.DataFrame | None, shift: int = 0) -> None:
    """The typed snapshot of `table`: the loader's typed frame (line order, lines 2, 3, …) with the
    keys of the pulled rows; whole, or, when only the pulled rows were checked (`kept`: the kept
    typed rows before them), those rows by key."""
    snapshot = quote_identifier(typed_snapshot_table(table))
    lines = (np.arange(2, len(frame) + 2, dtype=np.int64) if kept is None
             else np.concatenate([kept["__line"].to_numpy(dtype=np.int64),
                                  np.arange(len(kept), len(frame), dtype=np.int64) - len(kept) + 2 + shift]))
    typed_frame = frame.assign(__line=lines)
    con.register("typed_frame", typed_frame)
    try:
        changed = quote_identifier("typed_frame")
        if kept is None:
            pulled_rows = f"pulled.{quote_identifier(table)}"
            con.execute(sql("source_snapshot_typed_store").format(snapshot=snapshot, changed=changed,
                                                                  pulled_rows=pulled_rows))
            return
        pulled_rows = f"pulled.{quote_identifier(PULLED_ROWS_PREFIX + table)}"
        con.execute(sql("source_snapshot_typed_changed").format(changed=changed, pulled_rows=pulled_rows),
                    {"shift": shift})
        _store_changed(con, snapshot, quote_identifier("typed_changed"), entry)
        con.execute("drop table typed_changed")
    finally:
        con.unregister("typed_frame")
