"""Overrides that contradict each other or the data (issue 18, item 1): reported, not ignored.

Each finding is a note on the ``overrides_applied`` row of the override and SKU concerned (a row
of its own when the override changed nothing there), starting ``contradiction:`` so a planner
finds them (the report lists rows with a note first). Rules, per SKU, among the overrides that
matched it (the most specific per kind, ``overrides.override_matches``):

* ``min_stock`` m > ``max_stock`` M, both active on the planning date: noted on both lines
  (``override_limits`` applies the maximum last: the physical limit wins);
* ``do_not_order`` and a forecast kind whose date ranges overlap: noted on both lines (the
  forecast is changed, but nothing is ordered while the do-not-order holds);
* ``forecast_fixed`` or ``forecast_multiplier`` on a SKU that ``items.status`` marks
  discontinued: noted on the forecast line (a discontinued SKU is never ordered, whatever its
  forecast says).

Two more are found where the override is applied: a ``like_item`` naming an unknown SKU
(``like_item``) and an override whose date range lies wholly before the planning date
(``overrides.applied_table``: one row, note ``in the past: ...``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .overrides import FORECAST_KINDS, active_on

CONFLICT_COLUMNS = ["line", "sku", "note"]


def override_conflicts(overrides: pd.DataFrame, matches: pd.DataFrame, skus: np.ndarray,
                       discontinued_in_items: np.ndarray, as_of: pd.Timestamp) -> pd.DataFrame:
    """Contradictions as (``line`` = override position, ``sku``, ``note``) rows; rules: module docstring."""
    skus = np.asarray(skus)
    pairs = matches.assign(kind=overrides["kind"].to_numpy()[matches["override"].to_numpy(int)])
    line = overrides["line"].to_numpy()
    value = overrides["value"].to_numpy(float)
    start = pd.to_datetime(overrides["start"]).fillna(pd.Timestamp.min).to_numpy()
    end = pd.to_datetime(overrides["end"]).fillna(pd.Timestamp.max).to_numpy()
    active = active_on(overrides, as_of)
    found: list[pd.DataFrame] = []

    low = pairs[pairs["kind"] == "min_stock"]
    high = pairs[pairs["kind"] == "max_stock"]
    both = low.merge(high, on="row", suffixes=("_min", "_max"))
    k_min, k_max = both["override_min"].to_numpy(int), both["override_max"].to_numpy(int)
    bad = active[k_min] & active[k_max] & (value[k_min] > value[k_max])
    k_min, k_max, rows = k_min[bad], k_max[bad], both["row"].to_numpy(int)[bad]
    text = [f"contradiction: min_stock {value[a]:g} (line {line[a]}) > max_stock {value[b]:g} (line {line[b]}); "
            "the maximum wins" for a, b in zip(k_min, k_max)]
    found += [pd.DataFrame({"line": k_min, "sku": skus[rows], "note": text}),
              pd.DataFrame({"line": k_max, "sku": skus[rows], "note": text})]

    stop = pairs[pairs["kind"] == "do_not_order"]
    changed = pairs[pairs["kind"].isin(FORECAST_KINDS)]
    both = stop.merge(changed, on="row", suffixes=("_stop", "_forecast"))
    k_stop, k_fc = both["override_stop"].to_numpy(int), both["override_forecast"].to_numpy(int)
    overlap = (start[k_stop] <= end[k_fc]) & (start[k_fc] <= end[k_stop])
    k_stop, k_fc, rows = k_stop[overlap], k_fc[overlap], both["row"].to_numpy(int)[overlap]
    found += [pd.DataFrame({"line": k_stop, "sku": skus[rows], "note": [
                  f"contradiction: forecast override on line {line[b]} in the same dates as this do_not_order"
                  for b in k_fc]}),
              pd.DataFrame({"line": k_fc, "sku": skus[rows], "note": [
                  f"contradiction: do_not_order on line {line[a]} in the same dates: nothing is ordered"
                  for a in k_stop]})]

    forecast = pairs[pairs["kind"].isin(("forecast_fixed", "forecast_multiplier"))]
    forecast = forecast[np.asarray(discontinued_in_items, dtype=bool)[forecast["row"].to_numpy(int)]]
    found.append(pd.DataFrame({"line": forecast["override"].to_numpy(int),
                               "sku": skus[forecast["row"].to_numpy(int)],
                               "note": "contradiction: the SKU is discontinued in items (status); it is not ordered"}))
    found = [frame for frame in found if len(frame)]
    if not found:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    return pd.concat(found, ignore_index=True).reindex(columns=CONFLICT_COLUMNS)
