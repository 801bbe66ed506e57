"""The accumulated daily sales history (`sales_history`, docs/postgres-source.md "History").

Every run feeds it: the loader writes the validated sales of its pull, one row per sku and day
(`sql/sales_history_export.sql`), to a Parquet file, and `database.write_run` replaces the days
the pull covers in the SAME transaction as the run's outputs (`sql/sales_history_delete.sql`, then `_insert.sql`),
so a run that fails leaves the history as it was.

The window a pull replaces (`SalesHistoryUpdate.replace_from` .. `replace_to`):
- an incremental PostgreSQL pull reads the sales dated after `watermark − lookback_days`, the
  watermark being the newest stored day of that source; it replaces every stored day from the
  first pulled day on (no end): a late correction replaces the old value, a row the source
  deleted in the window disappears, nothing is stored twice;
- a full PostgreSQL pull (first run, `--full-reload`, `[source] full_reload`) replaces from its
  first sales day on, so days the source no longer keeps stay in the history;
- a file run replaces the days from the files' first to their last sales day.
Only the stored rows of the run's items are replaced (a run over part of the SKUs never erases
the others' history, as `sales_weekly`).

Beside the days, `sales_history_weekly` keeps each sku-week's total (ISO weeks, Monday: the
run's weeks, fixed, no setting changes them), maintained by the same write: the weeks the pull
touches (from the week of `replace_from` to the week of `replace_to`, of the run's items and the
pulled SKUs) are re-aggregated from the days as the write left them; the other weeks are not read.
A database whose weekly totals do not cover the history (`sql/sales_history_weekly_sync.sql`:
written before the table existed) gets them rebuilt from every day by its first write. A file run
plans from its files and never reads them: its write empties them (cheaper than re-aggregating the
weeks of its whole files), and the next database run reads from the days and rebuilds them.

A PostgreSQL run plans from the history as it will be after its pull (`weekly_sales`, the weekly
rule of `sql/sales_weekly_aggregate.sql`): from the stored weekly totals with the touched weeks
re-aggregated (`sql/sales_history_weekly.sql`), or, while they do not cover the history, from every
stored day (`sql/sales_history_weekly_all_days.sql`); both give the same rows. A file run plans
from its files, exactly as before the history existed.
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.inputs import DataQualityNote
from safestock.pipelines.sqlfiles import sql

#: Loader notes (pipelines/inputs/load.py) that describe the sales read, restated for the history.
AGGREGATED_NOTE = "sales row(s) aggregated into"
WITHOUT_SALES_NOTE = "item(s) without sales in the history"


@dataclass(frozen=True)
class SalesHistoryUpdate:
    """One pull on its way into `sales_history`: where it came from, the Parquet file of its
    sku-day rows, the window of stored days it replaces and what it held."""

    source: str  # the PostgreSQL URI (no password) or the input folder
    path: Path  # Parquet: sku, date, quantity (one row per sku and day)
    skus_path: Path  # Parquet: sku, the items the pull speaks for (the run's item master)
    replace_from: datetime.date | None  # first stored day replaced (None: nothing replaced)
    replace_to: datetime.date | None  # last stored day replaced (None: no end)
    sku_days: int  # sku-day rows the pull writes
    source_rows: int  # the sales rows (lines) read, behind those sku-days
    pulled_from: datetime.date | None  # the incremental pull's first day (None: a full pull)
    #: True (a database source, which plans from them): the write keeps `sales_history_weekly` in
    #: step; False (a file run, which plans from its files): the write empties it instead.
    keeps_weekly_totals: bool = True

    def parameters(self) -> dict[str, object]:
        return {"path": str(self.path), "skus_path": str(self.skus_path), "replace_from": self.replace_from,
                "replace_to": self.replace_to}


@dataclass
class PullPlan:
    """What a run reads into the history, decided before it reads: its source name, the first
    day of an incremental pull (None: everything) and a temporary folder for the pulled sku-day
    rows (removed after the write, or when the plan is dropped)."""

    source: str
    sales_from: datetime.date | None
    from_database: bool
    folder: tempfile.TemporaryDirectory = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="safestock-history-"))

    @property
    def path(self) -> Path:
        """The Parquet file the loader writes the pulled sku-day rows to."""
        return Path(self.folder.name) / "sales_daily.parquet"


def plan_pull(db_path: Path, source: str, *, from_database: bool, lookback_days: int, full_reload: bool,
              wait_seconds: float = 0.0) -> PullPlan:
    """The pull of a run over `source`: a database source reads from `pull_start` of its
    watermark in `db_path`; files are always read whole."""
    if not from_database:
        return PullPlan(source, None, False)
    last = None if full_reload else watermark(db_path, source, wait_seconds=wait_seconds)
    return PullPlan(source, pull_start(last, lookback_days, full_reload), True)


def pull_start(watermark: datetime.date | None, lookback_days: int, full_reload: bool) -> datetime.date | None:
    """The first day an incremental pull reads: the day after `watermark − lookback_days` (the
    pull is `date > watermark − lookback_days`); None (everything) without a watermark or on a
    full reload."""
    if watermark is None or full_reload:
        return None
    return watermark - datetime.timedelta(days=lookback_days - 1)


def _has_history_table(con: duckdb.DuckDBPyConnection, name: str = "sales_history") -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = $name "
                            "and database_name = current_database()", {"name": name}).fetchone()[0])


def weekly_totals_in_sync(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `sales_history_weekly` covers `sales_history` (its stored days add up to the
    history's rows, `sql/sales_history_weekly_sync.sql`); False without either table."""
    if not (_has_history_table(con) and _has_history_table(con, "sales_history_weekly")):
        return False
    return bool(con.execute(sql("sales_history_weekly_sync")).fetchone()[0])


def watermark(db_path: Path, source: str, *, wait_seconds: float = 0.0) -> datetime.date | None:
    """The newest stored day of `source` in `db_path`'s history (None: no database file yet, no
    history table, or nothing from this source)."""
    from safestock.pipelines.storage.database import connect

    if not Path(db_path).exists():
        return None
    with connect(Path(db_path), read_only=True, wait_seconds=wait_seconds) as con:
        if not _has_history_table(con):
            return None
        (day,) = con.execute(sql("sales_history_watermark"), {"source": source}).fetchone()
    return day


def describe_pull(path: Path, source: str, pulled_from: datetime.date | None, *, open_end: bool,
                  skus: Sequence[str]) -> SalesHistoryUpdate:
    """The update of one pull written to `path`: an incremental pull (`pulled_from` given) replaces
    from `pulled_from` on; a full one from its first day, to its last day for files (`open_end`
    False) or without end for a database; in both, only the stored rows of `skus` (the run's
    items, written beside `path` as `skus.parquet`): a run over part of the SKUs never erases
    the others' history. A database pull (`open_end`) keeps the weekly totals in step; a file
    run's write empties them (`keeps_weekly_totals`)."""
    skus_path = Path(path).with_name("skus.parquet")
    pd.DataFrame({"sku": pd.Series(list(skus), dtype=object)}).drop_duplicates().to_parquet(skus_path, index=False)
    with duckdb.connect() as con:
        sku_days, source_rows, first_day, last_day = con.execute(sql("sales_history_pulled"),
                                                                 {"path": str(path)}).fetchone()
    replace_from = pulled_from if pulled_from is not None else first_day
    replace_to = None if open_end or replace_from is None else last_day
    return SalesHistoryUpdate(source, Path(path), skus_path, replace_from, replace_to, int(sku_days),
                              int(source_rows), pulled_from, keeps_weekly_totals=open_end)


def weekly_sales(db_path: Path, update: SalesHistoryUpdate, as_of: pd.Timestamp, *,
                 wait_seconds: float = 0.0) -> pd.DataFrame:
    """Weekly sales (sku, week, quantity) of the history as it will be once `update` is written,
    ordered by sku and week; the database is only read. From the stored weekly totals with the
    weeks the update touches re-aggregated (`sql/sales_history_weekly.sql`), or from every stored
    day while the totals do not cover the history (`sql/sales_history_weekly_all_days.sql`, a
    database not yet back-filled): the same rows. The run has created the schema (`start_run`) before."""
    from safestock.pipelines.storage.database import connect

    with connect(Path(db_path), read_only=True, wait_seconds=wait_seconds) as con:
        query = "sales_history_weekly" if weekly_totals_in_sync(con) else "sales_history_weekly_all_days"
        return con.execute(sql(query), {**update.parameters(), "as_of": pd.Timestamp(as_of).date()}).df()


def write_history(con: duckdb.DuckDBPyConnection, update: SalesHistoryUpdate, loaded_at: datetime.datetime) -> None:
    """Replace the update's window of `sales_history` by its rows and re-aggregate the weeks it
    touched in `sales_history_weekly` (`sql/sales_history_weekly_refresh_*.sql`; all weeks,
    `sql/sales_history_weekly_rebuild.sql`, when the totals did not cover the history before), on
    `con`'s open transaction (`database.write_run`): committed with the run's outputs or not at all.
    A file run's update (`keeps_weekly_totals` False) empties the weekly totals instead: it plans
    from its files and never reads them, and re-aggregating the weeks of three years of files
    would cost every file run seconds (docs/postgres-source.md "Speed"); the next database run
    reads from the days and rebuilds them."""
    in_sync = update.keeps_weekly_totals and weekly_totals_in_sync(con)
    window = {"replace_from": update.replace_from, "replace_to": update.replace_to,
              "skus_path": str(update.skus_path)}
    con.execute(sql("sales_history_delete"), window)
    con.execute(sql("sales_history_insert"), {"path": str(update.path), "source": update.source,
                                              "loaded_at": loaded_at})
    if not update.keeps_weekly_totals:
        con.execute(sql("sales_history_weekly_clear"))
        return
    if not in_sync:
        con.execute(sql("sales_history_weekly_rebuild"))
        return
    touched = {**window, "path": str(update.path)}
    con.execute(sql("sales_history_weekly_refresh_delete"), touched)
    con.execute(sql("sales_history_weekly_refresh_insert"), touched)


def history_notes(notes: list[DataQualityNote], weekly: pd.DataFrame, item_skus: pd.Series,
                  update: SalesHistoryUpdate) -> list[DataQualityNote]:
    """The loader's sales notes restated for a run that plans from the history: after an
    incremental pull the note on the rows aggregated says which days were pulled and how many
    sku-weeks the history gives, and the count of items without sales is taken over the history
    (not over the pulled days). A full pull's notes stay as they are."""
    if update.pulled_from is None:
        return notes
    with_sales = set(weekly["sku"].drop_duplicates().tolist())
    without_sales = int((~item_skus.isin(with_sales)).sum())
    restated = []
    for note in notes:
        if WITHOUT_SALES_NOTE in note.message:
            if without_sales:
                restated.append(dataclasses.replace(note, message=f"{without_sales} {WITHOUT_SALES_NOTE}",
                                                    rows=without_sales))
            continue
        if AGGREGATED_NOTE in note.message:
            note = dataclasses.replace(note, message=(
                f"{note.message} (incremental pull of the sales dated from {update.pulled_from} on, "
                f"{update.sku_days} sku-day(s); the forecast reads sales_history: {len(weekly)} sku-week total(s))"))
        restated.append(note)
    return restated
