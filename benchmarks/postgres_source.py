"""Seconds to read and validate the inputs from PostgreSQL vs from the same data as CSV files.

Starts Debian's PostgreSQL in a temporary folder (as the tests do: tests/postgres_fixtures.py),
loads a generated demo input into the tests' ERP schema (`erp.*`), then times
`load_inputs(<csv folder>)` and `load_postgres_inputs(<uri>)` (pull into Arrow + staging as
Parquet + the same validation), each once after a warm-up pull.

    .venv/bin/python benchmarks/postgres_source.py --skus 10000
"""

from __future__ import annotations

import argparse
import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="safestock-pg-bench-"))
    shutil.chown(work, "postgres", "postgres") if os.geteuid() == 0 else None
    password_file = work / "password"
    password_file.write_text(erp.PASSWORD + "\n")
    shutil.chown(password_file, "postgres", "postgres") if os.geteuid() == 0 else None
    port = 54339
    erp._as_postgres(str(erp.POSTGRES_BIN / "initdb"), "-D", str(work / "data"), "-A", "scram-sha-256",
                     "-U", erp.USER, "--pwfile", str(password_file))
    erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-w", "-l", str(work / "log"),
                     "-o", f"-p {port} -k {work} -c listen_addresses=''", "start")
    try:
        folder = work / "input"
        started = time.perf_counter()
        write_demo_data(generate_demo_data(args.skus, seed=args.seed), folder)
        rows = sum(1 for _ in (folder / "sales.csv").open()) - 1
        print(f"demo input, {args.skus:,} SKUs, {rows:,} sales rows: {time.perf_counter() - started:.1f} s")
        uri = f"postgresql://{erp.USER}@/postgres?host={work}&port={port}"
        started = time.perf_counter()
        erp.load_erp_schema(uri, folder)
        print(f"ERP schema loaded into PostgreSQL: {time.perf_counter() - started:.1f} s")
        os.environ["SAFESTOCK_BENCH_PG_PASSWORD"] = erp.PASSWORD
        source = SourceConfig(password_env="SAFESTOCK_BENCH_PG_PASSWORD", tables=erp.source_tables_config())
        with tempfile.TemporaryDirectory() as staged:
            pull_tables(uri, source, Path(staged))  # warm-up (server caches)
            started = time.perf_counter()
            pull_tables(uri, source, Path(staged))
            print(f"pull into Arrow + Parquet staging:   {time.perf_counter() - started:6.2f} s")
        started = time.perf_counter()
        from_files = load_inputs(folder)
        print(f"load_inputs from CSV files:          {time.perf_counter() - started:6.2f} s")
        started = time.perf_counter()
        from_source = load_postgres_inputs(uri, source)
        print(f"load_postgres_inputs (pull+checks):  {time.perf_counter() - started:6.2f} s")
        assert from_source.sales_weekly.equals(from_files.sales_weekly)
    finally:
        erp._as_postgres(str(erp.POSTGRES_BIN / "pg_ctl"), "-D", str(work / "data"), "-m", "fast", "stop")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
