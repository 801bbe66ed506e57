"""Forecast bias on lost-sales SKUs with heavy stock-outs: censored sales vs unconstrained demand.

Generates SKUs with known, constant demand (Poisson customer orders per day with the demo's
weekday profile) replenished by a weekly (s, Q) review whose reorder point covers too little of
the lead-time demand, so a share of selling days is out of stock; demand met by an empty shelf
is lost (sales are truncated by stock). The input folder (sales, stock_history, items with
unmet_demand = lost, ...) goes through the real loader (`load_inputs`: stock history ->
weekday-weighted in-stock share), `unconstrain_demand` and the forecast engine, once on the
sales as they are and once on the unconstrained demand. A third arm drops `stock_history` and
lets the loader infer stock-out days from zero-sales runs ending with a receipt
(pipelines/inputs/stockout_inference.py; the purchase orders carry the simulated receipts).
Prints, for the SKUs with >= 20 % of selling days out of stock, the mean forecast bias
(forecast mean / true weekly demand - 1) of each arm, the estimated (models/lost_sales.py, as the
run's `lost_sales` table counts them, over the whole history) vs simulated lost units, and
the precision of the inferred weeks (share that truly had an out-of-stock day; flagged share of
the weeks fully in stock).

``--replay`` adds the policy replay (``backtest_policy`` as the flow runs it: engine re-forecast
every 4 weeks, 26 weeks measured after 13 of warm-up, lost-sales dynamics for the `lost` items)
of the heavy SKUs at a flat target (``--target``, 0.94), once with a cycle-service and once with
a fill-rate target: on the unconstrained demand (what the flow replays) and on the simulated
true demand, with the backorder reading beside it (the replay before lost-sales dynamics).

    .venv/bin/python benchmarks/censored_demand.py --skus 60 --seed 1
    .venv/bin/python benchmarks/censored_demand.py --skus 150 --seed 1 --replay
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from safestock.models.demand_censoring import in_stock_share_matrix, unconstrain_demand
from safestock.models.demand_matrix import build_demand_matrix, last_complete_week
from safestock.models.lost_sales import lost_sales_by_sku
from safestock.models.forecasting import forecast_demand
from safestock.models.inventory.backtest import backtest_policy, engine_forecast_fn, periodic_forecast_fn
from safestock.models.inventory.config import PolicyConfig
from safestock.pipelines.demo.replenishment import WEEKDAY_PROFILE
from safestock.pipelines.inputs import load_inputs

AS_OF = dt.date(2026, 11, 15)  # a Sunday
HEAVY_STOCKOUT_SHARE = 0.20


@dataclass
class CensoredWorld:
    """A simulated input folder's tables and its truth per SKU."""

    tables: dict[str, pd.DataFrame]
    weekly_demand: np.ndarray  # true mean units per week
    stockout_share: np.ndarray  # share of selling days out of stock (weekday-weighted)
    lost_units: np.ndarray  # simulated units lost over the whole history
    out_of_stock_day: np.ndarray | None = None  # SKU x day: the shelf was empty at the day's end
    days: np.ndarray | None = None  # the calendar days of out_of_stock_day's columns
    demand_by_week: np.ndarray | None = None  # SKU x week: simulated demand (sold + lost) per week


def simulate_lost_sales(n_skus: int = 60, weeks: int = 104, seed: int = 1,
                        cover_range: tuple[float, float] = (0.3, 1.1)) -> CensoredWorld:
    """SKUs with constant demand and lost sales under a short-covering weekly (s, Q) review.

    Per day (vectorised over SKUs): receipts arrive at the start of the day, demand is drawn
    (Poisson orders, units per order 1 + Poisson(size - 1)), the stock on hand is sold and the
    rest is lost; on Mondays an order of Q arrives after the lead time when on hand + on order
    <= s. s covers `cover` x the lead-time-plus-review demand with cover in ``cover_range``
    (default [0.3, 1.1]: stock-outs range from none to about half of the days). Every order is a
    purchase-order line, received on its arrival day (open when it arrives after the history)."""
    rng = np.random.default_rng(seed)
    n_days = weeks * 7
    first_day = np.datetime64(AS_OF, "D") - (n_days - 1)
    first_weekday = (AS_OF - dt.timedelta(days=n_days - 1)).weekday()
    orders_per_day = rng.uniform(1.0, 6.0, n_skus)
    size = rng.uniform(1.0, 4.0, n_skus)
    daily = orders_per_day * size
    lead = rng.integers(7, 22, n_skus)
    cover = rng.uniform(cover_range[0], cover_range[1], n_skus)
    reorder_point = np.round(cover * daily * (lead + 7)).astype(np.int64)
    lot = np.maximum(1, np.round(daily * rng.uniform(7, 21, n_skus))).astype(np.int64)
    on_hand = reorder_point + lot
    arrivals = np.zeros((n_days + 40, n_skus), dtype=np.int64)
    on_order = np.zeros(n_skus, dtype=np.int64)
    sold = np.zeros((n_days, n_skus), dtype=np.int64)
    stock = np.zeros((n_days, n_skus), dtype=np.int64)
    demanded = np.zeros((n_days, n_skus), dtype=np.int64)
    lost_units = np.zeros(n_skus, dtype=np.int64)
    out_weight = np.zeros(n_skus)
    orders: list[tuple[int, np.ndarray]] = []  # (order day, SKU indices)
    for t in range(n_days):
        weekday = (first_weekday + t) % 7
        on_hand += arrivals[t]
        on_order -= arrivals[t]
        n_orders = rng.poisson(orders_per_day * WEEKDAY_PROFILE[weekday])
        demand = n_orders + rng.poisson(np.maximum(size - 1, 0) * n_orders)
        start_empty = on_hand <= 0
        served = np.minimum(demand, on_hand)
        demanded[t] = demand
        on_hand -= served
        sold[t], stock[t] = served, on_hand
        lost_units += demand - served
        out_weight += WEEKDAY_PROFILE[weekday] * (start_empty & (on_hand <= 0))
        if weekday == 0:
            order = on_hand + on_order <= reorder_point
            arrivals[t + lead[order], np.flatnonzero(order)] += lot[order]
            on_order[order] += lot[order]
            orders.append((t, np.flatnonzero(order)))
    days = first_day + np.arange(n_days)
    skus = np.array([f"SKU-{i:04d}" for i in range(1, n_skus + 1)], dtype=object)
    day_index, sku_index = np.nonzero(sold)
    sales = pd.DataFrame({"date": days[day_index], "sku": skus[sku_index], "quantity": sold[day_index, sku_index]})
    history_days = slice(0, n_days)  # the stock history covers the whole sales history
    hist_day, hist_sku = np.nonzero(np.ones_like(stock[history_days], dtype=bool))
    stock_history = pd.DataFrame({"sku": skus[hist_sku], "date": days[history_days][hist_day],
                                  "on_hand": stock[history_days][hist_day, hist_sku]})
    items = pd.DataFrame({"sku": skus, "supplier_id": "SUP-001", "unit_cost": 10.0, "pack_size": 1, "moq": 0,
                          "unmet_demand": "lost"})
    suppliers = pd.DataFrame({"supplier_id": ["SUP-001"], "name": ["Censor Supply"], "lead_time_days": [14]})
    inventory = pd.DataFrame({"sku": skus, "on_hand": on_hand, "as_of": AS_OF})
    order_day = np.concatenate([np.full(len(rows), t) for t, rows in orders] or [np.zeros(0, int)]).astype(np.int64)
    order_sku = np.concatenate([rows for _, rows in orders] or [np.zeros(0, int)]).astype(np.int64)
    arrival_day = order_day + lead[order_sku]
    received = arrival_day < n_days
    all_days = first_day + np.arange(n_days + 40)
    purchase_orders = pd.DataFrame({
        "po_id": [f"PO-{i:06d}" for i in range(len(order_day))], "sku": skus[order_sku], "supplier_id": "SUP-001",
        "quantity": lot[order_sku], "order_date": all_days[order_day], "expected_date": all_days[arrival_day],
        "received_date": np.where(received, all_days[arrival_day], np.datetime64("NaT")),
        "received_quantity": np.where(received, lot[order_sku].astype(float), np.nan)})
    return CensoredWorld(
        tables={"sales": sales, "stock_history": stock_history, "items": items, "suppliers": suppliers,
                "inventory": inventory, "purchase_orders": purchase_orders},
        weekly_demand=7 * daily, stockout_share=out_weight / (n_days * WEEKDAY_PROFILE.mean()),
        lost_units=lost_units, out_of_stock_day=(stock <= 0).T, days=days,
        demand_by_week=demanded.reshape(weeks, 7, n_skus).sum(axis=1).T.astype(float))


def load_world(world: CensoredWorld, with_stock_history: bool = True):
    """The world's input folder through the real loader (`load_inputs`); without its
    `stock_history` the loader infers stock-outs from zero-sales runs ending with a receipt."""
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in world.tables.items():
            if with_stock_history or name != "stock_history":
                frame.to_csv(Path(folder) / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        return load_inputs(Path(folder), max_sales_age_days=None)


def _share(inputs, skus: np.ndarray, weeks: np.ndarray, source: str | None = None) -> np.ndarray:
    """SKU x week in-stock share of the loaded stock_weekly rows (of one stockout_source)."""
    stock = inputs.stock_weekly
    if stock is None:
        return np.full((len(skus), len(weeks)), np.nan)
    if source is not None:
        stock = stock[stock["stockout_source"] == source]
    return in_stock_share_matrix(stock["sku"].to_numpy(dtype=object), stock["week"].to_numpy(),
                                 stock["in_stock_share"].to_numpy(), skus, weeks)


def true_out_of_stock_days(world: CensoredWorld, weeks: np.ndarray) -> np.ndarray:
    """SKU x week: days the simulated shelf was empty at the day's end."""
    week_of_day = (world.days - np.datetime64(weeks[0], "D")).astype(np.int64) // 7
    inside = (week_of_day >= 0) & (week_of_day < len(weeks))
    counts = np.zeros((world.out_of_stock_day.shape[0], len(weeks)), dtype=np.int64)
    for offset in range(7):  # the 7 days of each week (vectorised over SKUs and weeks)
        days = np.flatnonzero(inside & ((world.days - world.days[0]).astype(np.int64) % 7 == offset))
        np.add.at(counts, (slice(None), week_of_day[days]), world.out_of_stock_day[:, days].astype(np.int64))
    return counts


def measure(world: CensoredWorld, horizon: int = 13, *, forecast: bool = True) -> dict[str, float]:
    """Load the world through `load_inputs`, forecast from sales, from the unconstrained demand of
    the stock history and from that of the inferred stock-outs (no stock_history); bias of each on
    the SKUs with >= 20 % of selling days out of stock, lost units, and the inferred weeks'
    precision against the simulated shelf (``forecast=False``: only the inference figures)."""
    inputs = load_world(world, with_stock_history=True)
    inferred_inputs = load_world(world, with_stock_history=False)
    skus = inputs.items["sku"].to_numpy(dtype=object)
    sales = build_demand_matrix(inputs.sales_weekly, skus, last_complete_week(inputs.as_of))
    share = _share(inputs, skus, sales.weeks.values)
    inferred_share = _share(inferred_inputs, skus, sales.weeks.values, "inferred")
    lost = (inputs.items["unmet_demand"] == "lost").to_numpy()
    estimate = unconstrain_demand(sales.quantity, share, lost, sales.start)
    inferred_estimate = unconstrain_demand(sales.quantity, inferred_share, lost, sales.start)
    heavy = world.stockout_share >= HEAVY_STOCKOUT_SHARE
    figures: dict[str, float] = {"skus": len(skus), "heavy_skus": int(heavy.sum()),
                                 "heavy_stockout_share": float(world.stockout_share[heavy].mean()) if heavy.any()
                                 else 0.0}
    arms = (("sales", sales.quantity), ("unconstrained", estimate.demand), ("inferred", inferred_estimate.demand))
    for label, history in arms if forecast else ():
        result = forecast_demand(skus, history, sales.start, horizon, week_starts=sales.weeks.values)
        forecast_week = result.mean.mean(axis=1)
        figures[f"bias_{label}"] = float(forecast_week[heavy].sum() / world.weekly_demand[heavy].sum() - 1)
    covered = ~np.isnan(share)
    weeks_covered = covered.any(axis=0)
    true_lost_in_window = world.lost_units  # whole history; compare over the covered weeks below
    estimated_lost = float((estimate.demand - sales.quantity)[:, weeks_covered].sum())
    figures["estimated_lost_units_last_year"] = estimated_lost
    figures["simulated_lost_units_all_history"] = float(true_lost_in_window.sum())
    # Lost units as the run reports them (models/lost_sales.py, table lost_sales) over the whole
    # simulated history (the stock history covers it all) against the simulated truth.
    whole = len(sales.weeks)
    lost_table = lost_sales_by_sku(skus, inputs.items["supplier_id"].to_numpy(dtype=object),
                                   inputs.items["unit_cost"].to_numpy(float), lost, sales.quantity, estimate.demand,
                                   share, sales.start, windows=(whole,))
    figures["estimated_lost_units"] = float(lost_table[f"lost_units_{whole}w"].sum())
    figures["simulated_lost_units"] = float(world.lost_units.sum())
    figures["lost_units_error"] = (figures["estimated_lost_units"] / figures["simulated_lost_units"] - 1
                                   if figures["simulated_lost_units"] > 0 else float("nan"))  # no stock-out at all
    # Inferred weeks against the simulated shelf (history weeks of each SKU).
    in_history = np.arange(len(sales.weeks))[None, :] >= sales.start[:, None]
    truth = true_out_of_stock_days(world, sales.weeks.values)
    flagged = in_history & (inferred_share < 1)
    in_stock_weeks = in_history & (truth == 0)
    never_out = ~(truth > 0).any(axis=1)
    figures["inferred_weeks"] = int(flagged.sum())
    figures["inferred_precision"] = float((truth[flagged] > 0).mean()) if flagged.any() else float("nan")
    figures["inferred_recall"] = float(flagged[truth >= 3].mean()) if (truth >= 3).any() else float("nan")
    figures["flagged_share_of_in_stock_weeks"] = float((flagged & in_stock_weeks).sum() / max(in_stock_weeks.sum(), 1))
    figures["never_out_skus"] = int(never_out.sum())
    figures["flagged_share_never_out"] = float(flagged[never_out].sum() / max(in_history[never_out].sum(), 1))
    return figures


def measure_replay(world: CensoredWorld, target: float = 0.94, weeks: int = 26, reforecast_weeks: int = 4,
                   arms: tuple[tuple[str, str, str], ...] | None = None) -> pd.DataFrame:
    """The policy replay of the heavy SKUs (>= 20 % of selling days out of stock) at a flat
    ``target``: one row per (service-level type, demand replayed, dynamics) with the achieved
    cycle service (per replenishment cycle) and fill rate against the target. Demand replayed:
    'unconstrained' (the estimate the flow forecasts from and replays) or 'true' (the simulated
    demand); dynamics: 'lost' (the `lost` items as the flow now replays them) or 'backorder'.
    Lead times: each SKU's simulated lead time rounded to whole weeks, known (sd 0); review every
    week. ``arms``: only these (service-level type, demand, dynamics) triples (None: all eight)."""
    inputs = load_world(world, with_stock_history=True)
    skus = inputs.items["sku"].to_numpy(dtype=object)
    sales = build_demand_matrix(inputs.sales_weekly, skus, last_complete_week(inputs.as_of))
    share = _share(inputs, skus, sales.weeks.values)
    lost = (inputs.items["unmet_demand"] == "lost").to_numpy()
    estimate = unconstrain_demand(sales.quantity, share, lost, sales.start)
    heavy = np.flatnonzero(world.stockout_share >= HEAVY_STOCKOUT_SHARE)
    truth = world.demand_by_week[:, -sales.quantity.shape[1]:]
    if truth.shape != sales.quantity.shape:
        raise ValueError(f"simulated weeks {truth.shape} do not align with the sales matrix {sales.quantity.shape}")
    lead_weeks = np.rint(_lead_days(world) / 7.0)   # whole weeks: the replay's lead times are whole weeks
    rows = []
    for service_level_type in ("cycle", "fill_rate"):
        config = PolicyConfig(service_level_type=service_level_type)
        for label, history in (("unconstrained", estimate.demand), ("true", truth)):
            if arms is not None and not any(arm[:2] == (service_level_type, label) for arm in arms):
                continue
            history = history[heavy]
            classes = forecast_demand(skus[heavy], history, sales.start[heavy], config.horizon_weeks,
                                      week_starts=sales.weeks.values).classes["demand_class"].to_numpy()
            for dynamics in ("lost", "backorder"):
                if arms is not None and (service_level_type, label, dynamics) not in arms:
                    continue
                forecast_fn = periodic_forecast_fn(engine_forecast_fn(config.horizon_weeks,
                                                                      week_starts=sales.weeks.values), reforecast_weeks)
                frame = backtest_policy(history, sales.start[heavy], classes, np.full(heavy.size, target),
                                        lead_weeks[heavy], np.zeros(heavy.size), np.ones(heavy.size), config,
                                        weeks=weeks, forecast_fn=forecast_fn, per_sku=True,
                                        lost_sales=np.full(heavy.size, dynamics == "lost"))
                rows.append({"service_level_type": service_level_type, "demand": label, "dynamics": dynamics,
                             "skus": heavy.size, "target": target,
                             "cycle_service_level": frame["ok"].sum() / max(frame["cycles"].sum(), 1),
                             "fill_rate": frame["served"].sum() / max(frame["demand_units"].sum(), 1e-9),
                             "cycles": int(frame["cycles"].sum())})
    return pd.DataFrame(rows)


def _lead_days(world: CensoredWorld) -> np.ndarray:
    """Each SKU's simulated lead time in days, read back from its purchase orders."""
    orders = world.tables["purchase_orders"]
    days = (pd.to_datetime(orders["expected_date"]) - pd.to_datetime(orders["order_date"])).dt.days
    by_sku = days.groupby(orders["sku"]).first()
    skus = world.tables["items"]["sku"]
    return by_sku.reindex(skus).fillna(14).to_numpy(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=60)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replay", action="store_true", help="also the policy replay of the heavy SKUs")
    parser.add_argument("--target", type=float, default=0.94)
    args = parser.parse_args()
    figures = measure(simulate_lost_sales(args.skus, args.weeks, args.seed))
    print(f"SKUs {figures['skus']}, with >= 20 % of selling days out of stock: {figures['heavy_skus']} "
          f"(mean {figures['heavy_stockout_share']:.1%} out of stock)")
    print(f"forecast bias on them, ignoring censoring (forecast from sales): {figures['bias_sales']:+.1%}")
    print(f"forecast bias on them, from unconstrained demand:                {figures['bias_unconstrained']:+.1%}")
    print(f"lost units over the {args.weeks}-week history, all SKUs: estimated {figures['estimated_lost_units']:,.0f} "
          f"vs simulated {figures['simulated_lost_units']:,.0f} ({figures['lost_units_error']:+.1%}; target +-10 %)")
    print(f"forecast bias on them, no stock_history, inferred stock-outs:    {figures['bias_inferred']:+.1%}")
    print(f"inferred stock-out weeks: {figures['inferred_weeks']}, of which truly out of stock "
          f"{figures['inferred_precision']:.1%} (precision); weeks with >= 3 days out found: "
          f"{figures['inferred_recall']:.1%}; weeks fully in stock flagged: "
          f"{figures['flagged_share_of_in_stock_weeks']:.2%}")
    if args.replay:
        world = simulate_lost_sales(args.skus, args.weeks, args.seed)
        replay = measure_replay(world, args.target)
        print(f"policy replay of the heavy SKUs (26 weeks, target {args.target:.2f}; the target's type"
              " is the one judged, the other figure shown for reference):")
        for row in replay.itertuples():
            judged = row.cycle_service_level if row.service_level_type == "cycle" else row.fill_rate
            print(f"  {row.service_level_type:9s} target, {row.demand:13s} demand, {row.dynamics:9s} dynamics: "
                  f"cycle service {row.cycle_service_level:.3f} ({row.cycles} cycles), fill rate {row.fill_rate:.3f}; "
                  f"judged {judged - row.target:+.3f} vs target")


if __name__ == "__main__":
    main()
