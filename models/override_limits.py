"""Planner stock limits on the policy: overrides ``min_stock`` and ``max_stock`` (issue 18, item 1).

Both act, like the other planning kinds, when the planning date lies in the override's date
range, on the (R, s, S) policy after it was computed (``policy.compute_policy``), so the risk
projection and the order lines follow the limited levels. Per SKU, with the reorder point s and
the order-up-to level S:

* ``min_stock`` m (a display minimum: the shelf must look full): s' = max(s, m), S' = max(S, s').
  Stock is then never planned to fall below m: a review orders whenever the position is at or
  below m.
* ``max_stock`` M (a shelf or pallet maximum): S' = min(S, M); if that leaves S' < s, the reorder
  point is capped too, s' = S' — the policy then holds less than its service level needs, and
  the record's note says the service will fall short of the target.
* Both on one SKU: the minimum first, then the maximum (the physical limit wins); m > M is a
  contradiction reported by ``override_conflicts``.
* A SKU that is discontinued (items or ``do_not_order``) keeps s = S = 0: the limit is recorded
  with a note and not applied.

Safety stock follows the new reorder point (max(s' − protection-demand mean, 0)) and the method
gets ``+min_stock`` / ``+max_stock`` where a level changed. Records (``overrides_applied``):
``min_stock`` reorder point before → after, ``max_stock`` order-up-to before → after; the note
names the other level when it moved too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .overrides import active_on

RECORD_COLUMNS = ["line", "sku", "kind", "weeks", "before", "after", "note"]


def apply_stock_limits(policy: pd.DataFrame, overrides: pd.DataFrame, matches: pd.DataFrame,
                       as_of: pd.Timestamp, discontinued: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(policy with the limits applied, the applied records); ``policy`` rows in the order of the
    SKUs ``matches`` refers to (rules: module docstring). Vectorised over the matched SKUs."""
    kind = overrides["kind"].to_numpy()
    chosen = matches[np.isin(kind[matches["override"].to_numpy(int)], ("min_stock", "max_stock"))]
    if chosen.empty:
        return policy, pd.DataFrame(columns=RECORD_COLUMNS)
    out = policy.copy()
    s = out["reorder_point"].to_numpy(float).copy()
    big_s = out["order_up_to"].to_numpy(float).copy()
    skus = out["sku"].to_numpy()
    active = active_on(overrides, as_of)
    stopped = np.asarray(discontinued, dtype=bool)
    parts = []
    for name in ("min_stock", "max_stock"):
        pick = chosen[kind[chosen["override"].to_numpy(int)] == name]
        k, row = pick["override"].to_numpy(int), pick["row"].to_numpy(int)
        if not len(k):
            continue
        value = overrides["value"].to_numpy(float)[k]
        applies = active[k] & ~stopped[row]
        s_before, big_before = s[row].copy(), big_s[row].copy()
        if name == "min_stock":
            s_after = np.where(applies, np.maximum(s_before, value), s_before)
            big_after = np.maximum(big_before, s_after)
            before, after = s_before, s_after
            moved = "order-up-to " + _fmt(big_before) + " -> " + _fmt(big_after)
            note = np.where(big_after != big_before, moved, "")
        else:
            big_after = np.where(applies, np.minimum(big_before, value), big_before)
            s_after = np.minimum(s_before, big_after)
            before, after = big_before, big_after
            capped = ("reorder point capped " + _fmt(s_before) + " -> " + _fmt(s_after)
                      + ": service will fall short of the target")
            note = np.where(s_after != s_before, capped, "")
        s[row], big_s[row] = s_after, big_after
        note = np.where(~active[k], "planning date outside the date range",
                        np.where(stopped[row], "not applied: the SKU is discontinued (s = S = 0)", note))
        parts.append(pd.DataFrame({"line": k, "sku": skus[row], "kind": name, "weeks": 0,
                                   "before": np.where(active[k], before, np.nan),
                                   "after": np.where(active[k], after, np.nan), "note": note}))
    changed = (s != out["reorder_point"].to_numpy(float)) | (big_s != out["order_up_to"].to_numpy(float))
    raised = changed & (s > out["reorder_point"].to_numpy(float))
    method = out["method"].astype(str).to_numpy()
    method = np.where(raised, np.char.add(method.astype(str), "+min_stock"), method)
    method = np.where(changed & (big_s < out["order_up_to"].to_numpy(float)),
                      np.char.add(method.astype(str), "+max_stock"), method)
    mean = out["protection_demand_mean"].to_numpy(float)
    out["safety_stock"] = np.where(changed, np.maximum(s - mean, 0.0), out["safety_stock"].to_numpy(float))
    out["reorder_point"], out["order_up_to"], out["method"] = s, big_s, method
    return out, pd.concat(parts, ignore_index=True).reindex(columns=RECORD_COLUMNS)


def _fmt(values: np.ndarray) -> np.ndarray:
    """Levels as text with at most one decimal (``40``, ``37.5``)."""
    return np.char.rstrip(np.char.rstrip(np.char.mod("%.1f", np.asarray(values, dtype=float)), "0"), ".")
