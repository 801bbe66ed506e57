"""The demo generator's day-by-day simulation of customer demand and (R, s, Q) replenishment.

Pure numpy, vectorised over SKUs (one loop over days). Sales lines, purchase-order lines and
the end-of-history net inventory come out of it, so stock-outs, backorders, late and partial
deliveries in the demo data are consequences of a policy, not painted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from safestock.pipelines.demo.params import SkuParams

WEEKDAY_PROFILE = np.array([1.2, 1.15, 1.1, 1.1, 1.05, 0.25, 0.15])
WEEKDAY_PROFILE = WEEKDAY_PROFILE / WEEKDAY_PROFILE.mean()
RETURN_LINE_PROBABILITY = 0.01  # share of demand lines that later come back as a return
SPLIT_LINE_PROBABILITY = 0.3  # share of multi-order days written as two lines


@dataclass
class SimulationResult:
    """Raw arrays produced by `simulate_replenishment` (indices into the SKU axis, days from the start)."""

    sales_day: np.ndarray
    sales_sku: np.ndarray
    sales_quantity: np.ndarray
    po_day: np.ndarray
    po_sku: np.ndarray
    po_quantity: np.ndarray
    po_lead_time: np.ndarray  # actual days from order to receipt
    po_received: np.ndarray
    net_inventory: np.ndarray  # on hand minus backordered at the end of the last day
    stockout_days: np.ndarray
    #: Units demanded and units lost (lost-sales items: demand met by an empty shelf), per SKU.
    demand_units: np.ndarray | None = None
    lost_units: np.ndarray | None = None
    #: End-of-day on hand, days x SKUs (only when asked for: `record_stock`).
    on_hand_daily: np.ndarray | None = None


def simulate_replenishment(params: SkuParams, items: pd.DataFrame, suppliers: pd.DataFrame, n_days: int,
              first_weekday: int, rng: np.random.Generator, lost: np.ndarray | None = None,
              record_stock: bool = False, demand_multiplier: np.ndarray | None = None) -> SimulationResult:
    """Day-by-day demand and (R, s, Q) replenishment, vectorised over SKUs.

    Per day: receipts arrive, returns are restocked, demand is served (shortage becomes
    backorder), and SKUs whose supplier reviews today order n*Q when inventory position <= s.
    s uses the true demand rate and the supplier's average lead time but ignores lead-time
    variability, so variable suppliers and low safety factors cause stock-outs.
    `lost` (per SKU, default none): demand of these SKUs beyond the stock on hand is lost, not
    backordered — their sales are truncated by stock. With no lost SKU the random draws are
    exactly those of a simulation without the argument. `record_stock`: keep the end-of-day
    on hand of every day (`on_hand_daily`). `demand_multiplier` (weeks x SKUs, week 0 = the ISO
    week of day 0; default none): the customer order rate of a day is multiplied by its week's
    value (promotions, `demo.prices`); the reorder point ignores it (the planner does not know).
    """
    n = len(params.rate)
    sup = items["supplier_id"].str.slice(4).astype(int).to_numpy() - 1
    lead = suppliers["lead_time_days"].to_numpy()[sup].astype(float)
    review = suppliers["review_period_days"].to_numpy()[sup]
    offset = suppliers["review_offset"].to_numpy()[sup]
    unit_cost, pack = items["unit_cost"].to_numpy(), items["pack_size"].to_numpy()
    order_start = params.start_day - lead.astype(int) - review
    mean_size_sq = params.size_mean ** 2 * (1 + 1 / params.size_shape)
    shock_cv2 = np.where(params.shock_shape > 0, 1 / np.maximum(params.shock_shape, 1e-9), 0.0)
    base_daily = params.rate * params.size_mean
    lot = np.maximum(items["moq"].to_numpy(), pack * np.ceil(
        base_daily * rng.uniform(7, 56, n) / pack)).astype(np.int64)
    safety_factor = rng.uniform(0.0, 2.0, n)
    # The planner knows each supplier's average delay; the quoted (expected) date does not.
    protection = lead * (1 + suppliers["delay_fraction"].to_numpy()[sup]) + review

    def level(t: int) -> np.ndarray:
        years_from_middle = (t - n_days / 2) / 365.25
        season = 1 + params.amp * np.sin(2 * np.pi * t / 365.25 + params.phase)
        return np.exp(params.trend * years_from_middle) * season

    def reorder_point(idx: np.ndarray, t: int) -> np.ndarray:
        daily = base_daily[idx] * level(t)[idx]
        variance = protection[idx] * (params.rate[idx] * level(t)[idx] * mean_size_sq[idx]
                                      + 7 * shock_cv2[idx] * daily ** 2)
        return daily * protection[idx] + safety_factor[idx] * np.sqrt(variance)

    alive0 = np.flatnonzero(params.start_day == 0)
    net = np.zeros(n, dtype=np.int64)
    net[alive0] = np.round(reorder_point(alive0, 0) + lot[alive0] / 2).astype(np.int64)
    on_order = np.zeros(n, dtype=np.int64)
    max_lead = int(3 * suppliers["lead_time_days"].max()) + 2
    ring_received = np.zeros((max_lead, n), dtype=np.int64)
    ring_ordered = np.zeros((max_lead, n), dtype=np.int64)
    ring_returns = np.zeros((31, n), dtype=np.int64)
    sup_delay = suppliers["delay_fraction"].to_numpy()
    sup_cv = suppliers["lead_time_cv"].to_numpy()
    sup_partial = suppliers["partial_probability"].to_numpy()
    sup_mov = suppliers["min_order_value"].to_numpy()
    shock = np.ones(n)
    shocked = np.flatnonzero(params.shock_shape > 0)
    stockout_days = np.zeros(n, dtype=np.int64)
    lost = np.zeros(n, dtype=bool) if lost is None else np.asarray(lost, dtype=bool)
    demand_units = np.zeros(n, dtype=np.int64)
    lost_units = np.zeros(n, dtype=np.int64)
    on_hand_daily = np.zeros((n_days, n), dtype=np.int32) if record_stock else None
    sales: list[tuple[np.ndarray, np.ndarray]] = []
    orders: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(n_days):
        weekday = (first_weekday + t) % 7
        if weekday == 0 or t == 0:
            shape = params.shock_shape[shocked]
            shock[shocked] = rng.gamma(shape, 1 / shape)
        slot = t % max_lead
        net += ring_received[slot]
        on_order -= ring_ordered[slot]
        ring_received[slot], ring_ordered[slot] = 0, 0
        returned = ring_returns[t % 31]
        return_idx = np.flatnonzero(returned)
        net[return_idx] += returned[return_idx]
        day_idx, day_qty = [return_idx], [-returned[return_idx]]
        returned[:] = 0
        alive = (params.start_day <= t) & (params.end_day > t)
        expected_orders = params.rate * level(t) * WEEKDAY_PROFILE[weekday] * shock * alive
        if demand_multiplier is not None:
            expected_orders = expected_orders * demand_multiplier[(first_weekday + t) // 7]
        n_orders = rng.poisson(expected_orders)
        idx = np.flatnonzero(n_orders)
        qty = np.ceil(rng.gamma(n_orders[idx] * params.size_shape[idx],
                                params.size_mean[idx] / params.size_shape[idx])).astype(np.int64)
        demand_units[idx] += qty
        # A lost-sales SKU sells what is on hand; the rest of the demand walks away.
        served = np.where(lost[idx], np.minimum(qty, np.maximum(net[idx], 0)), qty)
        lost_units[idx] += qty - served
        net[idx] -= served
        split = (n_orders[idx] > 1) & (qty > 1) & (rng.random(idx.size) < SPLIT_LINE_PROBABILITY)
        first_part = np.maximum(1, served[split] * rng.uniform(0.2, 0.8, split.sum())).astype(np.int64)
        first_part = np.minimum(first_part, served[split])  # a line of 0 units is dropped below
        day_idx += [idx[~split], idx[split], idx[split]]
        day_qty += [served[~split], first_part, served[split] - first_part]
        will_return = rng.random(idx.size) < RETURN_LINE_PROBABILITY
        return_slot = (t + rng.integers(1, 31, will_return.sum())) % 31
        ring_returns[return_slot, idx[will_return]] += np.ceil(
            served[will_return] * rng.uniform(0.05, 1.0, will_return.sum())).astype(np.int64)
        all_idx, all_qty = np.concatenate(day_idx), np.concatenate(day_qty)
        keep = all_qty != 0
        order = np.argsort(all_idx[keep], kind="stable")
        sales.append((all_idx[keep][order].astype(np.int32), all_qty[keep][order].astype(np.int32)))
        stockout_days += (net < 0) | (lost & (net <= 0) & alive)
        if on_hand_daily is not None:
            on_hand_daily[t] = np.maximum(net, 0)

        reviewing = np.flatnonzero(((t - offset) % review == 0) & (order_start <= t)
                                   & (params.end_day > t))
        position = net[reviewing] + on_order[reviewing]
        s = reorder_point(reviewing, t)
        below = position <= s
        idx = reviewing[below]
        if idx.size == 0:
            continue
        batches = np.maximum(1, np.ceil((s[below] - position[below]) / lot[idx]))
        qty = (batches * lot[idx]).astype(np.int64)
        value_by_supplier = np.bincount(sup[idx], qty * unit_cost[idx], minlength=len(sup_mov))
        top_up = np.maximum(1.0, sup_mov / np.maximum(value_by_supplier, 1e-9))[sup[idx]]
        qty = (np.ceil(qty * top_up / pack[idx]) * pack[idx]).astype(np.int64)
        s_idx = sup[idx]
        noise = np.exp(rng.normal(0, sup_cv[s_idx], idx.size) - sup_cv[s_idx] ** 2 / 2)
        actual = np.round(lead[idx] * (1 + sup_delay[s_idx] * rng.uniform(0, 2, idx.size)) * noise)
        actual = np.clip(actual, 1, max_lead - 1).astype(np.int64)
        short = rng.random(idx.size) < sup_partial[s_idx]
        received = np.where(short, np.floor(qty * rng.uniform(0.3, 0.95, idx.size)), qty)
        received = np.maximum(received, np.minimum(qty, 1)).astype(np.int64)
        arrival_slot = (t + actual) % max_lead
        ring_received[arrival_slot, idx] += received  # idx is unique within a day
        ring_ordered[arrival_slot, idx] += qty
        on_order[idx] += qty
        orders.append((t, idx, qty, actual, received))
    sales_days = np.repeat(np.arange(n_days, dtype=np.int32), [len(i) for i, _ in sales])
    po_days = np.repeat([o[0] for o in orders], [len(o[1]) for o in orders]).astype(np.int64)
    po_parts = [np.concatenate([o[k] for o in orders]) if orders else np.zeros(0, np.int64)
                for k in range(1, 5)]
    return SimulationResult(sales_days, np.concatenate([i for i, _ in sales]),
                            np.concatenate([q for _, q in sales]), po_days,
                            *po_parts, net, stockout_days, demand_units, lost_units, on_hand_daily)
