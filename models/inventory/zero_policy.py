"""Why a SKU gets a zero policy (s = S = 0): one stated reason per such SKU (issue 14).

A buyer who sees s = S = 0 on a SKU that still sells must be told why. Every path that yields a
zero order-up-to level S has its reason; per SKU with S = 0, the first rule that holds:

1. ``discontinued``: the item's status is 'discontinued' (items file);
2. ``do_not_order override``: a planner's ``do_not_order`` override stops an active item
   (``models/overrides.py``: it marks the SKU discontinued for the policy);
3. ``max_stock override``: the policy had S > 0 and a planner's ``max_stock`` override capped it
   at 0 (``models/override_limits.py``);
4. ``never sold``: no demand anywhere in the history;
5. ``no sales in the last W weeks (last sale k weeks ago)``: the demand class ``inactive``
   (``classify.py``: no demand in the last ``INACTIVE_WEEKS`` = 26 weeks), forecast 0;
6. ``forecast overridden to 0``: the engine forecast demand over the horizon, a forecast
   override (multiplier 0, fixed 0) removed it;
7. ``zero forecast``: the engine's own forecast is 0 over the horizon (none of the above);
8. ``zero protection interval``: lead time + review period is 0 weeks, so no demand falls in it.

SKUs with S > 0 get no reason (None). A SKU that sold in the last 26 weeks therefore only gets a
zero policy through rules 1-3 or 6-8, each stated in ``inventory_policy.zero_policy_reason``
and shown by ``safestock explain``.
"""

from __future__ import annotations

import numpy as np

from safestock.models.forecasting.classify import INACTIVE_WEEKS

ZERO_LEVEL_TOLERANCE = 1e-9   # units: an order-up-to level at or below this is zero


def weeks_since_last_sale(history: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """(n,) weeks between the last history week and the last week with demand > 0 (0 = a sale in
    the last week); NaN for SKUs that never sold. ``history`` (n, T) oldest first; columns before
    ``start`` (n,) are not the SKU's history."""
    demand = np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=float)))
    n, weeks = demand.shape
    sold = demand > 0
    if start is not None:
        sold &= np.arange(weeks)[None, :] >= np.asarray(start, dtype=np.int64).reshape(-1)[:, None]
    last = weeks - 1 - np.argmax(sold[:, ::-1], axis=1)
    return np.where(sold.any(axis=1), (weeks - 1 - last).astype(float), np.nan)


def zero_policy_reasons(order_up_to: np.ndarray, item_discontinued: np.ndarray, discontinued: np.ndarray,
                        history: np.ndarray, start: np.ndarray, engine_forecast_mean: np.ndarray,
                        forecast_mean: np.ndarray, protection_weeks: np.ndarray, *,
                        policy_order_up_to: np.ndarray | None = None,
                        inactive_weeks: int = INACTIVE_WEEKS) -> np.ndarray:
    """(n,) object array: the reason of each SKU's zero policy, None where S > 0 (rules: module
    docstring). ``item_discontinued``: the items file's status; ``discontinued``: the same after
    the planner's overrides; ``engine_forecast_mean`` / ``forecast_mean`` (n, h): the engine's
    weekly forecast before and after the forecast overrides; ``protection_weeks`` (n,): L + R;
    ``policy_order_up_to`` (n,): S before the planner's min/max stock overrides (None: none applied)."""
    order_up_to = np.nan_to_num(np.asarray(order_up_to, dtype=float))
    item_discontinued = np.asarray(item_discontinued, dtype=bool)
    discontinued = np.asarray(discontinued, dtype=bool)
    since = weeks_since_last_sale(history, start)
    engine_total = np.nan_to_num(np.asarray(engine_forecast_mean, dtype=float)).sum(axis=1)
    total = np.nan_to_num(np.asarray(forecast_mean, dtype=float)).sum(axis=1)
    protection = np.nan_to_num(np.asarray(protection_weeks, dtype=float))
    zero = order_up_to <= ZERO_LEVEL_TOLERANCE
    capped = (np.zeros(len(zero), bool) if policy_order_up_to is None
              else np.nan_to_num(np.asarray(policy_order_up_to, dtype=float)) > ZERO_LEVEL_TOLERANCE)
    quiet = since >= inactive_weeks   # False for NaN (never sold: its own rule)
    since_text = np.char.mod("%d", np.nan_to_num(since, nan=0.0).astype(np.int64)).astype(object)
    quiet_reason = (f"no sales in the last {inactive_weeks} weeks (last sale " + since_text
                    + " weeks ago)")
    conditions = [item_discontinued, discontinued, capped, np.isnan(since), quiet,
                  (total <= 0) & (engine_total > 0), total <= 0, protection <= 0]
    reasons = ["discontinued", "do_not_order override", "max_stock override", "never sold", quiet_reason,
               "forecast overridden to 0", "zero forecast", "zero protection interval (lead time + review = 0)"]
    chosen = np.select(conditions, reasons, default="order-up-to level rounds to 0")
    return np.where(zero, chosen, None).astype(object)
