"""Seconds of a weekly incremental pull from PostgreSQL into the DuckDB sales history (issue 15.2).

Starts Debian's PostgreSQL in a temporary folder (as tests/postgres_fixtures.py does) and loads a
generated demo of `--base-skus` SKUs into the tests' ERP schema, then copies it `--skus /
--base-skus` times under suffixed SKU codes (items, stock, purchase orders and the last
`--source-days` days of sales), with an index on `erp.order_lines.order_date` as an ERP has. A
DuckDB file gets a `sales_history` of every SKU over `--history-days` days (synthetic quantities
on about half of the days; the watermark is the day a week before the source's newest day).
Then, as a weekly run does (storage/history.py):

1. pull + checks: `load_postgres_inputs` with the sales dated after watermark − 14 days (one new
   week plus the look-back), written as sku-day Parquet for the history;
2. history -> weekly sales (what the forecast reads), before and after the weekly totals:
   a. from every stored day: the days outside the pull's window merged with the pull and aggregated
      to complete ISO weeks (sql/sales_history_weekly_all_days.sql: the query before, still the
      path of a database whose weekly totals are not back-filled, as this synthetic one);
   b. the one-time back-fill of `sales_history_weekly` (sql/sales_history_weekly_rebuild.sql);
   c. from the stored weekly totals, only the touched weeks re-aggregated
      (sql/sales_history_weekly.sql: every run now); the frame must equal a's (checked);
3. history write: the window's stored days replaced by the pull and the touched weeks'
   totals re-aggregated, in one transaction.

Each step is timed once after a warm-up pull (wall seconds, and the CPU seconds of this process:
DuckDB's threads, not the PostgreSQL server's -- steadier than wall time on a loaded machine), with
the peak memory so far (ru_maxrss) after it. `--profile`: where step 1's seconds go, by the
loader's functions (cProfile, cumulative).

`--updated-column SHARE`: items, stock and POs get a change-tracking `updated_at` (spread over three
years) configured as `updated_column`: the warm-up pull stores their snapshots whole in the DuckDB
file, SHARE of their rows is then changed, and step 1 reads only the changed rows plus the
look-back and merges them (storage/source_snapshots.py).

`--run`: instead of steps 1-3, the weekly incremental RUN end to end: the DuckDB file holds the
history (its `source` the server's URI, weekly totals back-filled) and the snapshots of the warm-up
pull, one new week (plus the look-back) is pulled, and the flow runs as `safestock run --source`
does (its temporary Prefect server), every stage printed with wall and CPU seconds and the peak
RSS (benchmarks/end_to_end.py's table, plus the pull's own steps).

    .venv/bin/python benchmarks/incremental_pull.py --skus 100000
    .venv/bin/python benchmarks/incremental_pull.py --skus 100000 --updated-column 0.01
    .venv/bin/python benchmarks/incremental_pull.py --skus 100000 --updated-column 0.01 --run
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import inspect
import json
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.postgres_fixtures: the ERP schema

from safestock.pipelines.config import SourceConfig  # noqa: E402
from safestock.pipelines.demo.data import generate_demo_data, write_demo_data  # noqa: E402
from safestock.pipelines.inputs import postgres  # noqa: E402
from safestock.pipelines.inputs.postgres import load_postgres_inputs, pull_tables  # noqa: E402
from safestock.pipelines.sqlfiles import sql  # noqa: E402
from safestock.pipelines.storage import connect, history  # noqa: E402
from safestock.pipelines.storage.source_snapshots import plan_snapshots  # noqa: E402
from tests import postgres_fixtures as erp  # noqa: E402

PASSWORD_ENV = "SAFESTOCK_BENCH_PG_PASSWORD"
LOOKBACK_DAYS = 14


def _start_server(work: Path, port: int) -> str:
    shutil.chown(work, "postgres", "postgres") if os.geteuid() == 0 else None
    password_file = work / "password"
    password_file.write_text(erp.PASSWORD + "\n")
    shutil.chown(password_file, "postgres", "postgres") if os.geteuid() == 0 else None
    erp._as_postgres(str(erp.POSTGRES_BIN / "initdb"), "-D", str(work / "data"), "-A", "scram-sha-256",
                     "-U", erp.USER, "--pwfile", str(password_file))
    erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-w", "-l", str(work / "log"),
                     "-o", f"-p {port} -k {work} -c listen_addresses='' -c shared_buffers=512MB", "start")
    return f"postgresql://{erp.USER}@/postgres?host={work}&port={port}"


def _replicate(uri: str, copies: int, source_days: int) -> datetime.date:
    """The ERP tables copied `copies` times under SKU (and PO) codes suffixed -00, -01, …; only the
    last `source_days` days of sales kept. Returns the newest sales day."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    user, rest = uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{erp.PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        cursor.execute("select max(order_date) from erp.order_lines")
        last = cursor.fetchone()[0]
        copy = f"cross join (select lpad(k::text, 2, '0') as k from generate_series(0, {copies - 1}) k) as copies"
        suffixed = {"item_code": "item_code || '-' || k as item_code", "po_number": "po_number || '-' || k as po_number"}
        for table in ("item_master", "stock_levels", "po_lines", "order_lines"):
            cursor.execute("select column_name from information_schema.columns where table_schema = 'erp' "
                           f"and table_name = '{table}' and column_name <> 'line_id' order by ordinal_position")
            columns = ", ".join(suffixed.get(name, name) for (name,) in cursor.fetchall())
            if table == "order_lines":
                cursor.execute(f"create table erp.order_lines_copy as select row_number() over () as line_id, "
                               f"{columns} from erp.order_lines {copy} where order_date > date '{last}' - "
                               f"{source_days} order by order_date")
            else:
                cursor.execute(f"create table erp.{table}_copy as select {columns} from erp.{table} {copy}")
        for table in ("item_master", "stock_levels", "po_lines", "order_lines"):
            cursor.execute(f"drop table erp.{table}")
            cursor.execute(f"alter table erp.{table}_copy rename to {table}")
        cursor.execute("create index on erp.order_lines (order_date)")
        cursor.execute("analyze")
        connection.commit()
    return last


#: `--updated-column`: the tables given a change-tracking `updated_at` and the key they merge by.
TRACKED = {"items": ("item_master", ["item_code"]), "inventory": ("stock_levels", ["item_code"]),
           "purchase_orders": ("po_lines", ["po_number", "item_code"])}


def _track_changes(uri: str, tables: dict, changed_share: float | None) -> None:
    """`changed_share` None: give items, stock and POs an indexed `updated_at` spread over the last
    three years and configure it as `updated_column` in `tables`; else touch that share of their
    rows (`updated_at = now()`), as a week of ERP changes."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    user, rest = uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{erp.PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        for table, (name, key) in TRACKED.items():
            if changed_share is None:
                cursor.execute(f"alter table erp.{name} add column updated_at timestamptz")
                cursor.execute(f"update erp.{name} set updated_at = now() - interval '1100 days' * random() "
                               "- interval '8 days'")
                cursor.execute(f"create index on erp.{name} (updated_at)")
                tables[table] |= {"key": key, "updated_column": "updated_at"}
            else:
                cursor.execute(f"update erp.{name} set updated_at = now() where random() < {changed_share}")
        cursor.execute("analyze")
        connection.commit()


def _stored_history(db: Path, skus: list[str], first: datetime.date, last: datetime.date,
                    source: str = "bench") -> int:
    """`sales_history` of every SKU on about half of the days from `first` to `last`."""
    import pandas as pd

    with connect(db) as con:
        con.register("skus", pd.DataFrame({"sku": skus}))
        con.execute("insert into sales_history select sku, day::date, (hash(sku, day) % 7)::double, $source, "
                    "now()::timestamp from skus cross join range($first::timestamp, $last::timestamp + interval 1 day, "
                    "interval 1 day) as days(day) where hash(day, sku) % 2 = 0",
                    {"first": first, "last": last, "source": source})
        return con.execute("select count(*) from sales_history").fetchone()[0]


def _toml_value(value: object) -> str:
    """A string, list of strings or flat table of strings as TOML (JSON strings are TOML strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _source_config_file(path: Path, tables: dict) -> Path:
    """The run's configuration: `[source] password_env` and the ERP tables' `[source.tables.X]`."""
    lines = ["[source]", f"password_env = {json.dumps(PASSWORD_ENV)}", f"lookback_days = {LOOKBACK_DAYS}"]
    for table, entry in tables.items():
        lines += ["", f"[source.tables.{table}]", *(f"{key} = {_toml_value(value)}" for key, value in entry.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def _weekly_run(uri: str, tables: dict, db: Path, work: Path, skus: list[str], watermark: datetime.date,
                history_days: int) -> None:
    """`--run`: the history in DuckDB (from the server's URI, weekly totals back-filled), then the flow
    from the source as `safestock run --source` runs it, timed per stage (benchmarks/end_to_end.py)."""
    from benchmarks.end_to_end import Timeline, instrument, peak_rss_mib, report
    from safestock.pipelines.inputs import load
    from safestock.pipelines.storage import source_snapshots

    started = time.perf_counter()
    stored = _stored_history(db, skus, watermark - datetime.timedelta(days=history_days - 1), watermark, source=uri)
    with connect(db) as con:
        con.begin()
        con.execute(sql("sales_history_weekly_rebuild"))
        con.commit()
    print(f"DuckDB sales_history: {stored:,} sku-day rows from {uri.split('?')[0]} up to {watermark}, weekly totals "
          f"back-filled (built in {time.perf_counter() - started:.0f} s)")
    config = _source_config_file(work / "safestock.toml", tables)
    started, cpu_started = time.perf_counter(), time.process_time()
    from safestock.pipelines.prefect_server import launch_prefect_server, temporary_prefect_server

    launched = launch_prefect_server()
    launched_at, cpu_launched = time.perf_counter(), time.process_time()
    from safestock.pipelines.flow import configured_flow
    imported, cpu_imported = time.perf_counter(), time.process_time()
    timeline = Timeline()
    instrument(timeline)
    timeline.patch(postgres, "pull_tables", "postgres.pull_tables (the five tables streamed into DuckDB)")
    timeline.patch(source_snapshots, "merge", "source_snapshots.merge (changed rows merged by key)")
    timeline.patch(source_snapshots, "write", "source_snapshots.write (snapshots by key, one transaction)")
    timeline.patch(load, "load_inputs", "load_inputs (checks of the pulled tables)")
    timeline.patch(history, "weekly_sales", "history.weekly_sales (weekly totals + touched weeks)")
    with temporary_prefect_server(launched=launched):
        served, cpu_served = time.perf_counter(), time.process_time()
        summary = configured_flow()(input_dir=None, source=uri, db_path=db, reports_dir=work / "reports", config_path=config)
    finished, cpu_finished = time.perf_counter(), time.process_time()
    print(f"\nweekly incremental run from PostgreSQL ({summary.skus:,} SKUs; {summary.rows_pulled:,} sales rows "
          f"pulled from {summary.pulled_from}): {finished - started:.1f} s wall, {cpu_finished - cpu_started:.1f} s "
          f"CPU in this process, peak RSS {peak_rss_mib():,.0f} MiB; load average {os.getloadavg()[0]:.1f} "
          "(target <= 60 s)")
    print(report(timeline, started, cpu_started, launched_at, cpu_launched, imported, cpu_imported,
                 served, cpu_served, finished, cpu_finished))


def _peak() -> str:
    return f"peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--base-skus", type=int, default=2_000)
    parser.add_argument("--source-days", type=int, default=56, help="days of sales the source keeps")
    parser.add_argument("--history-days", type=int, default=3 * 364, help="days of sales in the DuckDB history")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--po-days", type=int, default=None,
                        help="read purchase orders through a [source] query: open ones and those ordered in the "
                             "last N days (default: the whole table)")
    parser.add_argument("--profile", action="store_true", help="print where the pull + checks' seconds go")
    parser.add_argument("--run", action="store_true",
                        help="the weekly incremental run end to end (the flow from the source), per stage, "
                             "instead of steps 1-3")
    parser.add_argument("--updated-column", type=float, default=None, metavar="SHARE",
                        help="read items, stock and POs incrementally (updated_column, snapshots in DuckDB): "
                             "the warm-up pull stores them whole, then this share of their rows is changed")
    args = parser.parse_args()
    copies = max(1, args.skus // args.base_skus)
    work = Path(tempfile.mkdtemp(prefix="safestock-incremental-bench-"))
    uri = _start_server(work, 54343)
    try:
        folder = work / "input"
        started = time.perf_counter()
        write_demo_data(generate_demo_data(args.base_skus, seed=args.seed), folder)
        erp.load_erp_schema(uri, folder)
        last = _replicate(uri, copies, args.source_days)
        print(f"source: {args.base_skus:,} demo SKUs x {copies} copies = {args.base_skus * copies:,} SKUs, last "
              f"{args.source_days} days of sales (setup {time.perf_counter() - started:.0f} s)")
        os.environ[PASSWORD_ENV] = erp.PASSWORD
        tables = erp.source_tables_config()
        if args.po_days is not None:
            del tables["purchase_orders"]["table"]
            tables["purchase_orders"]["query"] = (f"select * from erp.po_lines where po_status = 'open' "
                                                  f"or ordered_on > date '{last}' - {args.po_days}")
            print(f"purchase orders: open or ordered in the last {args.po_days} days ([source] query)")
        if args.updated_column is not None:
            _track_changes(uri, tables, None)
        source = SourceConfig(password_env=PASSWORD_ENV, tables=tables)
        watermark = last - datetime.timedelta(days=7)  # the history holds everything up to a week ago
        sales_from = history.pull_start(watermark, LOOKBACK_DAYS, False)
        db = work / "safestock.duckdb"
        with tempfile.TemporaryDirectory() as scratch:
            pulled_path = Path(scratch) / "sales_daily.parquet"
            snapshots = None
            if args.updated_column is not None:  # the warm-up is the whole read that stores the snapshots
                snapshots = plan_snapshots(db, uri, source, full_reload=False)
            warm = load_postgres_inputs(uri, source, sales_from=sales_from, sales_history_path=pulled_path,
                                        snapshots=snapshots)  # warm-up
            if args.updated_column is not None:
                _track_changes(uri, tables, args.updated_column)
                snapshots = plan_snapshots(db, uri, source, full_reload=False)
                print(f"incremental read of {', '.join(sorted(snapshots.incremental))} (updated_column; "
                      f"{args.updated_column:.1%} of their rows changed since the stored snapshots)")
            if args.run:
                _weekly_run(uri, tables, db, work, warm.items["sku"].tolist(), watermark, args.history_days)
                return
            staged = Path(scratch) / "staged"
            staged.mkdir()
            started = time.perf_counter()
            # pull_tables stages into a folder of Parquet files, or (streaming) into a DuckDB file
            into_file = "database" in inspect.signature(pull_tables).parameters
            pulled = pull_tables(uri, source, staged / "pulled.duckdb" if into_file else staged, sales_from,
                                 **({"incremental": snapshots.incremental} if snapshots else {}))
            pull_seconds_all = time.perf_counter() - started
            rows = ", ".join(f"{table} {entry.rows if into_file else entry.keys.num_rows:,}"
                             for table, entry in pulled.items())
            started = time.perf_counter()
            with postgres.connect(uri, source) as connection, connection.cursor() as cursor:
                sales = next(pull for pull in postgres.table_pulls(source) if pull.table == "sales")
                select, schema = postgres._select_sql(cursor, sales, erp.PASSWORD)
                cursor.execute(postgres._sales_since(select, schema.field(sales.columns["date"]).type),
                               (sales_from.isoformat(),))
                sales_rows = cursor.fetch_arrow_table().num_rows
            sales_seconds = time.perf_counter() - started
            started, cpu = time.perf_counter(), time.process_time()
            profile = cProfile.Profile() if args.profile else None
            if profile:
                profile.enable()
            inputs = load_postgres_inputs(uri, source, sales_from=sales_from, sales_history_path=pulled_path,
                                          snapshots=snapshots)
            if profile:
                profile.disable()
            pull_seconds, pull_cpu = time.perf_counter() - started, time.process_time() - cpu
            skus = inputs.items["sku"].tolist()
            started = time.perf_counter()
            stored = _stored_history(db, skus, watermark - datetime.timedelta(days=args.history_days - 1), watermark)
            print(f"DuckDB sales_history: {stored:,} sku-day rows up to {watermark} "
                  f"(built in {time.perf_counter() - started:.0f} s)")
            update = history.describe_pull(pulled_path, "bench", sales_from, open_end=True, skus=skus)
            print(f"1. pull + checks, sales from {sales_from} on ({update.source_rows:,} sales rows, "
                  f"{update.sku_days:,} sku-days; all {len(skus):,} items, stock, POs): {pull_seconds:6.2f} s "
                  f"(CPU {pull_cpu:.2f} s; {_peak()})")
            print(f"   of which the pull alone (record batches into DuckDB) ({rows} rows): {pull_seconds_all:6.2f} s")
            print(f"   of which the sales query alone into Arrow ({sales_rows:,} rows): {sales_seconds:6.2f} s")
            if profile:
                print("   where they go (cumulative seconds of the loader's functions):")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(r"pipelines/inputs/", 12)
            started, cpu = time.perf_counter(), time.process_time()
            with connect(db, read_only=True) as con:
                assert not history.weekly_totals_in_sync(con)  # built without them: step 2a reads every day
            all_days = history.weekly_sales(db, update, inputs.as_of)
            print(f"2a. history -> weekly sales from every stored day ({len(all_days):,} sku-weeks; before): "
                  f"{time.perf_counter() - started:6.2f} s (CPU {time.process_time() - cpu:.2f} s; {_peak()})")
            started, cpu = time.perf_counter(), time.process_time()
            with connect(db) as con:
                con.begin()
                con.execute(sql("sales_history_weekly_rebuild"))
                con.commit()
                weeks = con.execute("select count(*) from sales_history_weekly").fetchone()[0]
            print(f"2b. back-fill of sales_history_weekly ({weeks:,} sku-weeks, once per database): "
                  f"{time.perf_counter() - started:6.2f} s (CPU {time.process_time() - cpu:.2f} s; {_peak()})")
            started, cpu = time.perf_counter(), time.process_time()
            weekly = history.weekly_sales(db, update, inputs.as_of)
            weekly_seconds, weekly_cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"2c. history -> weekly sales from the weekly totals (now): {weekly_seconds:6.2f} s "
                  f"(CPU {weekly_cpu:.2f} s; {_peak()}); "
                  f"{'the same frame as 2a' if weekly.equals(all_days) else 'A DIFFERENT FRAME FROM 2a'}")
            del all_days
            started, cpu = time.perf_counter(), time.process_time()
            with connect(db) as con:
                con.begin()
                history.write_history(con, update, datetime.datetime.now())
                con.commit()
            write_seconds, write_cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"3. history write (days from {update.replace_from} replaced, their weeks re-aggregated, one "
                  f"transaction): {write_seconds:6.2f} s (CPU {write_cpu:.2f} s; {_peak()})")
            print(f"pull + checks + history write: {pull_seconds + write_seconds:6.2f} s (target <= 5 s)")
            print(f"the run's history stages (1 + 2c + 3): {pull_seconds + weekly_seconds + write_seconds:6.2f} s "
                  f"(CPU {pull_cpu + weekly_cpu + write_cpu:.2f} s)")
        print(f"peak memory (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB")
    finally:
        erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-m", "fast", "stop")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
