"""Seconds of the sales history's two big statements, with the options measured for issue 15.

Builds, in a temporary folder, the sku-day Parquet a file run's loader exports
(`sql/sales_history_export.sql`) for `--skus` SKUs over `--days` days (about half the days sold,
as benchmarks/incremental_pull.py), then times each option `--repeat` times, alternating, as wall
and CPU seconds of this process (DuckDB's threads; steadier than wall time on a loaded machine):

1. the file run's history write, cold (empty table) and warm (the same days stored once already):
   - `delete + insert`: what `storage.history.write_history` does (sql/sales_history_delete.sql,
     sql/sales_history_insert.sql);
   - the same with `preserve_insertion_order = false`;
   - `rebuild`: a new table filled with the kept rows (anti join on the run's items) UNION ALL the
     new ones, the old table dropped and the new one renamed, in the transaction;
   - the export to a DuckDB file (ATTACH) instead of Parquet, and the insert from it;
2. history -> weekly sales (sql/sales_history_weekly.sql after an incremental pull of the last 21
   days): ordered by the text sku and week (before), by each sku's rank and week (the query now),
   unordered and sorted in pandas, and under DuckDB settings (threads = 1,
   preserve_insertion_order = false, memory_limit = 1GB). The frames must be equal (else flagged).

    .venv/bin/python benchmarks/history_speed.py --skus 20000
    .venv/bin/python benchmarks/history_speed.py --skus 100000 --weekly-only --repeat 2
"""

from __future__ import annotations

import argparse
import datetime
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

FIRST_DAY, LAST_DAY = datetime.date(2023, 11, 27), datetime.date(2026, 11, 22)
INSERT = ("insert into sales_history by name select sku, \"date\", quantity, 'folder' as source, "
          "now()::timestamp as loaded_at from {rows}")


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


def _report(label: str, figures: list[tuple[float, float]]) -> None:
    walls, cpus = [wall for wall, _ in figures], [cpu for _, cpu in figures]
    print(f"  {label:58s} wall median {statistics.median(walls):6.2f} s  CPU median {statistics.median(cpus):6.2f} s"
          f"  (CPU runs: {', '.join(f'{cpu:.2f}' for cpu in cpus)})", flush=True)


def _pulled(folder: Path, skus: int) -> tuple[Path, Path, int]:
    """The loader's export (Parquet of sku, date, quantity, lines) and the run's items."""
    path, skus_path = folder / "sales_daily.parquet", folder / "skus.parquet"
    with duckdb.connect() as con:
        con.execute("create temp table sales_daily as select sku, day::date as day, (hash(sku, day) % 7)::double "
                    "as quantity, 1::bigint as lines from (select printf('SKU%07d', i) as sku from range($skus) r(i)) "
                    "cross join range($first::timestamp, $last::timestamp + interval 1 day, interval 1 day) d(day) "
                    "where hash(day, sku) % 2 = 0", {"skus": skus, "first": FIRST_DAY, "last": LAST_DAY})
        con.execute(sql("sales_history_export"), {"path": str(path)})
        con.execute("copy (select distinct sku from sales_daily) to $path (format parquet)", {"path": str(skus_path)})
        rows = con.execute("select count(*) from sales_daily").fetchone()[0]
    return path, skus_path, rows


def _write_options(folder: Path, path: Path, skus_path: Path) -> dict[str, Callable[[duckdb.DuckDBPyConnection], None]]:
    window = {"replace_from": FIRST_DAY, "replace_to": LAST_DAY, "skus_path": str(skus_path)}
    parquet = f"read_parquet('{path}')"

    def delete_insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(sql("sales_history_delete"), window)
        con.execute(INSERT.format(rows=parquet))

    def unordered(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("set preserve_insertion_order = false")
        delete_insert(con)
        con.execute("set preserve_insertion_order = true")

    def rebuild(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("create table sales_history_new as select * from sales_history limit 0")
        con.execute(f"insert into sales_history_new select * from sales_history anti join read_parquet('{skus_path}') "
                    f"as items using (sku) union all select sku, \"date\", quantity, 'folder', now()::timestamp "
                    f"from {parquet}")
        con.execute("drop table sales_history")
        con.execute("alter table sales_history_new rename to sales_history")

    def from_attached(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(sql("sales_history_delete"), window)
        con.execute(INSERT.format(rows="pulled.sales_daily"))

    return {"delete + insert (write_history)": delete_insert,
            "delete + insert, preserve_insertion_order = false": unordered,
            "rebuild: new table, kept UNION ALL new, rename": rebuild,
            "delete + insert from an attached DuckDB file": from_attached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--weekly-only", action="store_true",
                        help="skip the export and write options (the history is written once) and time step 2 only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="safestock-history-speed-"))
    try:
        path, skus_path, rows = _pulled(folder, args.skus)
        print(f"{args.skus:,} SKUs, {FIRST_DAY} .. {LAST_DAY}: {rows:,} sku-days")
        if args.weekly_only:
            with connect(folder / "history.duckdb") as con:
                con.begin()
                _write_options(folder, path, skus_path)["delete + insert (write_history)"](con)
                con.commit()
        export: dict[str, list[tuple[float, float]]] = {"Parquet (sql/sales_history_export.sql)": [],
                                                       "DuckDB file (ATTACH, create table)": []}
        with duckdb.connect() as con:
            con.execute(f"create temp table sales_daily as select sku, \"date\" as day, quantity, lines "
                        f"from read_parquet('{path}')")
            for run in range(0 if args.weekly_only else args.repeat):
                export["Parquet (sql/sales_history_export.sql)"].append(_timed(lambda: con.execute(
                    sql("sales_history_export"), {"path": str(folder / "export.parquet")})))
                (folder / "pulled.duckdb").unlink(missing_ok=True)
                export["DuckDB file (ATTACH, create table)"].append(_timed(lambda: con.execute(
                    f"attach '{folder / 'pulled.duckdb'}' as pulled; create table pulled.sales_daily as "
                    "select sku, day as \"date\", quantity, lines from sales_daily; detach pulled")))
        options = {} if args.weekly_only else _write_options(folder, path, skus_path)
        if options:
            print("export of the validated sku-days by the loader:")
            for label, figures in export.items():
                _report(label, figures)
        figures: dict[str, list[tuple[float, float]]] = {f"{label}, {phase}": [] for label in options
                                                         for phase in ("cold", "warm")}
        for run in range(args.repeat):
            for label, option in options.items():
                db = folder / "history.duckdb"
                db.unlink(missing_ok=True)
                for phase in ("cold", "warm"):
                    with connect(db) as con:
                        con.execute(f"attach '{folder / 'pulled.duckdb'}' as pulled (read_only)")
                        con.begin()
                        figures[f"{label}, {phase}"].append(_timed(lambda option=option, con=con: (option(con), con.commit())))
        if options:
            print("1. the file run's history write (one transaction, committed):")
            for label, runs in figures.items():
                _report(label, runs)

        pulled_from = LAST_DAY - datetime.timedelta(days=20)
        pull = folder / "pull.parquet"
        with duckdb.connect() as con:
            con.execute(f"copy (select * from read_parquet('{path}') where \"date\" >= $day) to '{pull}' "
                        "(format parquet)", {"day": pulled_from})
        update = history.describe_pull(pull, "bench", pulled_from, open_end=True,
                                       skus=pd.read_parquet(skus_path)["sku"].tolist())
        parameters = {**update.parameters(), "as_of": LAST_DAY + datetime.timedelta(days=1)}
        query = sql("sales_history_weekly")  # ordered by each sku's rank, then week
        rank_order = "    order by sku_order.sku_rank, weekly.week\n"
        assert rank_order in query
        by_text = query.replace(rank_order, "    order by weekly.sku, weekly.week\n")
        unordered = query.replace(rank_order, "")
        arms = {"order by sku, week (text sku; before)": (by_text, None, False),
                "order by sku rank, week (sql/sales_history_weekly.sql)": (query, None, False),
                "unordered, sorted in pandas": (unordered, None, True),
                "rank order, threads = 1": (query, "set threads = 1", False),
                "rank order, preserve_insertion_order = false": (query, "set preserve_insertion_order = false", False),
                "rank order, memory_limit = 1GB": (query, "set memory_limit = '1GB'", False)}
        weekly: dict[str, list[tuple[float, float]]] = {label: [] for label in arms}
        frames: dict[str, pd.DataFrame] = {}
        for run in range(args.repeat):
            for label, (text, setting, sort) in arms.items():
                with duckdb.connect(str(folder / "history.duckdb"), read_only=True) as con:
                    if setting:
                        con.execute(setting)

                    def read(con=con, text=text, sort=sort, label=label) -> None:
                        frame = con.execute(text, parameters).df()
                        frames[label] = frame.sort_values(["sku", "week"], ignore_index=True) if sort else frame
                    weekly[label].append(_timed(read))
        reference = frames["order by sku, week (text sku; before)"]
        print(f"2. history -> weekly sales ({len(reference):,} sku-weeks; an incremental pull from {pulled_from}):")
        for label, runs in weekly.items():
            _report(label + ("" if frames[label].equals(reference) else "  DIFFERENT FRAME"), runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
