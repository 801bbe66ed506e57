"""How the forecast stage scales with the number of SKUs, serial and on a local Dask cluster.

Generates weekly demand directly as a SKU x week matrix (a mix of smooth seasonal, erratic and
intermittent series), splits it with the pipeline's own partitioning (`safestock.models.partition`),
forecasts every partition with `forecast_demand`, merges, and prints seconds, seconds per 1,000
SKUs and peak memory. The weeks are dated (ISO Mondays from 2023-01-02), so the engine also fits
its calendar-event model, as in the flow (``--no-calendar`` leaves the dates out). With ``--workers N`` the partitions run on a dask.distributed
LocalCluster of N worker processes (the same engine the flow's DaskTaskRunner uses).
``--global-model`` also offers the global gradient-boosted candidate (``[forecast] global_model``,
docs/forecasting.md §2.2). Printed: wall seconds, CPU seconds of this process (user + system, all
threads; serial runs only: Dask workers are other processes) and peak RSS.

    python benchmarks/scaling.py --skus 10000 100000
    python benchmarks/scaling.py --skus 1000000 --partition-size 50000 --workers 2
    python benchmarks/scaling.py --skus 20000 --global-model
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from safestock.models.forecasting import forecast_demand
from safestock.models.partition import merge_forecasts, partition_skus

WEEKS = 156
WEEK_STARTS = np.datetime64("2023-01-02") + np.timedelta64(7, "D") * np.arange(WEEKS)


def synthetic_weekly_demand(n_skus: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SKU codes, (n, 156) weekly demand and start indices: 50 % smooth seasonal, 20 % erratic,
    30 % intermittent."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(2.0, 1.0, n_skus)
    season = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(WEEKS)[None, :] / 52 + rng.random((n_skus, 1))))
    kind = rng.choice(3, n_skus, p=[0.5, 0.2, 0.3])
    rate = level[:, None] * np.where(kind[:, None] == 0, season, 1.0)
    demand = rng.poisson(rate).astype(np.float64)
    erratic = kind == 1
    demand[erratic] = rng.negative_binomial(1.0, 1 / (1 + level[erratic, None]), (erratic.sum(), WEEKS))
    intermittent = kind == 2
    occurs = rng.random((intermittent.sum(), WEEKS)) < 0.15
    demand[intermittent] = occurs * (1 + rng.poisson(level[intermittent, None], (intermittent.sum(), WEEKS)))
    start = np.where(rng.random(n_skus) < 0.1, rng.integers(100, WEEKS, n_skus), 0)
    demand[np.arange(WEEKS)[None, :] < start[:, None]] = 0
    skus = np.array([f"SKU-{i:07d}" for i in range(n_skus)], dtype=object)
    return skus, demand, start


def forecast_partition(skus: np.ndarray, history: np.ndarray, start: np.ndarray, week_starts: np.ndarray | None,
                       global_model: bool = False):
    return forecast_demand(skus, history, start, 26, None, week_starts=week_starts, global_model=global_model)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(n_skus: int, partition_size: int, client, week_starts: np.ndarray | None,
        global_model: bool = False) -> tuple[float, float, int]:
    skus, demand, start = synthetic_weekly_demand(n_skus, seed=n_skus)
    partitions = partition_skus(skus, partition_size)
    started, started_cpu = time.perf_counter(), cpu_seconds()
    if client is None:
        parts = [forecast_partition(skus[p], demand[p], start[p], week_starts, global_model) for p in partitions]
    else:
        futures = [client.submit(forecast_partition, skus[p], demand[p], start[p], week_starts, global_model,
                                 pure=False)
                   for p in partitions]
        parts = client.gather(futures)
    merged = merge_forecasts(parts, partitions, n_skus)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    assert merged.mean.shape == (n_skus, 26)
    if global_model:
        chosen = int((merged.model == "global_gbm").sum())
        print(f"  global_gbm chosen for {chosen:,} of {n_skus:,} SKUs")
    return seconds, cpu, len(partitions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--partition-size", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--no-calendar", action="store_true", help="undated weeks: no calendar-event model")
    parser.add_argument("--global-model", action="store_true",
                        help="offer the global gradient-boosted candidate ([forecast] global_model = true)")
    args = parser.parse_args()

    client = None
    if args.workers:
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None))

    print(f"{'SKUs':>10} {'partitions':>10} {'seconds':>9} {'CPU s':>7} {'s/1k SKUs':>10} {'peak RSS MiB':>13}  "
          f"({'dask x' + str(args.workers) if client else 'serial'}"
          f"{', global model' if args.global_model else ''})")
    for n_skus in args.skus:
        seconds, cpu, n_partitions = run(n_skus, args.partition_size, client,
                                         None if args.no_calendar else WEEK_STARTS, args.global_model)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n_skus:>10,} {n_partitions:>10} {seconds:>9.1f} {cpu:>7.1f} {seconds / n_skus * 1000:>10.3f} "
              f"{peak:>13,.0f}")
    if client is not None:
        client.close()


if __name__ == "__main__":
    main()
