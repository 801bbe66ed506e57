"""Purchase recommendations from the policy and the current risk.

Rules (document in the README):

* A SKU is ordered when its inventory position <= reorder point s, or when its ``order_by`` date
  (projected stock-out minus lead-time p90) falls before the next review (as_of + review period).
  Discontinued items and SKUs without demand are never ordered.
* Quantity = S - inventory position, at least the MOQ, rounded UP to whole packs
  (packs = ⌈max(S - IP, MOQ) / pack_size⌉).
* Maximum cover (``config.max_cover_weeks`` W, 0 = none): a line orders at most W weeks of
  forecast demand, cap = W x d (d = the policy's mean weekly demand over the protection
  interval), in whole packs: packs = max(min(⌈max(S - IP, MOQ) / pack⌉, ⌊cap / pack⌋), packs_min),
  packs_min = max(⌈MOQ / pack⌉, 1). So the cap is rounded down to whole packs, and the minimum
  orderable quantity (MOQ in whole packs, at least one pack) wins over the cap: the line is needed
  (its position is at or below s, or its order-by date comes before the next review) and the
  supplier ships no less; the reason says which bound and by how much. The minimum-order-value
  top-up below may also take a line past the cap (a supplier term too; its reason says so).
* order_by = the risk's order_by (as_of when no stock-out is projected: the position already is
  at the reorder point); expected_arrival = order_by + mean lead time (the arrival when the
  order is placed on its order-by date; ordering earlier brings it forward).
* Reason: the trigger (position vs reorder point, or order-by before the next review), then
  P(stock-out within lead time + review) - the risk's stockout_probability over the protection
  interval, as a whole percent - then, when the projection has one, the first week in which a
  stock-out is more likely than not without new orders (projected_stockout_week: P(backorder)
  >= 50 %), and the weeks of forecast the order covers.
* Supplier minimum order value: when a supplier's lines total less than ``min_order_value``, the
  shortfall is topped up one pack at a time round-robin over its lines in decreasing stock-out
  probability, provided the extra value is at most ``config.max_top_up_ratio`` x the value of the
  lines needed (default 1.0: never more than double the order); otherwise all that supplier's
  lines get status 'deferred' and the reason says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import PolicyConfig
from .planning_inputs import PlanningInputs

ORDER_COLUMNS = [
    "sku", "supplier_id", "order_quantity", "packs", "order_by", "expected_arrival", "unit_cost",
    "line_value", "reason", "status",
]


def _text(values: np.ndarray, pattern: str) -> np.ndarray:
    """printf-format every element (vectorised over the array)."""
    return np.char.mod(pattern, np.asarray(values, dtype=float))


def _percent(probability: np.ndarray | pd.Series) -> np.ndarray:
    """Probabilities as whole percent ("62 %"); "<1 %" / ">99 %" rather than a misleading 0 or 100."""
    p = np.asarray(probability, dtype=float)
    text = np.char.add(_text(np.round(p * 100.0), "%.0f"), " %")
    text = np.where((p > 0) & (p < 0.005), "<1 %", text)
    return np.where((p > 0.995) & (p < 1), ">99 %", text)


def round_to_packs(need: np.ndarray, moq: np.ndarray, pack_size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packs, quantity): ⌈max(need, moq) / pack⌉ packs (pack size < 1 or missing counts as 1)."""
    pack = np.where(np.isfinite(pack_size) & (pack_size > 0), pack_size, 1.0)
    wanted = np.maximum(need, np.nan_to_num(moq))
    packs = np.ceil(wanted / pack - 1e-9).astype(np.int64)
    return packs, packs * pack


def cap_packs(packs: np.ndarray, moq: np.ndarray, pack_size: np.ndarray,
              cap_units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packs, capped, moq_wins) under the maximum-cover cap (module docstring): ``packs`` from
    ``round_to_packs``, ``cap_units`` (inf = no cap). ``capped``: the line is lowered to the cap
    (whole packs); ``moq_wins``: the line exceeds the cap but the minimum orderable quantity
    (MOQ in whole packs, at least one pack) is above it, so the line keeps that minimum."""
    pack = np.where(np.isfinite(pack_size) & (pack_size > 0), pack_size, 1.0)
    minimum = np.maximum(np.ceil(np.nan_to_num(moq) / pack - 1e-9), 1.0)
    cap = np.floor(np.where(np.isfinite(cap_units), cap_units, np.inf) / pack + 1e-9)
    over = packs > cap
    capped_packs = np.where(over, np.maximum(cap, minimum), packs).astype(np.int64)
    return capped_packs, over & (minimum <= cap), over & (minimum > cap)


def top_up_packs(supplier: np.ndarray, pack_value: np.ndarray, shortfall: np.ndarray) -> np.ndarray:
    """Extra packs per line to cover each supplier's ``shortfall`` (value), lines in priority order.

    Whole rounds of one pack per line, then one more pack per line in order while the value added
    in that last round is still short. ``supplier`` must be grouped (contiguous) and ``shortfall``
    given per line (the supplier's value repeated).
    """
    value = np.where(pack_value > 0, pack_value, 0.0)
    frame = pd.DataFrame({"supplier": supplier, "value": value})
    round_value = frame.groupby("supplier", sort=False)["value"].transform("sum").to_numpy()
    before = frame.groupby("supplier", sort=False)["value"].cumsum().to_numpy() - value
    need = np.maximum(shortfall, 0.0)
    full_rounds = np.floor(np.divide(need, round_value, out=np.zeros_like(need), where=round_value > 0))
    remainder = need - full_rounds * round_value
    extra = full_rounds + ((before < remainder - 1e-9) & (value > 0))
    return np.where(value > 0, extra, 0).astype(np.int64)


def recommend_orders(inputs: PlanningInputs, policy: pd.DataFrame, risk: pd.DataFrame,
                     config: PolicyConfig) -> pd.DataFrame:
    """Order lines per SKU (columns ``ORDER_COLUMNS``); see the module docstring for the rules.

    ``policy`` and ``risk``: the ``compute_policy`` and ``project_risk`` frames of ``inputs`` (one
    row per SKU, in their order); ``inputs`` built with ``as_of``."""
    inputs.check_rows(policy, "policy")
    inputs.check_rows(risk, "risk")
    as_of = pd.Timestamp(inputs.planning_date()).normalize()
    frame = policy.drop(columns=[c for c in ("unit_cost",) if c in policy]).reset_index(drop=True).assign(**{
        column: risk[column].to_numpy()
        for column in ("inventory_position", "stockout_probability", "projected_stockout_week", "order_by")})
    position = frame["inventory_position"].to_numpy(float)
    reorder_point = frame["reorder_point"].to_numpy(float)
    review_days = np.round(inputs.review_period_weeks * 7.0)
    next_review = as_of + pd.to_timedelta(review_days, unit="D")
    order_by = pd.DatetimeIndex(frame["order_by"])
    below = position <= reorder_point
    urgent = np.asarray(order_by.notna() & (order_by < next_review))
    active = ~inputs.discontinued & ~frame["method"].isin(["discontinued", "no_demand"]).to_numpy()
    need = frame["order_up_to"].to_numpy(float) - position
    chosen = active & (below | urgent) & (need > 0)

    frame = frame[chosen].reset_index(drop=True)
    need, position, reorder_point, order_by = need[chosen], position[chosen], reorder_point[chosen], order_by[chosen]
    below = below[chosen]
    moq, pack_size = inputs.moq[chosen], inputs.pack_size[chosen]
    packs, quantity = round_to_packs(need, moq, pack_size)
    pack = quantity / np.maximum(packs, 1)
    weekly_demand = frame["demand_per_week_mean"].to_numpy(float)
    cap_units = (config.max_cover_weeks * weekly_demand if config.max_cover_weeks > 0
                 else np.full(len(frame), np.inf))
    cap_units = np.where(weekly_demand > 0, cap_units, np.inf)
    uncapped_quantity = quantity
    packs, capped, moq_wins = cap_packs(packs, moq, pack_size, cap_units)
    unit_cost = inputs.unit_cost[chosen]

    # supplier minimum order value: top up or defer
    quantity = packs * pack
    frame = frame.assign(_packs=packs, _pack=pack, _cost=unit_cost, _value=quantity * np.nan_to_num(unit_cost),
                         _below=below, _position=position, _order_by=order_by,
                         _minimum=inputs.min_order_value[chosen], _capped=capped, _moq_wins=moq_wins,
                         _cap=cap_units, _uncapped=uncapped_quantity, _moq=np.nan_to_num(moq))
    frame = frame.sort_values(["supplier_id", "stockout_probability", "sku"], ascending=[True, False, True],
                              kind="stable").reset_index(drop=True)
    supplier_key = frame["supplier_id"].astype(str)
    minimum = frame["_minimum"].to_numpy(float)
    total = frame.groupby(supplier_key, sort=False)["_value"].transform("sum").to_numpy()
    shortfall = np.maximum(minimum - total, 0.0)
    pack_value = frame["_pack"].to_numpy() * np.nan_to_num(frame["_cost"].to_numpy())
    can_top_up = (frame["_value"] > 0).groupby(supplier_key, sort=False).transform("max").to_numpy()
    cap = config.max_top_up_ratio * total
    deferred = (shortfall > 0) & ((shortfall > cap + 1e-9) | ~can_top_up.astype(bool))
    extra = np.where((shortfall > 0) & ~deferred, top_up_packs(supplier_key.to_numpy(), pack_value, shortfall), 0)
    packs = frame["_packs"].to_numpy() + extra
    quantity = packs * frame["_pack"].to_numpy()
    unit_cost = frame["_cost"].to_numpy()

    weekly = frame["demand_per_week_mean"].to_numpy(float)
    cover = np.divide(quantity, weekly, out=np.full(len(frame), np.nan), where=weekly > 0)
    stockout_week = pd.DatetimeIndex(frame["projected_stockout_week"])
    reason = np.where(
        frame["_below"].to_numpy(),
        "position " + _text(frame["_position"], "%.0f") + " <= reorder point " + _text(frame["reorder_point"], "%.0f")
        + " (safety stock " + _text(frame["safety_stock"], "%.0f") + ")",
        "position " + _text(frame["_position"], "%.0f") + " > reorder point " + _text(frame["reorder_point"], "%.0f")
        + " but the order must be placed before the next review")
    protection_weeks = frame["lead_time_weeks_mean"].to_numpy(float) + frame["review_period_weeks"].to_numpy(float)
    reason = reason + "; P(stock-out within lead time + review, " + _text(protection_weeks, "%.1f") + " weeks) " \
        + _percent(frame["stockout_probability"])
    reason = reason + np.where(
        stockout_week.notna(),
        "; without new orders a stock-out is more likely than not from the week of "
        + np.asarray(stockout_week.strftime("%Y-%m-%d").fillna(""), dtype=str),
        "; no stock-out projected in the horizon")
    reason = reason + "; order covers " + _text(cover, "%.1f") + " weeks"
    weeks = _text(np.full(len(frame), config.max_cover_weeks), "%g")
    reason = np.where(frame["_capped"].to_numpy(),
                      reason + "; capped at " + weeks + " weeks of forecast demand (" + _text(frame["_cap"], "%.0f")
                      + " units; the uncapped " + _text(frame["_uncapped"], "%.0f") + " units would cover "
                      + _text(np.divide(frame["_uncapped"].to_numpy(float), weekly, out=np.full(len(frame), np.nan),
                                        where=weekly > 0), "%.1f") + " weeks)", reason)
    reason = np.where(frame["_moq_wins"].to_numpy(),
                      reason + "; the minimum order (MOQ " + _text(frame["_moq"], "%.0f") + ", pack "
                      + _text(frame["_pack"], "%.0f") + ") is above the " + weeks
                      + "-week cover cap (" + _text(frame["_cap"], "%.0f") + " units): the minimum wins", reason)
    reason = np.where(extra > 0, reason + "; topped up " + extra.astype(str) + " pack(s) to reach the supplier minimum "
                      + _text(minimum, "%.2f"), reason)
    reason = np.where(deferred, "deferred: supplier order " + _text(total, "%.2f") + " below minimum "
                      + _text(minimum, "%.2f") + " and topping up exceeds the cap; " + reason, reason)

    order_by_line = pd.DatetimeIndex(frame["_order_by"]).fillna(as_of)
    order_by_line = order_by_line.where(order_by_line >= as_of, as_of)
    lead_days = np.round(frame["lead_time_weeks_mean"].to_numpy(float) * 7.0)
    result = pd.DataFrame({
        "sku": frame["sku"].to_numpy(),
        "supplier_id": frame["supplier_id"].to_numpy(),
        "order_quantity": quantity.astype(float),
        "packs": packs.astype(np.int64),
        "order_by": order_by_line,
        "expected_arrival": order_by_line + pd.to_timedelta(lead_days, unit="D"),
        "unit_cost": unit_cost,
        "line_value": quantity * unit_cost,
        "reason": reason.astype(object),
        "status": np.where(deferred, "deferred", "recommended"),
    })
    return result[ORDER_COLUMNS]
