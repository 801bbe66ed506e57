"""How fast `safestock whatif` answers on a 100,000-SKU run (issue 18, item 4: ≤ 5 s).

Builds a results database with one succeeded run of N SKUs cheaply: the schema comes from the
output-table registry (`storage.connect`), and only the tables the what-if reads
(`sql/whatif_policy.sql`: `inventory_policy`, `items_snapshot`, `sku_class`, plus the `runs` row)
are filled by DuckDB from `range(N)` — no flow run. Then runs the real command in a fresh
process, as a planner would, for the whole run and for the `--class`, `--supplier` and `--sku`
selections, and prints the wall time (Python start-up and imports included) and the command's
peak resident memory; and, in-process, how the time splits between reading the policy and the
computation.

    python benchmarks/whatif_speed.py                # 100,000 SKUs
    python benchmarks/whatif_speed.py --skus 10000 100000 --db /tmp/whatif.duckdb
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_ID = "2026-11-30_benchmark"
LIMIT_SECONDS = 5.0


def build_run(db_path: Path, n_skus: int) -> None:
    """A database holding one succeeded run of ``n_skus`` SKUs (500 suppliers, ABC 20/30/50 %,
    targets 0.90/0.95/0.98 by class, safety stock = z × σ of protection demand)."""
    from safestock.pipelines.storage import connect

    db_path.unlink(missing_ok=True)
    with connect(db_path) as con:
        con.execute("insert into runs (run_id, as_of, started_at, finished_at, status, skus) values "
                    "($run_id, date '2026-11-30', now()::timestamp, now()::timestamp, 'succeeded', $n)",
                    {"run_id": RUN_ID, "n": n_skus})
        con.execute("""
            create temporary table synthetic as
            select 'SKU-' || lpad(i::varchar, 7, '0') as sku,
                   'SUP-' || lpad((i % 500)::varchar, 3, '0') as supplier_id,
                   case when i % 10 < 2 then 'A' when i % 10 < 5 then 'B' else 'C' end as abc,
                   1 + (hash(i) % 5000) / 100.0 as unit_cost,
                   (hash(i * 7) % 4000) / 100.0 as sd
            from range($n) as t(i)""", {"n": n_skus})
        con.execute("""
            insert into sku_class (run_id, sku, demand_class, abc)
            select $run_id, sku, 'smooth', abc from synthetic""", {"run_id": RUN_ID})
        con.execute("""
            insert into items_snapshot (run_id, sku, unit_cost)
            select $run_id, sku, unit_cost from synthetic""", {"run_id": RUN_ID})
        con.execute("""
            insert into inventory_policy (run_id, sku, supplier_id, service_level, safety_stock,
                                          protection_demand_sd)
            select $run_id, sku, supplier_id, level, round(sd * z, 2), sd
            from (select *, case abc when 'A' then 0.98 when 'B' then 0.95 else 0.90 end as level,
                            case abc when 'A' then 2.0537 when 'B' then 1.6449 else 1.2816 end as z
                  from synthetic)""", {"run_id": RUN_ID})


def run_command(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and output of ``safestock <args>`` in a fresh process."""
    safestock = shutil.which("safestock", path=str(Path(sys.executable).parent)) or "safestock"
    started = time.perf_counter()
    process = subprocess.Popen([safestock, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"safestock {' '.join(args)} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


def in_process_split(db_path: Path) -> tuple[float, float]:
    """Seconds to read the run's policy (sql/whatif_policy.sql) and to compute the what-if."""
    import duckdb
    from safestock.models.inventory.whatif import service_level_whatif
    from safestock.pipelines.sqlfiles import sql

    started = time.perf_counter()
    with duckdb.connect(str(db_path), read_only=True) as con:
        policy = con.execute(sql("whatif_policy"), {"run_id": RUN_ID}).df()
    read = time.perf_counter() - started
    started = time.perf_counter()
    service_level_whatif(policy, policy["unit_cost"].to_numpy(float), 0.97)
    return read, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, nargs="+", default=[100_000])
    parser.add_argument("--db", type=Path, help="database file to build (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="whatif_bench_")) if args.db is None else args.db.parent
    try:
        for n_skus in args.skus:
            db_path = args.db or folder / f"whatif_{n_skus}.duckdb"
            started = time.perf_counter()
            build_run(db_path, n_skus)
            print(f"{n_skus:,} SKUs: run built in {time.perf_counter() - started:.1f} s "
                  f"({db_path.stat().st_size / 1e6:.0f} MB)")
            read, compute = in_process_split(db_path)
            print(f"  in process: read policy {read:.2f} s, compute {compute * 1000:.0f} ms")
            base = ["whatif", "--service-level", "0.97", "--db", str(db_path)]
            shown = ""
            for label, extra in (("all SKUs", []), ("--class A", ["--class", "A"]),
                                 ("--supplier SUP-007", ["--supplier", "SUP-007"]),
                                 ("--sku (2)", ["--sku", "SKU-0000001", "--sku", "SKU-0000002"])):
                seconds, peak_mb, output = run_command(base + extra)
                verdict = "ok" if seconds <= LIMIT_SECONDS else f"OVER {LIMIT_SECONDS:g} s"
                print(f"  safestock whatif {label:<20} {seconds:5.2f} s wall, peak {peak_mb:4.0f} MB  [{verdict}]")
                shown = shown or output
            print("  " + shown.strip().replace("\n", "\n  "))
    finally:
        if args.db is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
