"""How fast `safestock.pipelines.inputs.load_inputs` reads, validates and aggregates a large sales table.

Generates an input folder under /tmp (never in the repository): the small tables (items,
suppliers, inventory, purchase_orders) from `safestock.pipelines.demo.data.generate_demo_data` for
`--skus` SKUs, and a synthetic sales table of `--rows` rows written by DuckDB (every SKU sold on
consecutive days over ~3 years, a few returns, a few rows after as_of). Then it runs
`load_inputs` in a fresh process per format and prints wall time, CPU seconds (every thread:
DuckDB's too; steadier than wall time on a loaded machine), peak RSS and rows/s.

    python benchmarks/load_inputs.py --rows 10000000 --skus 10000 --format csv parquet
    python benchmarks/load_inputs.py --rows 50000000 --skus 100000 --format parquet-dir
    python benchmarks/load_inputs.py --input /tmp/some_folder          # an existing folder

Formats: `csv` (sales.csv), `parquet` (sales.parquet), `parquet-dir` (sales/part-*.parquet).
Generated folders are kept (`--data DIR`, default /tmp/safestock-load-bench) and reused when
their row count matches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DAYS = 1092  # 156 weeks
FORMATS = ("csv", "parquet", "parquet-dir")


def generate(folder: Path, rows: int, skus: int, fmt: str) -> Path:
    """Write the input folder for `fmt` (reused when already complete)."""
    import duckdb
    from safestock.pipelines.demo.data import (
        DEFAULT_AS_OF,
        generate_demo_data,
        write_demo_data,
    )

    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".bench.json"
    wanted = {"rows": rows, "skus": skus, "format": fmt}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder
    for old in folder.glob("*"):
        if old.is_dir():
            for part in old.glob("*"):
                part.unlink()
            old.rmdir()
        else:
            old.unlink()
    started = time.perf_counter()
    tables = generate_demo_data(skus, years=0.2)  # the small tables; its sales are replaced
    del tables["sales"]
    write_demo_data(tables, folder, "csv")
    start = DEFAULT_AS_OF - dt.timedelta(days=DAYS - 1)
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    con.execute("create temp table sku_codes as select row_number() over () - 1 as k, sku "
                f"from read_csv('{folder / 'items.csv'}', all_varchar = true)")
    # Row i: sku i % skus, day (i // skus) % DAYS (+3 rows after as_of), ~2 % returns.
    query = f"""
        select
            (date '{start}' + cast(((i // {skus}) % {DAYS}) + (i < 3)::int * {DAYS} as integer))
                as date,
            s.sku,
            cast(case when hash(i) % 50 = 0 then -1 else 1 + hash(i) % 7 end as double)
                as quantity
        from range({rows}) as r(i)
        join sku_codes as s on s.k = i % {skus}
    """
    if fmt == "csv":
        con.execute(f"copy ({query}) to '{folder / 'sales.csv'}' (header, dateformat '%Y-%m-%d')")
    elif fmt == "parquet":
        con.execute(f"copy ({query}) to '{folder / 'sales.parquet'}' (format parquet)")
    else:
        (folder / "sales").mkdir()
        con.execute(f"copy ({query}) to '{folder / 'sales'}' "
                    f"(format parquet, per_thread_output, filename_pattern 'part-{{i}}')")
    con.close()
    marker.write_text(json.dumps(wanted))
    print(f"generated {fmt} folder {folder} ({rows:,} sales rows, {skus:,} skus) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return folder


def run_once(folder: Path, memory_limit: str | None) -> dict:
    """Load the folder in this process; wall time, peak RSS, rows."""
    from safestock.pipelines.inputs import load_inputs

    started, cpu_started = time.perf_counter(), time.process_time()
    loaded = (load_inputs(folder) if memory_limit is None
              else load_inputs(folder, memory_limit=memory_limit))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    sales_rows = sum(info["rows"] for name, info in loaded.files.items()
                     if name.startswith("sales"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_gib": peak / 2**30, "sales_rows": sales_rows,
            "rows_per_s": sales_rows / seconds, "weekly_rows": len(loaded.sales_weekly)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--format", nargs="+", choices=FORMATS, default=["csv", "parquet"])
    parser.add_argument("--input", type=Path, help="load this existing folder instead")
    parser.add_argument("--data", type=Path, default=Path("/tmp/safestock-load-bench"))
    parser.add_argument("--memory-limit", default=None, help="load_inputs(memory_limit=...)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one measurement per process, so peak RSS is that of one load
        print(json.dumps(run_once(args.child, args.memory_limit)))
        return
    folders = ([("input", args.input)] if args.input else
               [(fmt, generate(args.data / f"{fmt}-{args.rows}-{args.skus}", args.rows,
                               args.skus, fmt)) for fmt in args.format])
    for fmt, folder in folders:
        command = [sys.executable, __file__, "--child", str(folder)]
        if args.memory_limit:
            command += ["--memory-limit", args.memory_limit]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if result.returncode:
            print(f"{fmt}: failed\n{result.stderr[-3000:]}")
            continue
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{fmt:12s} {r['sales_rows']:>12,} rows  {r['seconds']:7.1f} s ({r['cpu_seconds']:.1f} s CPU)  "
              f"peak RSS {r['peak_rss_gib']:5.2f} GiB  {r['rows_per_s'] / 1e6:5.2f} M rows/s  "
              f"({r['weekly_rows']:,} sku-weeks)", flush=True)


if __name__ == "__main__":
    main()
