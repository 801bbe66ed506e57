"""Added time of the lost-sales projection (issue 16.5): `project_risk` with every SKU a `lost`
item vs every SKU a `backorder` item, same forecast, stock and open orders.

`--skus` SKUs, a `--weeks`-week horizon, forecast means 0.5-50 a week (count family below 5,
normal above), on hand 0-8 weeks of demand, an open order on a third of them. Prints the seconds
of each and the difference (the grid propagation of models/inventory/lost_sales.py).

    .venv/bin/python benchmarks/lost_sales_projection.py --skus 20000 --weeks 26
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd
from safestock.models.inventory import PlanningInputs, PolicyConfig, project_risk

AS_OF = pd.Timestamp("2026-11-11")
FIRST_WEEK = pd.Timestamp("2026-11-16")


def planning_inputs(n: int, rng: np.random.Generator, weekly: np.ndarray) -> PlanningInputs:
    """n SKUs of one supplier with on hand and one open order for a third of them."""
    ordered = np.flatnonzero(rng.random(n) < 1 / 3)
    return PlanningInputs(
        sku=np.array([f"S{i:06d}" for i in range(n)]), supplier_id=np.full(n, "V1", dtype=object),
        unit_cost=np.full(n, 5.0), pack_size=np.ones(n), moq=np.zeros(n), service_level=np.full(n, np.nan),
        discontinued=np.zeros(n, bool), review_period_weeks=np.ones(n), min_order_value=np.zeros(n),
        lead_time_weeks_mean=np.full(n, 3.0), lead_time_weeks_sd=np.full(n, 0.5), lead_time_weeks_p90=np.full(n, 4.0),
        on_hand=np.round(weekly * rng.uniform(0, 8, n)), backordered=np.zeros(n),
        open_order_row=ordered, open_order_quantity=np.round(weekly[ordered] * 6),
        open_order_arrival=(FIRST_WEEK + pd.to_timedelta(rng.integers(0, 42, len(ordered)), unit="D")).to_numpy(),
        as_of=AS_OF)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=20000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.skus
    weekly = rng.uniform(0.5, 50.0, n)
    mean = np.repeat(weekly[:, None], args.weeks, axis=1)
    sd = np.sqrt(mean * 1.5)
    family = np.where(weekly < 5, "negbin", "normal")
    backorder = planning_inputs(n, rng, weekly)
    lost = dataclasses.replace(backorder, lost_sales=np.ones(n, dtype=bool))
    policy = pd.DataFrame({"sku": backorder.sku, "protection_demand_mean": 4 * weekly,
                           "protection_demand_sd": 2 * np.sqrt(weekly)})
    config = PolicyConfig(horizon_weeks=args.weeks)
    seconds = {}
    for label, inputs in (("backorder", backorder), ("lost", lost)):
        started = time.perf_counter()
        project_risk(inputs, mean, sd, family, FIRST_WEEK, policy, config)
        seconds[label] = time.perf_counter() - started
    print(f"{n:,} SKUs x {args.weeks} weeks: project_risk all backorder {seconds['backorder']:.1f} s, all lost "
          f"{seconds['lost']:.1f} s (added {seconds['lost'] - seconds['backorder']:.1f} s, "
          f"{(seconds['lost'] - seconds['backorder']) / n * 1e6:.0f} µs per lost SKU)")


if __name__ == "__main__":
    main()
