"""Seconds of the sales history's big statements (issue 15, speed): a file run feeding the history,
and a run from the history turning it into weekly sales.

Builds, in a temporary folder, the sku-day Parquet a file run's loader exports
(`sql/sales_history_export.sql`) for `--skus` SKUs over `--days` days from 2023-11-27 (about half
the days sold, as benchmarks/incremental_pull.py), then times, `--repeat` times, as wall and CPU
seconds of this process (DuckDB's threads; steadier than wall time on a loaded machine):

1. writing those days into the history (storage/history.py `write_history`, one transaction,
   committed), cold (empty database) and warm (the same days stored once already), statement by
   statement: the export of the validated sku-days to Parquet, the days replaced
   (sql/sales_history_delete.sql, sql/sales_history_insert.sql), then for a file run the weekly
   totals emptied (sql/sales_history_weekly_clear.sql), for a full database pull of the same days
   the weekly totals of the touched weeks, here all, re-aggregated
   (sql/sales_history_weekly_refresh_*.sql: what a file run would pay if it kept them);
2. history -> weekly sales after an incremental pull of the last 21 days: from every stored day
   (sql/sales_history_weekly_all_days.sql, the query before the weekly totals, still the fallback of
   a database not yet back-filled) and from the stored weekly totals (sql/sales_history_weekly.sql),
   and the latter without its final `order by` (what sorting costs; not used). The frames must be
   equal, the unordered one once sorted (else flagged DIFFERENT FRAME). Also the one-time back-fill of the weekly
   totals of an older database (sql/sales_history_weekly_rebuild.sql).

Peak memory (ru_maxrss) printed at the end.

    .venv/bin/python benchmarks/history_speed.py --skus 20000
    flock /tmp/safestock-big.lock .venv/bin/python benchmarks/history_speed.py --skus 100000 --repeat 1
"""

from __future__ import annotations

import argparse
import datetime
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.sqlfiles import sql
from safestock.pipelines.storage import connect, history

FIRST_DAY = datetime.date(2023, 11, 27)


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


def _report(label: str, figures: list[tuple[float, float]]) -> None:
    walls, cpus = [wall for wall, _ in figures], [cpu for _, cpu in figures]
    print(f"  {label:62s} wall median {statistics.median(walls):6.2f} s  CPU median {statistics.median(cpus):6.2f} s"
          f"  (CPU runs: {', '.join(f'{cpu:.2f}' for cpu in cpus)})", flush=True)


def _sales_daily(con: duckdb.DuckDBPyConnection, skus: int, last_day: datetime.date) -> int:
    """The loader's temp table of validated sku-days (sku, day, quantity, lines)."""
    con.execute("create temp table sales_daily as select sku, day::date as day, (hash(sku, day) % 7)::double "
                "as quantity, 1::bigint as lines from (select printf('SKU%07d', i) as sku from range($skus) r(i)) "
                "cross join range($first::timestamp, $last::timestamp + interval 1 day, interval 1 day) d(day) "
                "where hash(day, sku) % 2 = 0", {"skus": skus, "first": FIRST_DAY, "last": last_day})
    return con.execute("select count(*) from sales_daily").fetchone()[0]


def _feed(update: history.SalesHistoryUpdate, db: Path) -> dict[str, tuple[float, float]]:
    """One write of `update` into `db`: `history.write_history`'s statements, one transaction."""
    window = {"replace_from": update.replace_from, "replace_to": update.replace_to, "skus_path": str(update.skus_path)}
    touched = {**window, "path": str(update.path)}
    figures = {}
    with connect(db) as con:
        con.begin()
        in_sync = update.keeps_weekly_totals and history.weekly_totals_in_sync(con)
        figures["days: delete (sql/sales_history_delete.sql)"] = _timed(
            lambda: con.execute(sql("sales_history_delete"), window))
        figures["days: insert (sql/sales_history_insert.sql)"] = _timed(lambda: con.execute(
            sql("sales_history_insert"), {"path": str(update.path), "source": "folder",
                                          "loaded_at": datetime.datetime.now()}))
        if not update.keeps_weekly_totals:
            figures["weekly totals emptied (sql/sales_history_weekly_clear.sql)"] = _timed(
                lambda: con.execute(sql("sales_history_weekly_clear")))
        else:
            assert in_sync, "the weekly totals must cover the history before the write"
            figures["weekly totals: touched weeks deleted"] = _timed(
                lambda: con.execute(sql("sales_history_weekly_refresh_delete"), touched))
            figures["weekly totals: touched weeks re-aggregated"] = _timed(
                lambda: con.execute(sql("sales_history_weekly_refresh_insert"), touched))
        figures["commit"] = _timed(con.commit)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=3 * 364)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    last_day = FIRST_DAY + datetime.timedelta(days=args.days - 1)
    folder = Path(tempfile.mkdtemp(prefix="safestock-history-speed-"))
    try:
        path = folder / "sales_daily.parquet"
        export: list[tuple[float, float]] = []
        with duckdb.connect() as con:
            rows = _sales_daily(con, args.skus, last_day)
            for _ in range(args.repeat):
                export.append(_timed(lambda: con.execute(sql("sales_history_export"), {"path": str(path)})))
            skus = con.execute("select distinct sku from sales_daily order by sku").df()["sku"].tolist()
        print(f"{args.skus:,} SKUs, {FIRST_DAY} .. {last_day}: {rows:,} sku-days", flush=True)
        print("1. writing these days into the history (one transaction; cold: empty database, warm: stored once):")
        _report("export of the validated sku-days (sql/sales_history_export.sql)", export)
        # a file run (empties the weekly totals), then a full database pull of the same days (keeps them)
        for kind, open_end in (("file run", False), ("full database pull", True)):
            update = history.describe_pull(path, "folder", None, open_end=open_end, skus=skus)
            feed: dict[str, list[tuple[float, float]]] = {}
            for _ in range(args.repeat):
                db = folder / "history.duckdb"
                db.unlink(missing_ok=True)
                for phase in ("cold", "warm"):
                    for label, figure in _feed(update, db).items():
                        feed.setdefault(f"{kind}, {phase}: {label}", []).append(figure)
            for phase in ("cold", "warm"):
                labels = [label for label in feed if label.startswith(f"{kind}, {phase}")]
                for label in labels:
                    _report(label, feed[label])
                total = [tuple(sum(feed[label][run][part] for label in labels) for part in (0, 1))
                         for run in range(args.repeat)]
                _report(f"{kind}, {phase}: the whole write", total)

        pulled_from = last_day - datetime.timedelta(days=20)
        pull = folder / "pull.parquet"
        with duckdb.connect() as con:
            con.execute(f"copy (select * from read_parquet('{path}') where \"date\" >= $day) to '{pull}' "
                        "(format parquet)", {"day": pulled_from})
        update = history.describe_pull(pull, "bench", pulled_from, open_end=True, skus=skus)
        parameters = {**update.parameters(), "as_of": last_day + datetime.timedelta(days=1)}
        order_by = "    order by sku_order.sku_rank, complete_weeks.week\n"
        assert order_by in sql("sales_history_weekly")
        arms = {"every stored day (sql/sales_history_weekly_all_days.sql; before)": "sales_history_weekly_all_days",
                "stored weekly totals (sql/sales_history_weekly.sql; now)": "sales_history_weekly",
                "stored weekly totals without the final order by (measured only)": "unordered"}
        weekly: dict[str, list[tuple[float, float]]] = {label: [] for label in arms}
        frames: dict[str, pd.DataFrame] = {}
        for _ in range(args.repeat):
            for label, name in arms.items():
                with duckdb.connect(str(folder / "history.duckdb"), read_only=True) as con:
                    def read(con=con, name=name, label=label) -> None:
                        text = sql("sales_history_weekly").replace(order_by, "") if name == "unordered" else sql(name)
                        frames[label] = con.execute(text, parameters).df()
                    weekly[label].append(_timed(read))
        reference = frames[next(iter(arms))]
        print(f"2. history -> weekly sales ({len(reference):,} sku-weeks; an incremental pull from {pulled_from}):")
        for label, runs in weekly.items():
            frame = frames[label]
            if arms[label] == "unordered":  # the same rows in another order
                frame = frame.sort_values(["sku", "week"], ignore_index=True)
            _report(label + ("" if frame.equals(reference) else "  DIFFERENT FRAME"), runs)
        rebuild = []
        for _ in range(args.repeat):
            with connect(folder / "history.duckdb") as con:
                con.begin()
                rebuild.append(_timed(lambda con=con: (con.execute(sql("sales_history_weekly_rebuild")),
                                                        con.commit())))
        _report("back-fill of an older database's weekly totals (once)", rebuild)
        print(f"peak memory (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
