"""Week-by-week stock projection and backorder risk per SKU (no new orders placed).

Projection, week t = 1..H (H = min(config.horizon_weeks, forecast horizon)):

    available_t        = on_hand - backordered + receipts_1..t
    on_hand_expected_t = available_t - E[D_1..t]          (expected net stock; negative = backorders)
    backorder_prob_t   = P(D_1..t > available_t)
    expected_backorder_units_t = E[(D_1..t - available_t)+]   (loss function)

D_1..t is cumulative demand: mean and variance are cumulative sums of the weekly forecast (weeks
independent), in the SKU's family (normal, or the count distribution matched to the two moments).
Receipts are the open PO lines' remaining quantity (quantity - received_quantity; 'closed' lines
are finished even when short-shipped), expected on ``expected_date`` shifted by the supplier's
signed mean lateness (days, from the lead-time estimate); lines without an expected date are
expected order_date + mean lead time (the lines are resolved once, in ``planning_inputs``). A receipt due before the first forecast week (overdue)
counts in week 1; one after the horizon counts only in ``on_order``. Demand between ``as_of`` and
``first_week`` is not modelled (the snapshot is taken to stand at the start of ``first_week``).

Risk per SKU:
* inventory_position = on_hand + on_order - backordered;
* stockout_probability = P(D_P > inventory_position), expected_backorder_units = E[(D_P - IP)+],
  D_P = demand over the policy's protection interval (lead time + review period) - the chance of
  a backorder before an order placed now could have arrived (SPT ch. 6-7);
* weeks_of_cover = max(on_hand - backordered, 0) / mean weekly forecast over the horizon: the
  weeks the net stock on the shelf lasts at the forecast rate, never negative. 0 when the
  backorders take all the stock on hand (net stock <= 0: new demand waits, whatever the
  forecast); NaN (NULL in the table) when there is stock but no forecast demand (mean weekly
  forecast 0, e.g. discontinued or inactive SKUs: the stock is not drawn down, so it has no
  finite cover). Open purchase orders do not count (they are not on the shelf yet);
* projected_stockout_week = first projection week with backorder_probability >= 0.5 (NaT if none);
* order_by = projected_stockout_week - lead-time p90, clipped at as_of (NaT if no stock-out).

`lost` items (``PlanningInputs.lost_sales``: demand meeting an empty shelf is lost) carry no
backlog forward: their projection is ``lost_sales.project_lost_sales`` (on hand
floored at 0 week to week, propagated exactly on a grid). In their rows on_hand_expected is the
expected on hand (>= 0), backorder_probability holds the week's stock-out probability
P(D_t > on hand available in week t), expected_backorder_units the expected units lost by the end
of the week (cumulative; nothing is backlogged) and expected_lost_units those lost in the week
(NaN for `backorder` items); ``unmet_demand`` says which reading applies. In the risk table their
expected_backorder_units E[(D_P - IP)+] are units lost over the protection interval, not backlogged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import PolicyConfig
from .distribution import cdf, is_count_family, loss
from .lost_sales import project_lost_sales
from .planning_inputs import PlanningInputs

STOCKOUT_WEEK_PROBABILITY = 0.5

PROJECTION_COLUMNS = [
    "sku", "week", "step", "demand_mean", "receipts", "on_hand_expected",
    "backorder_probability", "expected_backorder_units", "unmet_demand", "expected_lost_units",
]
RISK_COLUMNS = [
    "sku", "supplier_id", "on_hand", "on_order", "backordered", "inventory_position",
    "stockout_probability", "expected_backorder_units", "expected_backorder_value",
    "weeks_of_cover", "projected_stockout_week", "order_by", "unmet_demand",
]


def receipts_matrix(n: int, row: np.ndarray, remaining: np.ndarray, arrival: np.ndarray, first_week: pd.Timestamp,
                    weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """(receipts (n, weeks) by projection week, on_order (n,) all open quantity) of the open PO
    lines (``PlanningInputs.open_order_*``: SKU row, remaining quantity, expected arrival)."""
    days = (pd.DatetimeIndex(arrival) - first_week).days.to_numpy()
    step = np.maximum(np.floor_divide(days, 7), 0)
    on_order = np.bincount(row, weights=remaining, minlength=n)
    in_horizon = step < weeks
    flat = row[in_horizon] * weeks + step[in_horizon]
    receipts = np.bincount(flat, weights=remaining[in_horizon], minlength=n * weeks).reshape(n, weeks)
    return receipts, on_order


def weeks_of_cover(net_stock: np.ndarray, weekly_demand: np.ndarray) -> np.ndarray:
    """max(net_stock, 0) / weekly_demand per SKU: 0 where net_stock <= 0 (backorders take all the
    stock), NaN where there is stock but weekly_demand <= 0 (no finite cover); see the module
    docstring."""
    net_stock = np.asarray(net_stock, dtype=float)
    weekly_demand = np.asarray(weekly_demand, dtype=float)
    cover = np.divide(np.maximum(net_stock, 0.0), weekly_demand, out=np.full(net_stock.shape, np.nan),
                      where=weekly_demand > 0)
    return np.where(net_stock <= 0, 0.0, cover)


def latest_order_date(stockout_week: pd.DatetimeIndex, lead_time_weeks_p90: np.ndarray) -> pd.DatetimeIndex:
    """projected stock-out week - lead-time p90 (whole days), before any clipping at as_of: the
    date an order must be placed by to arrive in time 9 times in 10 (NaT without a stock-out or
    a p90). ``project_risk`` clips it at as_of; ``exceptions`` reports how far before as_of it is."""
    p90_days = np.round(np.asarray(lead_time_weeks_p90, dtype=float) * 7.0)
    return (pd.DatetimeIndex(stockout_week) - pd.to_timedelta(p90_days, unit="D")).normalize()


def project_stock(available_start: np.ndarray, receipts: np.ndarray, mean: np.ndarray, var: np.ndarray,
                  is_count: np.ndarray) -> dict[str, np.ndarray]:
    """Expected net stock, P(backorder) and expected backorders per SKU x week (module docstring)."""
    cumulative_mean = np.cumsum(mean, axis=1)
    cumulative_var = np.cumsum(var, axis=1)
    available = available_start[:, None] + np.cumsum(receipts, axis=1)
    count = np.broadcast_to(is_count[:, None], mean.shape)
    return {
        "on_hand_expected": available - cumulative_mean,
        "backorder_probability": 1.0 - cdf(available, cumulative_mean, cumulative_var, count),
        "expected_backorder_units": loss(available, cumulative_mean, cumulative_var, count),
    }


def project_risk(inputs: PlanningInputs, mean: np.ndarray, sd: np.ndarray, family: np.ndarray,
                 first_week: pd.Timestamp, policy: pd.DataFrame,
                 config: PolicyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(projection, backorder_risk) frames; see the module docstring for every formula.

    ``mean`` / ``sd`` (n, h) weekly forecast and ``family`` (n,) in the SKU order of ``inputs``
    (built with the stock position and ``as_of``); ``policy`` the ``compute_policy`` frame of the
    same inputs (one row per SKU, in their order)."""
    inputs.check_rows(policy, "policy")
    skus = inputs.sku
    as_of, first_week = pd.Timestamp(inputs.planning_date()), pd.Timestamp(first_week)
    weeks = int(min(config.horizon_weeks, np.shape(mean)[1]))
    mean = np.maximum(np.nan_to_num(np.asarray(mean, dtype=float)[:, :weeks]), 0.0)
    var = np.nan_to_num(np.asarray(sd, dtype=float)[:, :weeks]) ** 2
    n = len(skus)
    is_count = is_count_family(family)

    on_hand, backordered = inputs.on_hand, inputs.backordered
    receipts, on_order = receipts_matrix(n, inputs.open_order_row, inputs.open_order_quantity,
                                         inputs.open_order_arrival, first_week, weeks)
    projected = project_stock(on_hand - backordered, receipts, mean, var, is_count)
    lost = np.asarray(inputs.lost_sales, dtype=bool)
    projected["expected_lost_units"] = np.full(mean.shape, np.nan)
    if lost.any() and weeks:
        lost_projection = project_lost_sales(on_hand[lost] - backordered[lost], receipts[lost], mean[lost],
                                             var[lost], is_count[lost])
        projected["on_hand_expected"][lost] = lost_projection["on_hand_expected"]
        projected["backorder_probability"][lost] = lost_projection["stockout_probability"]
        projected["expected_backorder_units"][lost] = np.cumsum(lost_projection["expected_lost_units"], axis=1)
        projected["expected_lost_units"][lost] = lost_projection["expected_lost_units"]
    unmet_demand = np.where(lost, "lost", "backorder").astype(object)

    week_dates = first_week + pd.to_timedelta(7 * np.arange(weeks), unit="D")
    projection = pd.DataFrame({
        "sku": np.repeat(skus, weeks),
        "week": np.tile(week_dates.to_numpy(), n),
        "step": np.tile(np.arange(1, weeks + 1), n),
        "demand_mean": mean.ravel(),
        "receipts": receipts.ravel(),
        **{name: values.ravel() for name, values in projected.items()},
        "unmet_demand": np.repeat(unmet_demand, weeks),
    })[PROJECTION_COLUMNS]

    position = on_hand + on_order - backordered
    protection_mean = policy["protection_demand_mean"].to_numpy(float)
    protection_var = policy["protection_demand_sd"].to_numpy(float) ** 2
    stockout_probability = 1.0 - cdf(position, protection_mean, protection_var, is_count)
    expected_backorders = loss(position, protection_mean, protection_var, is_count)
    unit_cost = inputs.unit_cost
    weekly = mean.mean(axis=1) if weeks else np.zeros(n)
    cover = weeks_of_cover(on_hand - backordered, weekly)

    hits = projected["backorder_probability"] >= STOCKOUT_WEEK_PROBABILITY
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
    stockout_week = pd.DatetimeIndex(np.where(first_hit >= 0, week_dates.to_numpy()[np.maximum(first_hit, 0)],
                                              np.datetime64("NaT")))
    order_by = latest_order_date(stockout_week, inputs.lead_time_weeks_p90)
    order_by = order_by.where(~(order_by < as_of.normalize()), as_of.normalize())
    risk = pd.DataFrame({
        "sku": skus,
        "supplier_id": inputs.supplier_id,
        "on_hand": on_hand,
        "on_order": on_order,
        "backordered": backordered,
        "inventory_position": position,
        "stockout_probability": stockout_probability,
        "expected_backorder_units": expected_backorders,
        "expected_backorder_value": expected_backorders * unit_cost,
        "weeks_of_cover": cover,
        "projected_stockout_week": stockout_week,
        "order_by": order_by,
        "unmet_demand": unmet_demand,
    })
    return projection, risk[RISK_COLUMNS]
