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
expected order_date + mean lead time. A receipt due before the first forecast week (overdue)
counts in week 1; one after the horizon counts only in ``on_order``. Demand between ``as_of`` and
``first_week`` is not modelled (the snapshot is taken to stand at the start of ``first_week``).

Risk per SKU:
* inventory_position = on_hand + on_order - backordered;
* stockout_probability = P(D_P > inventory_position), expected_backorder_units = E[(D_P - IP)+],
  D_P = demand over the policy's protection interval (lead time + review period) - the chance of
  a backorder before an order placed now could have arrived (SPT ch. 6-7);
* weeks_of_cover = (on_hand - backordered) / mean weekly forecast (NaN with no demand);
* projected_stockout_week = first projection week with backorder_probability >= 0.5 (NaT if none);
* order_by = projected_stockout_week - lead-time p90, clipped at as_of (NaT if no stock-out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import LeadTimes, PolicyConfig
from .distribution import cdf, is_count_family, loss

STOCKOUT_WEEK_PROBABILITY = 0.5

PROJECTION_COLUMNS = [
    "sku", "week", "step", "demand_mean", "receipts", "on_hand_expected",
    "backorder_probability", "expected_backorder_units",
]
RISK_COLUMNS = [
    "sku", "supplier_id", "on_hand", "on_order", "backordered", "inventory_position",
    "stockout_probability", "expected_backorder_units", "expected_backorder_value",
    "weeks_of_cover", "projected_stockout_week", "order_by",
]


def open_order_lines(purchase_orders: pd.DataFrame, lead_times: LeadTimes, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open PO lines: sku, remaining, arrival (expected date shifted by supplier mean lateness)."""
    po = purchase_orders
    status = po["status"].astype(str).str.lower() if "status" in po else pd.Series("", index=po.index)
    received_date = pd.to_datetime(po["received_date"], errors="coerce")
    is_open = (status == "open") | ((status != "closed") & received_date.isna())
    po = po[is_open.to_numpy()]
    remaining = (po["quantity"].astype(float) - po["received_quantity"].astype(float).fillna(0.0)).clip(lower=0.0)
    lead = lead_times.per_sku.drop_duplicates("sku").set_index("sku")
    supplier_late = lead_times.per_supplier.set_index("supplier_id")["mean_days_late"].fillna(0.0)
    sku = po["sku"].astype(str)
    supplier = po["supplier_id"].astype(object).where(po["supplier_id"].notna(), sku.map(lead["supplier_id"]))
    shift_days = supplier.astype(str).map(supplier_late).astype(float).fillna(0.0).round()
    expected = pd.to_datetime(po["expected_date"], errors="coerce")
    ordered = pd.to_datetime(po["order_date"], errors="coerce").fillna(as_of)
    lead_days = (sku.map(lead["lead_time_weeks_mean"]).astype(float).fillna(0.0) * 7.0).round()
    fallback = ordered + pd.to_timedelta(lead_days, unit="D")
    arrival = expected.fillna(fallback) + pd.to_timedelta(shift_days.where(expected.notna(), 0.0), unit="D")
    return pd.DataFrame({"sku": sku.to_numpy(), "remaining": remaining.to_numpy(), "arrival": arrival.to_numpy()})


def receipts_matrix(skus: np.ndarray, lines: pd.DataFrame, first_week: pd.Timestamp,
                    weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """(receipts (n, weeks) by projection week, on_order (n,) all open quantity)."""
    n = len(skus)
    index = pd.Index(skus).get_indexer(lines["sku"])
    known = index >= 0
    index, remaining = index[known], lines["remaining"].to_numpy(float)[known]
    days = (pd.DatetimeIndex(lines["arrival"][known]) - first_week).days.to_numpy()
    step = np.maximum(np.floor_divide(days, 7), 0)
    on_order = np.bincount(index, weights=remaining, minlength=n)
    in_horizon = step < weeks
    flat = index[in_horizon] * weeks + step[in_horizon]
    receipts = np.bincount(flat, weights=remaining[in_horizon], minlength=n * weeks).reshape(n, weeks)
    return receipts, on_order


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


def project_risk(skus: np.ndarray, mean: np.ndarray, sd: np.ndarray, family: np.ndarray,
                 first_week: pd.Timestamp, inventory: pd.DataFrame, purchase_orders: pd.DataFrame,
                 policy: pd.DataFrame, lead_times: LeadTimes, as_of: pd.Timestamp,
                 config: PolicyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(projection, backorder_risk) frames; see the module docstring for every formula."""
    skus = np.asarray(skus).astype(str)
    as_of, first_week = pd.Timestamp(as_of), pd.Timestamp(first_week)
    weeks = int(min(config.horizon_weeks, np.shape(mean)[1]))
    mean = np.maximum(np.nan_to_num(np.asarray(mean, dtype=float)[:, :weeks]), 0.0)
    var = np.nan_to_num(np.asarray(sd, dtype=float)[:, :weeks]) ** 2
    n = len(skus)
    is_count = is_count_family(family)

    stock = inventory.drop_duplicates("sku").assign(sku=lambda f: f["sku"].astype(str)).set_index("sku").reindex(skus)
    on_hand = stock["on_hand"].to_numpy(float)
    on_hand = np.nan_to_num(on_hand)
    backordered = np.nan_to_num(stock["backordered"].to_numpy(float)) if "backordered" in stock else np.zeros(n)
    receipts, on_order = receipts_matrix(skus, open_order_lines(purchase_orders, lead_times, as_of), first_week, weeks)
    projected = project_stock(on_hand - backordered, receipts, mean, var, is_count)

    week_dates = first_week + pd.to_timedelta(7 * np.arange(weeks), unit="D")
    projection = pd.DataFrame({
        "sku": np.repeat(skus, weeks),
        "week": np.tile(week_dates.to_numpy(), n),
        "step": np.tile(np.arange(1, weeks + 1), n),
        "demand_mean": mean.ravel(),
        "receipts": receipts.ravel(),
        **{name: values.ravel() for name, values in projected.items()},
    })[PROJECTION_COLUMNS]

    pol = policy.drop_duplicates("sku").set_index("sku").reindex(skus)
    position = on_hand + on_order - backordered
    protection_mean = pol["protection_demand_mean"].to_numpy(float)
    protection_var = pol["protection_demand_sd"].to_numpy(float) ** 2
    stockout_probability = 1.0 - cdf(position, protection_mean, protection_var, is_count)
    expected_backorders = loss(position, protection_mean, protection_var, is_count)
    lead = lead_times.per_sku.drop_duplicates("sku").set_index("sku").reindex(skus)
    unit_cost = pol["unit_cost"].to_numpy(float) if "unit_cost" in pol else np.full(n, np.nan)
    weekly = mean.mean(axis=1) if weeks else np.zeros(n)
    cover = np.divide(on_hand - backordered, weekly, out=np.full(n, np.nan), where=weekly > 0)

    hits = projected["backorder_probability"] >= STOCKOUT_WEEK_PROBABILITY
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
    stockout_week = pd.DatetimeIndex(np.where(first_hit >= 0, week_dates.to_numpy()[np.maximum(first_hit, 0)],
                                              np.datetime64("NaT")))
    p90_days = np.round(lead["lead_time_weeks_p90"].to_numpy(float) * 7.0)
    order_by = (stockout_week - pd.to_timedelta(p90_days, unit="D")).normalize()
    order_by = order_by.where(~(order_by < as_of.normalize()), as_of.normalize())
    supplier_id = pol["supplier_id"].astype(object).where(pol["supplier_id"].notna(), lead["supplier_id"])
    risk = pd.DataFrame({
        "sku": skus,
        "supplier_id": supplier_id.to_numpy(),
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
    })
    return projection, risk[RISK_COLUMNS]
