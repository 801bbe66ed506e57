"""Independent closed-loop proof (issue 14, item 4): the recommended (R, s, S) on worlds it was not tuned on.

    .venv/bin/python benchmarks/closed_loop_worlds.py                     # 2,000 SKUs x 100 replications
    .venv/bin/python benchmarks/closed_loop_worlds.py --skus 5000 --replications 200 --seed 14002
    .venv/bin/python benchmarks/closed_loop_worlds.py --world frozen      # no drift after the run date
    .venv/bin/python benchmarks/closed_loop_worlds.py --frontier          # + on hand at equal service (~5x loop)

1. **World.** ``--skus`` SKUs, one fifth per true class (seed family 14_000 + ``--seed``; ranges unlike the
   demo generator's): *seasonal* (sine of period 52, amplitude 0.25-0.6, negative binomial noise with
   size k 5-20), *trending* (±0.5-1 % a week, compounding, same noise), *erratic* (flat, negative
   binomial with size k ("dispersion") 0.8-2.5), *intermittent* (a demand in a week with probability
   0.15-0.45, size 1 + Poisson(0.5-3)), *lumpy* (probability 0.05-0.30, size 1 + negative binomial of
   mean 3-20 and size 0.5-1.5). Base level log-uniform 0.5-60 units a week (intermittent / lumpy: set
   by their occurrence and size). 40 suppliers, each with a true lead time gamma(mean 2-10 weeks, CV
   0-0.5) discretised to whole weeks, a quoted lead time 10-30 % shorter than the true mean
   (suppliers.lead_time_days), review period 1 or 2 weeks. Targets items.service_level uniform
   0.90-0.98. 156 weeks of history; purchase-order history of receipts with lead times drawn from the
   true distribution (what the pipeline's lead-time estimator learns from).
2. **Product.** The world is written as an input folder (sales, items, suppliers, inventory,
   purchase_orders) and the real flow (``weekly_run``, default configuration: service calibration on)
   is run on it; its ``inventory_policy`` gives s, S and R per SKU.
3. **Closed loop.** ``--replications`` copies of every SKU run ``--weeks`` weeks (after ``--warmup``
   weeks, started at S) under the TRUE demand and lead-time distributions, vectorised over SKUs x
   replications, one ``week_step`` per week (the step the product's replay uses). Lead times come
   from an in-order supplier with the stated marginal (``simulation.sequential_lead_times``' model).
   World ``drift`` (default): the world keeps evolving after the run date (season turns, trend
   compounds) and the levels follow it as a planner re-running weekly would: s_t, S_t = the run's s, S x
   mu_P(t) / mu_P(0), mu_P(t) the true mean demand over the protection interval starting at week t
   (the product's safety factor held; its forecast level error at the run date kept). World
   ``frozen``: demand stays at the run date's parameters (no season, no trend), levels fixed.
4. **Product at the true level** (diagnosis): the run's s and S x true mu_P / the run's mu_P (protection
   demand mean), i.e. its forecast level error removed, its distribution and safety factor kept.
   **Textbook.** The same loop, same draws, for s = mu_P + z sigma_P on D(L+R) normal from the TRUE
   parameters (z = Phi^-1(target), sigma_P^2 = sum of weekly variances over L + R + d^2 sigma_L^2),
   S = s + the product's S - s. **Textbook, same information** (``textbook_estimated``): the same rule given what
   the product estimated instead of the truth: s = mu^_P + z sigma^_P with mu^_P the run's protection_demand_mean,
   sigma^_P^2 = P^ sd^_d^2 + d^^2 sd^_L^2 (the run's demand_per_week_mean d^, demand_per_week_sd sd^_d,
   lead_time_weeks_mean / _sd, P^ = L^ + R), S = s + the product's S - s, following the true mu_P in the drift world
   as the product's levels do.

Printed per true class: SKUs, mean target, achieved cycle service per replenishment cycle (share of
receipts before which net stock was >= 0, pooled over replications), per-review-period service
(share of review periods without a stock-out week), fill rate, mean absolute per-SKU miss |cycle
service - target| (points), average on hand; for the product and the textbook rule; then the
product by order cover (S - s in weeks of demand) and the zero policies with their reasons. ``--frontier``:
both policies swept over safety-factor offsets on the same draws, and per class the on hand of each at equal
cycle service (at the class's target and at the product's achieved service) and the ratio product / textbook
(``closed_loop_frontier.py``). A SKU
with a zero policy orders nothing (no order line, as in the product): no cycles, its demand counts
in the fill rate as lost; the textbook rule is not given the SKUs the product does not stock.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import closed_loop_frontier as clf  # a sibling script (its folder is on sys.path when run as a script)
import numpy as np
import pandas as pd
from safestock.models.inventory.simulation import (
    discrete_lead_time_pmf,
    pmf_moments,
    sequential_driver_pmf,
)
from safestock.models.inventory.week_step import initial_state, week_step
from scipy import stats

CLASSES = ("seasonal", "trending", "erratic", "intermittent", "lumpy")
SEED_FAMILY = 14_000
HISTORY_WEEKS = 156
SUPPLIERS = 40
AS_OF = pd.Timestamp("2026-09-27")   # a Sunday: the last history week starts Monday 09-21


@dataclasses.dataclass(frozen=True)
class World:
    """True generating parameters, per SKU (n,) unless said; ``history`` (n, HISTORY_WEEKS)."""

    skus: np.ndarray
    true_class: np.ndarray
    base: np.ndarray          # weekly level at week 0 of the history (seasonal / trending / erratic)
    amplitude: np.ndarray     # seasonal
    phase: np.ndarray         # seasonal, weeks
    growth: np.ndarray        # trending: weekly growth rate
    size_k: np.ndarray        # negative binomial size of the weekly noise (seasonal, trending, erratic)
    occurrence: np.ndarray    # intermittent / lumpy: P(demand in a week)
    size_mean: np.ndarray     # intermittent / lumpy: E[size]
    size_var: np.ndarray      # intermittent / lumpy: Var[size]
    supplier: np.ndarray      # supplier row 0..SUPPLIERS-1
    target: np.ndarray
    lead_pmf: np.ndarray      # (SUPPLIERS, K) true discretised lead-time pmf
    quoted_weeks: np.ndarray  # (SUPPLIERS,)
    review_weeks: np.ndarray  # (SUPPLIERS,) int
    history: np.ndarray


def true_moments(world: World, weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(weeks)) true weekly mean and variance at the given week numbers (0 = first history
    week; HISTORY_WEEKS = the first week after the run date)."""
    t = np.asarray(weeks, dtype=float)[None, :]
    cls = world.true_class[:, None]
    level = world.base[:, None] * np.where(
        cls == "seasonal", 1.0 + world.amplitude[:, None] * np.sin(2 * np.pi * (t + world.phase[:, None]) / 52.0),
        np.where(cls == "trending", (1.0 + world.growth[:, None]) ** t, 1.0))
    count = (cls == "intermittent") | (cls == "lumpy")
    p, m, v = world.occurrence[:, None], world.size_mean[:, None], world.size_var[:, None]
    count_mean = p * m
    count_var = p * (v + m**2) - count_mean**2
    mean = np.where(count, count_mean, level)
    var = np.where(count, count_var, level + level**2 / world.size_k[:, None])
    return mean, var


def sample_weeks(world: World, weeks: np.ndarray, rng: np.random.Generator, copies: int = 1) -> np.ndarray:
    """(copies x n, len(weeks)) demand draws from the true distributions (copy-major rows)."""
    mean, _ = true_moments(world, weeks)
    mean = np.tile(mean, (copies, 1))
    cls = np.tile(world.true_class, copies)[:, None]
    k = np.tile(world.size_k, copies)[:, None]
    shape = mean.shape
    noise = rng.negative_binomial(k, k / (k + np.maximum(mean, 1e-12)), shape).astype(float)
    p = np.tile(world.occurrence, copies)[:, None]
    size_mean = np.tile(world.size_mean, copies)[:, None]
    size_var = np.tile(world.size_var, copies)[:, None]
    occurs = rng.random(shape) < p
    extra_mean = np.maximum(size_mean - 1.0, 1e-9)
    extra_var = np.maximum(size_var, extra_mean * (1 + 1e-9))   # NB needs var > mean
    size_k = extra_mean**2 / (extra_var - extra_mean)
    sizes = 1.0 + np.where(cls == "intermittent", rng.poisson(extra_mean, shape),
                           rng.negative_binomial(size_k, size_k / (size_k + extra_mean), shape))
    return np.where((cls == "intermittent") | (cls == "lumpy"), np.where(occurs, sizes, 0.0), noise)


def generate_world(n: int, seed: int) -> World:
    """The world of the module docstring, from the seed family 14_000 + ``seed``."""
    rng = np.random.default_rng(SEED_FAMILY + seed)
    true_class = np.array(CLASSES)[np.arange(n) % len(CLASSES)]
    rng.shuffle(true_class)
    base = np.exp(rng.uniform(np.log(0.5), np.log(60.0), n))
    growth = rng.uniform(0.005, 0.01, n) * rng.choice([-1.0, 1.0], n)
    # a trending SKU's level at the run date is the drawn base: its history starts at base / (1+g)^T
    base = np.where(true_class == "trending", base / (1.0 + growth) ** HISTORY_WEEKS, base)
    size_k = np.where(true_class == "erratic", rng.uniform(0.8, 2.5, n), rng.uniform(5.0, 20.0, n))
    lumpy = true_class == "lumpy"
    occurrence = np.where(lumpy, rng.uniform(0.05, 0.30, n), rng.uniform(0.15, 0.45, n))
    poisson_extra = rng.uniform(0.5, 3.0, n)
    lumpy_mean = rng.uniform(3.0, 20.0, n)
    lumpy_k = rng.uniform(0.5, 1.5, n)
    size_mean = np.where(lumpy, lumpy_mean, 1.0 + poisson_extra)
    size_var = np.where(lumpy, (lumpy_mean - 1.0) + (lumpy_mean - 1.0) ** 2 / lumpy_k, poisson_extra)
    lead_mean = rng.uniform(2.0, 10.0, SUPPLIERS)
    lead_cv = rng.uniform(0.0, 0.5, SUPPLIERS)
    pmfs = [discrete_lead_time_pmf(m, cv) for m, cv in zip(lead_mean, lead_cv)]
    width = max(len(p) for p in pmfs)
    lead_pmf = np.array([np.pad(p, (0, width - len(p))) for p in pmfs])
    true_mean = np.array([pmf_moments(p)[0] for p in pmfs])
    quoted = true_mean * (1.0 - rng.uniform(0.10, 0.30, SUPPLIERS))
    world = World(skus=np.array([f"W{seed:02d}-{i:06d}" for i in range(n)]), true_class=true_class, base=base,
                  amplitude=rng.uniform(0.25, 0.6, n), phase=rng.uniform(0, 52, n), growth=growth, size_k=size_k,
                  occurrence=occurrence, size_mean=size_mean, size_var=size_var,
                  supplier=rng.integers(0, SUPPLIERS, n), target=np.round(rng.uniform(0.90, 0.98, n), 3),
                  lead_pmf=lead_pmf, quoted_weeks=quoted, review_weeks=rng.choice([1, 2], SUPPLIERS),
                  history=np.zeros((n, 0)))
    return dataclasses.replace(world, history=sample_weeks(world, np.arange(HISTORY_WEEKS), rng))


def input_tables(world: World, seed: int) -> dict[str, pd.DataFrame]:
    """The world's contract tables: weekly sales on Mondays, items with the targets, suppliers with the
    quoted lead times, an on-hand snapshot (4 weeks of recent demand) and closed purchase orders every
    ~8 weeks per SKU with lead times drawn from the true pmf."""
    rng = np.random.default_rng(SEED_FAMILY + 500 + seed)
    n = len(world.skus)
    mondays = pd.date_range(end=AS_OF - pd.Timedelta(days=6), periods=HISTORY_WEEKS, freq="7D")
    row, col = np.nonzero(world.history > 0)
    sales = pd.DataFrame({"date": mondays[col], "sku": world.skus[row], "quantity": world.history[row, col]})
    supplier_ids = np.array([f"SUP-{j:02d}" for j in range(SUPPLIERS)])
    items = pd.DataFrame({"sku": world.skus, "supplier_id": supplier_ids[world.supplier], "unit_cost": 20.0,
                          "pack_size": 1, "moq": 0, "description": world.true_class, "service_level": world.target,
                          "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": supplier_ids, "name": [f"World supplier {j}" for j in range(SUPPLIERS)],
                              "lead_time_days": np.round(7 * world.quoted_weeks).astype(int),
                              "review_period_days": 7 * world.review_weeks, "min_order_value": 0.0})
    on_hand = np.round(world.history[:, -13:].mean(axis=1) * 4)
    inventory = pd.DataFrame({"sku": world.skus, "on_hand": on_hand, "as_of": AS_OF.date(), "backordered": 0})
    per_sku = HISTORY_WEEKS // 8
    po_row = np.repeat(np.arange(n), per_sku)
    order_week = np.tile(np.arange(per_sku) * 8, n) + rng.integers(0, 8, n * per_sku)
    cdf = world.lead_pmf.cumsum(axis=1)[world.supplier[po_row]]
    lead_weeks = (cdf < rng.random(len(po_row))[:, None]).sum(axis=1)
    order_date = mondays[np.minimum(order_week, HISTORY_WEEKS - 1)]
    received = order_date + pd.to_timedelta(7 * lead_weeks, unit="D")
    keep = received <= AS_OF
    quantity = np.maximum(np.round(world.history[po_row, :].mean(axis=1) * 8), 1.0)
    purchase_orders = pd.DataFrame({
        "po_id": [f"PO-{i:07d}" for i in range(len(po_row))], "sku": world.skus[po_row],
        "supplier_id": supplier_ids[world.supplier[po_row]], "quantity": quantity,
        "order_date": order_date.date, "expected_date": (order_date + pd.to_timedelta(
            np.round(7 * world.quoted_weeks[world.supplier[po_row]]), unit="D")).date,
        "received_date": received.date, "received_quantity": quantity, "status": "closed"})[keep]
    return {"sales": sales, "items": items, "suppliers": suppliers, "inventory": inventory,
            "purchase_orders": purchase_orders}


def product_policy(world: World, seed: int, workdir: Path, config_text: str = "",
                   policy_db: Path | None = None) -> pd.DataFrame:
    """Write the world as an input folder, run the real weekly flow on it, return its policy per SKU
    (in the world's SKU order) with the product's demand class. ``policy_db``: read the newest run of
    that database instead (a run of the same world and seed, e.g. from ``--workdir``)."""
    import duckdb
    from safestock.pipelines.demo.data import write_demo_data
    from safestock.pipelines.flow import weekly_run
    from safestock.pipelines.prefect_server import temporary_prefect_server

    db = policy_db or workdir / "safestock.duckdb"
    if policy_db is None:
        folder = workdir / "input"
        write_demo_data(input_tables(world, seed), folder)
        config = workdir / "safestock.toml"
        config.write_text(config_text)
        with temporary_prefect_server():   # none started when PREFECT_API_URL is set (tests' harness)
            weekly_run(input_dir=folder, db_path=db, reports_dir=workdir / "reports", config_path=config)
    with duckdb.connect(str(db), read_only=True) as con:
        policy = con.execute(
            "select p.*, c.demand_class from inventory_policy p join sku_class c using (run_id, sku) "
            "where run_id = (select max(run_id) from inventory_policy)").df()
    return policy.set_index("sku").reindex(world.skus)


def _weeks(first_week: int, count: int, frozen: bool) -> np.ndarray:
    """Week numbers first_week .. first_week + count - 1, or the run date's week throughout (frozen)."""
    return np.full(count, HISTORY_WEEKS) if frozen else np.arange(first_week, first_week + count)


def protection_means(world: World, protection: np.ndarray, first_week: int, weeks: int,
                     frozen: bool = False) -> np.ndarray:
    """(n, weeks) true mean demand over the weeks first_week + t + 1 .. first_week + t + P (the interval
    of an order placed at the end of week first_week + t; P fractional), t = 0 .. weeks - 1."""
    longest = int(np.ceil(protection.max())) + 2
    mean, _ = true_moments(world, _weeks(first_week, weeks + longest + 1, frozen))
    cumulative = np.concatenate([np.zeros((mean.shape[0], 1)), mean.cumsum(axis=1)], axis=1)
    t = np.arange(weeks)[None, :]
    upper = t + 1 + protection[:, None]
    low = np.floor(upper).astype(int)
    frac = upper - low
    rows = np.arange(mean.shape[0])[:, None]
    end = cumulative[rows, low] + frac * (cumulative[rows, np.minimum(low + 1, cumulative.shape[1] - 1)]
                                          - cumulative[rows, low])
    return end - cumulative[rows, t + 1]


def textbook_sigma(world: World, protection: np.ndarray, lead_sd: np.ndarray, first_week: int,
                   weeks: int, frozen: bool = False) -> np.ndarray:
    """(n, weeks) the textbook sigma_P: sigma_P^2 = the true weekly variance x P + d^2 sigma_L^2 (d and the
    variance the true ones at the start of the interval)."""
    mean, var = true_moments(world, _weeks(first_week, weeks + 1, frozen))
    rate = mean[:, 1:weeks + 1]
    var_rate = var[:, 1:weeks + 1]
    return np.sqrt(protection[:, None] * var_rate + rate**2 * lead_sd[:, None] ** 2)


def textbook_levels(world: World, protection: np.ndarray, lead_sd: np.ndarray, first_week: int,
                    weeks: int, frozen: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(n, weeks) true mu_P and the textbook s = mu_P + z sigma_P (normal on D(L + R)), z = Phi^-1(target),
    sigma_P from ``textbook_sigma``."""
    mu = protection_means(world, protection, first_week, weeks, frozen)
    sigma = textbook_sigma(world, protection, lead_sd, first_week, weeks, frozen)
    z = stats.norm.ppf(world.target)[:, None]
    return mu, np.maximum(mu + z * sigma, 0.0)


def textbook_estimated_levels(policy: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(s, sigma^_P) per SKU at the run date: the textbook rule on the run's own estimates (module docstring,
    item 4, "same information"); z = Phi^-1(the run's target)."""
    weekly = policy["demand_per_week_mean"].to_numpy(float)
    protection = (policy["lead_time_weeks_mean"] + policy["review_period_weeks"]).to_numpy(float)
    sigma = np.sqrt(protection * policy["demand_per_week_sd"].to_numpy(float) ** 2
                    + weekly**2 * policy["lead_time_weeks_sd"].to_numpy(float) ** 2)
    z = stats.norm.ppf(np.clip(policy["service_level"].to_numpy(float), 0.5, 0.9999))
    reorder = np.maximum(policy["protection_demand_mean"].to_numpy(float) + z * sigma, 0.0)
    return np.nan_to_num(reorder), np.nan_to_num(sigma)


def closed_loop(world: World, levels: dict[str, tuple[np.ndarray, np.ndarray]], replications: int, weeks: int,
                warmup: int, seed: int, drift: bool) -> dict[str, dict[str, np.ndarray]]:
    """Simulate each policy ``name -> (s, S)`` (each (n, warmup + weeks) levels per week) on the same
    demand and lead-time draws; per-SKU totals over the measured weeks, summed over replications."""
    rng = np.random.default_rng(SEED_FAMILY + 900 + seed)
    n = len(world.skus)
    rows = n * replications
    supplier = np.tile(world.supplier, replications)
    review_weeks = np.tile(world.review_weeks[world.supplier], replications)
    phase = np.tile(np.arange(n) % 2, replications)
    driver_cdf = np.array([np.cumsum(sequential_driver_pmf(p)) for p in world.lead_pmf])[supplier]
    longest = world.lead_pmf.shape[1] - 1
    lead = (np.cumsum(world.lead_pmf, axis=1)[supplier] < rng.random(rows)[:, None]).sum(axis=1)  # stationary start
    total_weeks = warmup + weeks
    keys = ("demand", "served", "cycles", "ok", "on_hand", "reviews", "reviews_ok")
    totals = {name: {key: np.zeros(rows) for key in keys} for name in levels}
    states = {name: initial_state(np.tile(levels[name][1][:, 0], replications), longest + 1) for name in levels}
    short = {name: np.zeros(rows, bool) for name in levels}
    frozen_week = np.full(1, HISTORY_WEEKS)
    for week in range(total_weeks):
        when = np.array([HISTORY_WEEKS + week]) if drift else frozen_week
        demand = sample_weeks(world, when, rng, replications)[:, 0]
        lead = np.maximum(lead - 1, (driver_cdf < rng.random(rows)[:, None]).sum(axis=1))
        review = (week + 1 + phase) % review_weeks == 0
        for name, (reorder, order_up_to) in levels.items():
            outcome = week_step(states[name], demand, review, np.tile(reorder[:, week], replications),
                                np.tile(order_up_to[:, week], replications), lead)
            states[name] = state = outcome.state
            short[name] |= state.net_stock < 0
            if week >= warmup:
                t = totals[name]
                t["demand"] += demand
                t["served"] += outcome.served
                t["cycles"] += outcome.cycle_ended
                t["ok"] += outcome.cycle_met
                t["on_hand"] += state.on_hand
                t["reviews"] += review
                t["reviews_ok"] += review & ~short[name]
            short[name] = np.where(review, False, short[name])
    return {name: {key: value.reshape(replications, n).sum(axis=0) for key, value in t.items()}
            for name, t in totals.items()}


def summary_table(world: World, totals: dict[str, np.ndarray], weeks: int, replications: int,
                  group: np.ndarray) -> pd.DataFrame:
    """Per group: SKUs, mean target, pooled cycle / review-period service and fill rate, mean absolute
    per-SKU cycle-service miss (points), average on hand."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_sku = np.where(totals["cycles"] > 0, totals["ok"] / totals["cycles"], np.nan)
    frame = pd.DataFrame({"group": group, "target": world.target, "cycles": totals["cycles"], "ok": totals["ok"],
                          "reviews": totals["reviews"], "reviews_ok": totals["reviews_ok"],
                          "demand": totals["demand"], "served": totals["served"],
                          "on_hand": totals["on_hand"] / (weeks * replications),
                          "miss": 100 * np.abs(per_sku - world.target)})
    grouped = frame.groupby("group")
    return pd.DataFrame({
        "skus": grouped.size(), "target": grouped["target"].mean(),
        "cycle_service": grouped["ok"].sum() / grouped["cycles"].sum(),
        "review_service": grouped["reviews_ok"].sum() / grouped["reviews"].sum(),
        "fill_rate": grouped["served"].sum() / grouped["demand"].sum(),
        "sku_miss_points": grouped["miss"].mean(), "on_hand": grouped["on_hand"].mean(),
        "cycles_per_sku": grouped["cycles"].sum() / grouped.size() / replications})


def run(skus: int, replications: int, weeks: int, warmup: int, seed: int, world_mode: str,
        workdir: Path, config_text: str = "", policy_db: Path | None = None,
        frontier: bool = False) -> dict[str, pd.DataFrame]:
    """Everything of the module docstring; returns the tables it prints (``frontier``: also the service-stock
    frontier of ``closed_loop_frontier.py``, product and textbook swept on the same draws)."""
    began = time.perf_counter()
    world = generate_world(skus, seed)
    policy = product_policy(world, seed, workdir, config_text, policy_db)
    flow_seconds = time.perf_counter() - began
    drift = world_mode == "drift"
    s = policy["reorder_point"].to_numpy(float)
    S = policy["order_up_to"].to_numpy(float)
    review = world.review_weeks[world.supplier].astype(float)
    lead_moments = np.array([pmf_moments(p) for p in world.lead_pmf])[world.supplier]
    protection = lead_moments[:, 0] + review
    total_weeks = warmup + weeks
    # column 0: the interval of an order placed at the run date; column w + 1: one placed in simulated week w
    mu, textbook_s = textbook_levels(world, protection, lead_moments[:, 1], HISTORY_WEEKS - 1, total_weeks + 1,
                                     frozen=not drift)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mu[:, :1] > 0, mu[:, 1:] / mu[:, :1], 1.0)
    textbook_s = textbook_s[:, 1:]
    quantity = np.maximum(S - s, 0.0)
    # a zero policy (S = 0) orders nothing, as the product recommends no line for it (s = -inf: never
    # reordered; s = S = 0 would order back every backorder); the textbook rule is judged on the same SKUs
    stocked = S > 0
    never = np.where(stocked, 0.0, -np.inf)[:, None]
    # the product's (s, S) moved to the true level: s, S x true mu_P / the run's mu_P (its forecast level
    # error removed, its distribution shape and safety factor kept): separates the two causes of a miss
    with np.errstate(divide="ignore", invalid="ignore"):
        level_fix = np.where(stocked, mu[:, 0] / policy["protection_demand_mean"].to_numpy(float), 1.0)
    level_fix = np.where(np.isfinite(level_fix), level_fix, 1.0)[:, None]
    estimated_s, estimated_sigma = textbook_estimated_levels(policy)
    levels = {"product": (s[:, None] * ratio + never, S[:, None] * ratio),
              "textbook_estimated": (estimated_s[:, None] * ratio + never,
                                     np.where(stocked[:, None], (estimated_s + quantity)[:, None] * ratio, 0.0)),
              "product_true_level": (s[:, None] * ratio * level_fix + never, S[:, None] * ratio * level_fix),
              "textbook": (np.where(stocked[:, None], textbook_s, -np.inf),
                           np.where(stocked[:, None], textbook_s + quantity[:, None] * ratio, 0.0))}
    if frontier:
        sigma = textbook_sigma(world, protection, lead_moments[:, 1], HISTORY_WEEKS - 1, total_weeks + 1,
                               frozen=not drift)[:, 1:]
        z = stats.norm.ppf(world.target)[:, None]
        product_sd = np.nan_to_num(policy["protection_demand_sd"].to_numpy(float))
        fix = level_fix[:, 0]
        swept = {**clf.swept_levels("product", s, quantity, product_sd, ratio, stocked),
                 **clf.swept_levels("product_true_level", s * fix, quantity * fix, product_sd * fix, ratio, stocked),
                 **clf.swept_levels("textbook", mu[:, 1:] + z * sigma, quantity, sigma, ratio, stocked),
                 **clf.swept_levels("textbook_estimated", estimated_s, quantity, estimated_sigma, ratio, stocked,
                                    clf.WIDE_OFFSETS)}
        # offset 0 is the product / true-level / textbook policy itself: simulated once
        levels.update({name: value for name, value in swept.items() if not name.endswith("@+0.00")})
    began = time.perf_counter()
    totals = closed_loop(world, levels, replications, weeks, warmup, seed, drift)
    sim_seconds = time.perf_counter() - began
    weekly = np.maximum(true_moments(world, np.array([HISTORY_WEEKS]))[0][:, 0], 1e-9)
    cover = pd.cut(quantity / weekly, [-np.inf, 13, 52, np.inf], labels=["<=13 wk", "13-52 wk", ">52 wk"])
    tables = {f"{name}_by_class": summary_table(world, totals[name], weeks, replications, world.true_class)
              for name in levels}
    tables["product_by_order_cover"] = summary_table(world, totals["product"], weeks, replications,
                                                     cover.astype(str))
    tables["product_class_vs_true"] = pd.crosstab(world.true_class, policy["demand_class"].fillna("?"))
    recent = world.history[:, -26:].sum(axis=1) > 0
    zero = policy[(policy["order_up_to"] <= 0)].assign(sold_last_26_weeks=recent[(policy["order_up_to"] <= 0).to_numpy()])
    tables["zero_policies"] = zero.groupby(["zero_policy_reason", "sold_last_26_weeks"], dropna=False).size().to_frame(
        "skus") if len(zero) else pd.DataFrame({"skus": []})
    tables["timing"] = pd.DataFrame({"seconds": [flow_seconds, sim_seconds]}, index=["flow run", "closed loop"])
    if frontier:
        policies = ("product", "product_true_level", "textbook", "textbook_estimated")
        for policy in policies:
            totals[clf.swept_name(policy, 0.0)] = totals[policy]
        tables["frontier_curves"] = clf.frontier_curves(totals, world.true_class, weeks, replications,
                                                        policies=policies)
        tables["frontier"] = clf.frontier_table(tables["frontier_curves"],
                                                pd.Series(world.target).groupby(world.true_class).mean())
    return tables


def compare(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Product vs textbook per class: cycle service gap to target (points) and on hand."""
    product, textbook = tables["product_by_class"], tables["textbook_by_class"]
    estimated = tables["textbook_estimated_by_class"]
    out = pd.DataFrame({"skus": product["skus"], "target": product["target"],
                        "product_gap_pts": 100 * (product["cycle_service"] - product["target"]),
                        "textbook_gap_pts": 100 * (textbook["cycle_service"] - textbook["target"]),
                        "est_textbook_gap_pts": 100 * (estimated["cycle_service"] - estimated["target"]),
                        "product_miss_pts": product["sku_miss_points"], "textbook_miss_pts": textbook["sku_miss_points"],
                        "est_textbook_miss_pts": estimated["sku_miss_points"],
                        "product_on_hand": product["on_hand"], "textbook_on_hand": textbook["on_hand"],
                        "est_textbook_on_hand": estimated["on_hand"]})
    out.loc["all"] = [product["skus"].sum(), (product["target"] * product["skus"]).sum() / product["skus"].sum(),
                      np.nan, np.nan, np.nan,
                      (product["sku_miss_points"] * product["skus"]).sum() / product["skus"].sum(),
                      (textbook["sku_miss_points"] * textbook["skus"]).sum() / textbook["skus"].sum(),
                      (estimated["sku_miss_points"] * estimated["skus"]).sum() / estimated["skus"].sum(),
                      product["on_hand"].mean(), textbook["on_hand"].mean(), estimated["on_hand"].mean()]
    return out


def main(argv: list[str] | None = None) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=104, help="measured weeks after the warm-up")
    parser.add_argument("--warmup", type=int, default=26)
    parser.add_argument("--seed", type=int, default=1, help="world seed (seed family 14_000 + seed)")
    parser.add_argument("--world", choices=("drift", "frozen"), default="drift")
    parser.add_argument("--config", default="", help="TOML text for the flow's configuration")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the input folder and database here")
    parser.add_argument("--policy-from", type=Path, default=None,
                        help="take the policy from this database (a flow run of the same world) instead of running")
    parser.add_argument("--volume-edges", type=float, nargs="*", default=None,
                        help="the flow's calibration with volume subgroups at these edges (units a week; sets "
                             "calibration.VOLUME_EDGES in this process, which runs the flow; experiment only)")
    parser.add_argument("--frontier", action="store_true",
                        help="also the service-stock frontier (closed_loop_frontier.py): on hand at equal service")
    args = parser.parse_args(argv)
    if args.volume_edges is not None:
        from safestock.models.inventory import calibration

        calibration.VOLUME_EDGES = tuple(sorted(args.volume_edges))
    pd.set_option("display.width", 220)
    with tempfile.TemporaryDirectory(prefix="closed_loop_") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        tables = run(args.skus, args.replications, args.weeks, args.warmup, args.seed, args.world, workdir,
                     args.config.replace("\\n", "\n"), args.policy_from, args.frontier)
    print(f"## Closed loop: {args.skus:,} SKUs x {args.replications} replications x {args.weeks} weeks "
          f"(+{args.warmup} warm-up), world {args.world}, seed {SEED_FAMILY + args.seed}\n")
    for name in ("product_by_class", "product_true_level_by_class", "textbook_by_class",
                 "textbook_estimated_by_class", "product_by_order_cover"):
        print(f"### {name}\n\n{tables[name].round(3).to_string()}\n")
    print(f"### product vs textbook (gap = achieved cycle service - target, points)\n\n"
          f"{compare(tables).round(2).to_string()}\n")
    for name in ("product_class_vs_true", "zero_policies", "timing"):
        print(f"### {name}\n\n{tables[name].round(1).to_string()}\n")
    if args.frontier:
        curves = tables["frontier_curves"].pivot_table(index=["group", "offset"], columns="policy",
                                                       values=["cycle_service", "on_hand"])
        print(f"### frontier curves (offset = safety-factor shift in sd of the protection demand)\n\n"
              f"{curves.round(3).to_string()}\n")
        print(f"### frontier: on hand at equal cycle service (ratio = product / textbook; "
              f"target ratio <= 0.90)\n\n{tables['frontier'].round(3).to_string()}\n")
    return tables


if __name__ == "__main__":
    main()
