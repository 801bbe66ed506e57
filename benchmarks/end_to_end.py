"""End-to-end benchmark: generate N SKUs x 3 years of daily sales, run the weekly flow, print
wall time per stage and peak memory (max RSS of this process).

    python benchmarks/end_to_end.py --skus 10000
    python benchmarks/end_to_end.py --skus 10000 --input /path/to/existing/input   # skip generation
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (MiB) of this process, or of its largest finished child process."""
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--input", type=Path, default=None, help="existing input folder (skips generation)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None, help="run forecast partitions on a local Dask cluster")
    parser.add_argument("--config", type=Path, default=None, help="TOML configuration (e.g. partition_size)")
    args = parser.parse_args()

    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data
    from safestock.pipelines.flow import configured_flow
    from safestock.pipelines.progress import listening

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="safestock_bench_"))
    input_dir = args.input
    if input_dir is None:
        started = time.perf_counter()
        tables = generate_demo_data(args.skus, seed=args.seed)
        input_dir = workdir / "input"
        write_demo_data(tables, input_dir)
        print(f"generate  {args.skus:,} SKUs, {len(tables['sales']):,} sales rows: "
              f"{time.perf_counter() - started:.1f} s")
        del tables

    stages: list[tuple[str, float]] = []
    started = time.perf_counter()
    with listening(lambda message: stages.append((message, time.perf_counter()))):
        summary = configured_flow(args.workers)(input_dir=input_dir, db_path=workdir / "bench.duckdb",
                                                reports_dir=workdir / "reports", config_path=args.config)
    finished = time.perf_counter()

    runner = f"Dask, {args.workers} workers" if args.workers else "single process"
    print(f"\nend-to-end run ({summary.skus:,} SKUs, {runner}): {finished - started:.1f} s, "
          f"peak RSS {peak_rss_mib():,.0f} MiB (largest child process: "
          f"{peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB)")
    boundaries = [t for _, t in stages] + [finished]
    print(f"  {'flow start-up (Prefect)':<48} {stages[0][1] - started:7.1f} s" if stages else "")
    for (message, began), ended in zip(stages, boundaries[1:]):
        print(f"  {message:<48} {ended - began:7.1f} s")
    print(f"\ndatabase {workdir / 'bench.duckdb'} ({(workdir / 'bench.duckdb').stat().st_size / 2**20:,.0f} MiB)")
    for name, path in summary.reports.items():
        if not name.startswith("orders:"):
            print(f"{name} report {path} ({Path(path).stat().st_size / 2**20:,.1f} MiB)")


if __name__ == "__main__":
    main()
