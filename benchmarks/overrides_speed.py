"""How long the planner overrides take in a run of N SKUs (issue 18, item 1), step by step.

Builds, in memory, what the flow hands the override steps: a weekly demand matrix (N SKUs x 156
weeks, a tenth of them new, first sale in the last 8 weeks), a 26-week forecast, a policy frame,
and an overrides file of 12 lines that reach every SKU (scope all, per supplier, per category,
per SKU; every kind: forecast multiplier / add / fixed, service level, do-not-order, min and max
stock, like-item for 500 new SKUs). Then times each step of the flow's wiring
(`pipelines/flow.py`: matching, like-item history, forecast and planning kinds, min/max stock,
contradictions and the `overrides_applied` table) and prints the seconds and the rows recorded.

    python benchmarks/overrides_speed.py                  # 10,000 and 100,000 SKUs
    python benchmarks/overrides_speed.py --skus 100000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from safestock.models.demand_matrix import DemandMatrix
from safestock.models.like_item import borrow_like_history
from safestock.models.override_conflicts import override_conflicts
from safestock.models.override_limits import apply_stock_limits
from safestock.models.overrides import applied_table, apply_overrides, override_matches
from safestock.pipelines.inputs.overrides import read_overrides

AS_OF = pd.Timestamp("2026-11-15")
WEEKS, HORIZON, LIKE_ITEMS = 156, 26, 500


def _world(n: int, seed: int = 1) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU-{i:07d}" for i in range(n)])
    supplier = np.array([f"SUP-{i % 200:03d}" for i in range(n)])
    category = np.array(["mechanical", "electrical", "fluid handling", "fasteners"])[np.arange(n) % 4].astype(object)
    start = np.where(np.arange(n) % 10 == 0, WEEKS - rng.integers(1, 9, n), rng.integers(0, 52, n))
    quantity = rng.poisson(5.0, (n, WEEKS)).astype(float) * (np.arange(WEEKS)[None, :] >= start[:, None])
    demand = DemandMatrix(skus, pd.date_range("2023-11-20", periods=WEEKS, freq="7D"), quantity, start)
    mean = np.full((n, HORIZON), 5.0)
    bands = {"mean": mean, "sd": np.full((n, HORIZON), 2.0), "lo80": mean - 2, "hi80": mean + 2,
             "lo95": mean - 4, "hi95": mean + 4}
    policy = pd.DataFrame({"sku": skus, "reorder_point": 20.0, "order_up_to": 40.0, "protection_demand_mean": 15.0,
                           "safety_stock": 5.0, "method": "cycle/normal"})
    return {"skus": skus, "supplier": supplier, "category": category, "demand": demand, "bands": bands,
            "policy": policy, "level": np.full(n, np.nan), "stopped": np.zeros(n, dtype=bool)}


def _overrides_file(folder: Path, skus: np.ndarray, start: np.ndarray) -> pd.DataFrame:
    new = skus[start >= WEEKS - 8][:LIKE_ITEMS]
    lines = ["scope,key,kind,value,start,end,note",
             "all,,service_level,0.95,,,", "all,,forecast_multiplier,1.1,2026-11-16,2027-01-31,",
             "category,electrical,forecast_add,2,,,", "category,fasteners,min_stock,10,,,",
             "supplier,SUP-001,max_stock,30,,,", "supplier,SUP-002,service_level,0.99,,,",
             f"sku,{skus[1]},forecast_fixed,40,,,", f"sku,{skus[2]},do_not_order,,,,",
             f"sku,{skus[3]},min_stock,50,,,", f"sku,{skus[3]},max_stock,45,,,",
             "all,,forecast_add,1,2026-01-05,2026-01-31,past"]
    lines += [f"sku,{sku},like_item,{skus[5]},,," for sku in new]
    (folder / "overrides.csv").write_text("\n".join(lines) + "\n")
    return read_overrides(folder)


def measure(n: int, folder: Path) -> None:
    world = _world(n)
    demand: DemandMatrix = world["demand"]
    overrides = _overrides_file(folder, world["skus"], demand.start)
    times: dict[str, float] = {}

    def timed(name, fn, *args):
        started = time.perf_counter()
        result = fn(*args)
        times[name] = time.perf_counter() - started
        return result

    matches = timed("match", override_matches, overrides, world["skus"], world["supplier"], world["category"])
    _, like_rows = timed("like_item", borrow_like_history, demand, overrides, matches, AS_OF)
    weeks = pd.date_range("2026-11-16", periods=HORIZON, freq="7D")
    _, _, stopped, rows = timed("forecast+planning", apply_overrides, world["bands"], weeks, world["level"],
                                world["stopped"], AS_OF, overrides, matches, world["skus"])
    _, limit_rows = timed("min/max stock", apply_stock_limits, world["policy"], overrides, matches, AS_OF, stopped)
    conflicts = timed("contradictions", override_conflicts, overrides, matches, world["skus"],
                      np.zeros(n, dtype=bool), AS_OF)
    table = timed("overrides_applied", applied_table, overrides, [like_rows, *rows, limit_rows], AS_OF, conflicts)
    print(f"{n:>9,} SKUs, {len(overrides):,} override lines, {len(matches):,} (override, SKU) matches, "
          f"{len(table):,} rows recorded: " + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in times.items())
          + f"; total {sum(times.values()):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for n in args.skus:
            measure(n, Path(folder))


if __name__ == "__main__":
    main()
