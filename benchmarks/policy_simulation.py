"""Policy benchmark: achieved service vs target by Monte Carlo, and speed of the inventory stage.

    .venv/bin/python benchmarks/policy_simulation.py            # full table + 100,000-SKU timing
    .venv/bin/python benchmarks/policy_simulation.py --skus 20000 --weeks 208

Part 1 simulates the (R, s, S) policy from ``compute_policy`` (weekly review, mean lead time 4
weeks, EOQ = 2 weeks of demand) on known demand (normal, Poisson, negative binomial, intermittent)
with lead-time CV 0 / 0.25 / 0.5, for targets 0.90 / 0.95 / 0.98, under three policies (textbook s on D_{L+R}; Round 6 undershoot
correction; Round 7 = + lead-time mixture for the normal family and lattice undershoot for Poisson
demand, the default) and prints achieved cycle service (P1) and fill rate (P2) against target, a
Round 6 -> Round 7 table with average stock, and for the count cells (integer s) the service at
s - 1 and s on the same draws (discreteness brackets). Lead times
come from a supplier that delivers in order with the stated mean and CV ('sequential', default; see
models/inventory/simulation.py); a last table compares it with the old i.i.d. lead times whose
orders cross ('independent') and with i.i.d. draws held back to the previous arrival ('capped'),
with the effective lead-time mean / CV measured on the simulated orders.
Part 2 times estimate_lead_times, build_planning_inputs, compute_policy, project_risk and
recommend_orders on synthetic SKUs x 26 weeks.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from safestock.models.inventory import (  # noqa: E402
    PolicyConfig,
    build_planning_inputs,
    compute_policy,
    estimate_lead_times,
    project_risk,
    recommend_orders,
)
from safestock.models.inventory.simulation import LEAD_TIME_MODELS, evaluate_policy  # noqa: E402

TOLERANCE = 0.02


# the methods compared: textbook s on D_{L+R}; Round 6 = undershoot correction with the two-moment
# normal for a variable lead time and the continuous undershoot; Round 7 (default) = + lead-time
# mixture for the normal family + lattice undershoot for Poisson demand
METHODS = {
    "textbook": dict(undershoot_correction=False, config_overrides=dict(lead_time_mixture=False,
                                                                        lattice_undershoot=False)),
    "round6": dict(undershoot_correction=True, config_overrides=dict(lead_time_mixture=False,
                                                                     lattice_undershoot=False)),
    "round7": dict(undershoot_correction=True, config_overrides=None),
}


def service_table(skus_per_cell: int, weeks: int, seed: int, lead_time_model: str = "sequential",
                  methods: tuple[str, ...] = tuple(METHODS), bracket: bool = False) -> pd.DataFrame:
    frames = []
    for method in methods:
        for service_type, metric in (("cycle", "cycle_service"), ("fill_rate", "fill_rate")):
            summary = evaluate_policy(service_level_type=service_type, skus_per_cell=skus_per_cell, weeks=weeks,
                                      seed=seed, lead_time_model=lead_time_model,
                                      bracket=bracket and method == "round7", **METHODS[method])
            summary["method"] = method
            summary["achieved"] = summary[metric]
            summary["achieved_below"] = summary[f"{metric}_below"]
            frames.append(summary)
    table = pd.concat(frames, ignore_index=True)
    table["gap_points"] = 100 * (table["achieved"] - table["target"])
    return table


def before_after(table: pd.DataFrame) -> str:
    """Round 6 vs Round 7 per cell: P1 / P2 achieved and average on hand under each policy."""
    index = ["demand", "lead_time_cv", "target"]
    columns = {}
    for method in ("round6", "round7"):
        for service_type, label in (("cycle", "P1"), ("fill_rate", "P2")):
            part = table[(table["method"] == method) & (table["service_level_type"] == service_type)].set_index(index)
            columns[(label, method)] = part["achieved"]
            columns[(f"on_hand_{label}", method)] = part["mean_on_hand"]
    frame = pd.DataFrame(columns).sort_index(axis=1, level=0, sort_remaining=False).round(3)
    return frame.to_string()


def discreteness_brackets(table: pd.DataFrame) -> str:
    """Count cells (integer s) of the Round 7 policy: service achieved at s - 1 and at s, same draws."""
    part = table[(table["method"] == "round7") & table["achieved_below"].notna()].copy()
    part["step_points"] = 100 * (part["achieved"] - part["achieved_below"])
    part["s_within_2"] = (part["achieved"] - part["target"]).abs() <= TOLERANCE + 1e-9
    part["s_minus_1_within_2"] = (part["achieved_below"] - part["target"]).abs() <= TOLERANCE + 1e-9
    shown = part[["demand", "lead_time_cv", "service_level_type", "target", "reorder_point", "achieved_below",
                  "achieved", "step_points", "s_within_2", "s_minus_1_within_2"]]
    shown = shown.rename(columns={"achieved_below": "at_s_minus_1", "achieved": "at_s"})
    return shown.round(3).to_string(index=False)


def lead_time_comparison(skus_per_cell: int, weeks: int, seed: int) -> str:
    """Undershoot policy under each lead-time model: P1, P2, on hand (cycle policy), effective lead time."""
    tables = {model: service_table(skus_per_cell, weeks, seed, model, methods=("round7",))
              for model in LEAD_TIME_MODELS}
    index = ["demand", "lead_time_cv", "target"]
    columns = {}
    for model, table in tables.items():
        cycle = table[table["service_level_type"] == "cycle"].set_index(index)
        fill = table[table["service_level_type"] == "fill_rate"].set_index(index)
        columns[("P1", model)] = cycle["cycle_service"]
        columns[("P2", model)] = fill["fill_rate"]
        columns[("on_hand_P1", model)] = cycle["mean_on_hand"]
        columns[("L_mean", model)] = cycle["effective_lead_time_mean"]
        columns[("L_cv", model)] = cycle["effective_lead_time_cv"]
    frame = pd.DataFrame(columns).round(3)
    lines = ["## Lead-time models (Round 7 policy): independent = i.i.d., orders cross; "
             "capped = i.i.d. held to the previous arrival; sequential = in order, stated moments (after)\n",
             frame.to_string()]
    for model, table in tables.items():
        metric = table["cycle_service"].where(table["service_level_type"] == "cycle", table["fill_rate"])
        within = ((metric - table["target"]).abs() <= TOLERANCE + 1e-9)
        lines.append(f"{model}: {int(within.sum())}/{len(within)} cells (P1 and P2) within ±2 points; "
                     f"LT CV 0.5: {int(within[table['lead_time_cv'] == 0.5].sum())}/"
                     f"{int((table['lead_time_cv'] == 0.5).sum())}")
    return "\n".join(lines)


def synthetic_inputs(n: int, horizon: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    as_of, first_week = pd.Timestamp("2026-01-07"), pd.Timestamp("2026-01-12")
    skus = np.array([f"SKU{i:07d}" for i in range(n)])
    supplier_of = np.array([f"V{i % 200}" for i in range(n)])
    items = pd.DataFrame({"sku": skus, "supplier_id": supplier_of, "description": "",
                          "unit_cost": rng.uniform(1, 100, n), "pack_size": rng.choice([1.0, 6.0, 12.0], n),
                          "moq": 0.0, "service_level": np.nan,
                          "status": np.where(rng.random(n) < 0.02, "discontinued", "active")})
    suppliers = pd.DataFrame({"supplier_id": [f"V{i}" for i in range(200)], "name": "supplier",
                              "lead_time_days": rng.integers(7, 70, 200).astype(float), "review_period_days": 7.0,
                              "min_order_value": rng.choice([0.0, 200.0, 1000.0], 200)})
    lines = 2 * n
    which = rng.integers(0, n, lines)
    ordered = as_of - pd.to_timedelta(rng.integers(1, 400, lines), unit="D")
    received = ordered + pd.to_timedelta(rng.integers(5, 70, lines), unit="D")
    is_open = received > as_of
    quantity = rng.integers(1, 100, lines).astype(float)
    purchase_orders = pd.DataFrame({
        "po_id": np.arange(lines).astype(str), "sku": skus[which], "supplier_id": supplier_of[which],
        "quantity": quantity, "order_date": ordered, "expected_date": ordered + pd.Timedelta(days=28),
        "received_date": received.where(~is_open), "received_quantity": np.where(is_open, np.nan, quantity),
        "status": np.where(is_open, "open", "closed")})
    inventory = pd.DataFrame({"sku": skus, "on_hand": rng.integers(0, 200, n).astype(float),
                              "backordered": rng.integers(0, 3, n).astype(float), "as_of": as_of})
    season = 1 + 0.3 * np.sin(np.arange(horizon) / 4)
    mean = rng.gamma(1.5, 8, (n, 1)) * season[None, :]
    family = rng.choice(["normal", "poisson", "negbin"], n)
    sd = np.sqrt(mean) * np.where(family == "poisson", 1.0, 1.6)[:, None]
    return dict(skus=skus, items=items, suppliers=suppliers, purchase_orders=purchase_orders, inventory=inventory,
                mean=mean, sd=sd, family=family, abc=rng.choice(["A", "B", "C"], n), as_of=as_of,
                first_week=first_week)


def speed(n: int, horizon: int = 26) -> dict[str, float]:
    data = synthetic_inputs(n, horizon)
    config = PolicyConfig(horizon_weeks=horizon)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    lead_times = estimate_lead_times(data["purchase_orders"], data["items"], data["suppliers"], data["as_of"], config)
    timings["estimate_lead_times"] = time.perf_counter() - start
    start = time.perf_counter()
    inputs = build_planning_inputs(data["skus"], data["items"], data["suppliers"], lead_times, data["inventory"],
                                   data["purchase_orders"], data["as_of"])
    timings["build_planning_inputs"] = time.perf_counter() - start
    start = time.perf_counter()
    policy = compute_policy(inputs, data["mean"], data["sd"], data["family"], np.full(n, "smooth"), data["abc"],
                            config)
    timings["compute_policy"] = time.perf_counter() - start
    start = time.perf_counter()
    projection, risk = project_risk(inputs, data["mean"], data["sd"], data["family"], data["first_week"], policy,
                                    config)
    timings["project_risk"] = time.perf_counter() - start
    start = time.perf_counter()
    orders = recommend_orders(inputs, policy, risk, config)
    timings["recommend_orders"] = time.perf_counter() - start
    print(f"{'projection rows':>22}: {len(projection):,}\n{'order lines':>22}: {len(orders):,}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000, help="SKUs for the speed test")
    parser.add_argument("--sim-skus", type=int, default=200, help="simulated SKUs per cell")
    parser.add_argument("--weeks", type=int, default=312, help="simulated weeks (52 warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lead-time-model", default="sequential", choices=LEAD_TIME_MODELS,
                        help="lead-time model of the main tables")
    args = parser.parse_args()
    pd.set_option("display.width", 200)

    start = time.perf_counter()
    table = service_table(args.sim_skus, args.weeks, args.seed, args.lead_time_model, bracket=True)
    elapsed = time.perf_counter() - start
    print(f"## Achieved vs target ({args.sim_skus} SKUs x {args.weeks} weeks per cell, seed {args.seed}, "
          f"lead times {args.lead_time_model}; {elapsed:.1f} s)\n")
    shown = table.pivot_table(index=["demand", "lead_time_cv", "target"], columns=["method", "service_level_type"],
                              values="achieved").round(3)
    print(shown.to_string())
    print("\n## Cells within ±2 points of target\n")
    table["within"] = table["gap_points"].abs() <= 100 * TOLERANCE
    print(table.groupby(["method", "service_level_type", "demand"])["within"].agg(["sum", "count"]).to_string())
    print("\n## Average on hand (units) at equal targets\n")
    print(table.pivot_table(index=["demand", "target"], columns=["method", "service_level_type"],
                            values="mean_on_hand").round(1).to_string())
    print("\n## Round 6 -> Round 7 per cell (achieved; average on hand under the P1 / P2 policy)\n")
    print(before_after(table))
    print("\n## Discreteness: count cells, Round 7, service at s - 1 and s (same demand and lead times)\n")
    print(discreteness_brackets(table))
    print(f"\n{lead_time_comparison(args.sim_skus, args.weeks, args.seed)}")

    print(f"\n## Speed: {args.skus:,} SKUs x 26 weeks\n")
    timings = speed(args.skus)
    for name, value in timings.items():
        print(f"{name:>22}: {value:,.2f} s")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS':>22}: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
