"""Seconds and memory to read and validate the inputs from PostgreSQL vs from the same data as CSV files.

Starts Debian's PostgreSQL in a temporary folder (as the tests do: tests/postgres_fixtures.py),
loads a generated demo input into the tests' ERP schema (`erp.*`), then times (after a warm-up
pull) the pull alone (`pull_tables`: ADBC record batches streamed into a DuckDB file) and
`load_postgres_inputs(<uri>)` (pull + every check of an input folder), and `load_inputs(<csv
folder>)`, each in a fresh process: wall seconds, its CPU seconds (DuckDB's threads and the
driver's, not the PostgreSQL server's: steadier than wall time on a loaded machine) and its peak
memory (ru_maxrss of that process alone).

`--base-skus N` (less than `--skus`): generate a demo of N SKUs and copy its ERP tables
`--skus / N` times in PostgreSQL under suffixed SKU and PO codes (every sales day of every copy:
`--skus 100000 --base-skus 10000` gives 56 M sales rows without generating them in Python); the
CSV comparison is then skipped (there is no CSV of the copies).

    .venv/bin/python benchmarks/postgres_source.py --skus 10000
    flock /tmp/safestock-big.lock .venv/bin/python benchmarks/postgres_source.py --skus 100000 --base-skus 10000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.postgres_fixtures: the ERP schema

from safestock.pipelines.config import SourceConfig  # noqa: E402
from safestock.pipelines.demo.data import generate_demo_data, write_demo_data  # noqa: E402
from safestock.pipelines.inputs import load_inputs  # noqa: E402
from safestock.pipelines.inputs.postgres import load_postgres_inputs, pull_tables  # noqa: E402
from tests import postgres_fixtures as erp  # noqa: E402


def _timed(step: str, *args):
    """Run one step (in a fresh process): wall and CPU seconds, peak memory in GiB, and its result
    (the pulled rows, or the weekly sales frame)."""
    started, cpu = time.perf_counter(), time.process_time()
    if step == "pull":
        uri, source, database = args
        result = pull_tables(uri, source, database)["sales"].rows
    elif step == "source":
        result = load_postgres_inputs(*args).sales_weekly
    else:
        result = load_inputs(*args).sales_weekly
    return (time.perf_counter() - started, time.process_time() - cpu,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, result)


def _in_process(step: str, *args):
    """`_timed` in a new process (spawned: its peak memory is the step's own)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_timed, (step, *args))


def _replicate(uri: str, copies: int) -> int:
    """The ERP tables copied `copies` times under SKU (and PO) codes suffixed -00, -01, …; the
    sales rows of the copies."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    user, rest = uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{erp.PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        copy = f"cross join (select lpad(k::text, 2, '0') as k from generate_series(0, {copies - 1}) k) as copies"
        suffixed = {"item_code": "item_code || '-' || k as item_code", "po_number": "po_number || '-' || k as po_number"}
        for table in ("item_master", "stock_levels", "po_lines", "order_lines"):
            cursor.execute("select column_name from information_schema.columns where table_schema = 'erp' "
                           f"and table_name = '{table}' and column_name <> 'line_id' order by ordinal_position")
            columns = ", ".join(suffixed.get(name, name) for (name,) in cursor.fetchall())
            line_id = "row_number() over () as line_id, " if table == "order_lines" else ""
            cursor.execute(f"create table erp.{table}_copy as select {line_id}{columns} from erp.{table} {copy}")
            cursor.execute(f"drop table erp.{table}")
            cursor.execute(f"alter table erp.{table}_copy rename to {table}")
        cursor.execute("analyze")
        connection.commit()
        cursor.execute("select count(*) from erp.order_lines")
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--base-skus", type=int, default=None,
                        help="generate this many SKUs and copy them in PostgreSQL up to --skus (no CSV comparison)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    base = args.base_skus or args.skus
    copies = max(1, args.skus // base)
    work = Path(tempfile.mkdtemp(prefix="safestock-pg-bench-"))
    shutil.chown(work, "postgres", "postgres") if os.geteuid() == 0 else None
    password_file = work / "password"
    password_file.write_text(erp.PASSWORD + "\n")
    shutil.chown(password_file, "postgres", "postgres") if os.geteuid() == 0 else None
    port = 54339
    erp._as_postgres(str(erp.POSTGRES_BIN / "initdb"), "-D", str(work / "data"), "-A", "scram-sha-256",
                     "-U", erp.USER, "--pwfile", str(password_file))
    erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-w", "-l", str(work / "log"),
                     "-o", f"-p {port} -k {work} -c listen_addresses='' -c shared_buffers=512MB", "start")
    try:
        folder = work / "input"
        started = time.perf_counter()
        write_demo_data(generate_demo_data(base, seed=args.seed), folder)
        rows = sum(1 for _ in (folder / "sales.csv").open()) - 1
        print(f"demo input, {base:,} SKUs, {rows:,} sales rows: {time.perf_counter() - started:.1f} s")
        uri = f"postgresql://{erp.USER}@/postgres?host={work}&port={port}"
        started = time.perf_counter()
        erp.load_erp_schema(uri, folder)
        if copies > 1:
            rows = _replicate(uri, copies)
        print(f"ERP schema loaded into PostgreSQL ({base * copies:,} SKUs, {rows:,} sales rows): "
              f"{time.perf_counter() - started:.1f} s")
        os.environ["SAFESTOCK_BENCH_PG_PASSWORD"] = erp.PASSWORD
        source = SourceConfig(password_env="SAFESTOCK_BENCH_PG_PASSWORD", tables=erp.source_tables_config())
        with tempfile.TemporaryDirectory() as staged:
            pull_tables(uri, source, Path(staged) / "warm-up.duckdb")  # warm-up (server caches)
            wall, cpu, peak, rows = _in_process("pull", uri, source, Path(staged) / "pulled.duckdb")
            print(f"pull, record batches streamed into DuckDB ({rows:,} sales rows): {wall:6.2f} s "
                  f"(CPU {cpu:.2f} s; peak memory {peak:.2f} GiB)")
        wall, cpu, peak, from_source = _in_process("source", uri, source)
        print(f"load_postgres_inputs (pull + checks): {wall:6.2f} s (CPU {cpu:.2f} s; peak memory {peak:.2f} GiB)")
        if copies == 1:
            wall, cpu, peak, from_files = _in_process("files", folder)
            print(f"load_inputs from CSV files:           {wall:6.2f} s (CPU {cpu:.2f} s; peak memory {peak:.2f} GiB)")
            assert from_source.equals(from_files)
    finally:
        erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-m", "fast", "stop")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
