"""A new SKU borrows a like item's demand history: override ``like_item`` (issue 18, item 1).

The override (scope ``sku``, ``key`` the new SKU, ``value`` the like SKU's code) acts when the
planning date lies in its date range and the new SKU has fewer than ``NEW_SKU_WEEKS`` weeks of
its own history (``DemandMatrix.history_weeks``: weeks from its first sale to the end of the
window; 13 weeks, the threshold under which the demand classification calls a SKU ``new``,
``forecasting.classify.NEW_WEEKS``, so a like item is borrowed exactly for the SKUs the forecast
would otherwise treat as new). Then, in the weekly demand matrix before the forecast:

* every week before the new SKU's first sale, from the like item's first sale on, takes the like
  item's demand (scaling × 1: the like item's units as they were; a planner who expects the new
  SKU to sell at, say, 60 % of it adds a ``forecast_multiplier`` 0.6 override for the new SKU);
* the new SKU's own weeks are kept as they are;
* its history starts at the like item's first sale (``start`` = the earlier of the two).

Borrowing reads the like items' rows as they were before any borrowing (no chains: A like B,
B like C gives A B's own history). The forecast, the policy's interval model and the policy
backtest use the borrowed history; the ``sales_weekly`` and ``demand_weekly`` tables and the
excess / dead-stock test keep what was really sold.

Recorded (``overrides_applied``): weeks borrowed, the SKU's history units before → after; a note
when nothing was borrowed (the SKU has enough history, the like item has none, the planning date
is outside the range) and ``contradiction: ...`` when the like SKU is not a known SKU.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .demand_matrix import DemandMatrix
from .forecasting.classify import NEW_WEEKS
from .overrides import active_on

#: A SKU with fewer weeks of its own history than this is new: a like_item override applies.
NEW_SKU_WEEKS = NEW_WEEKS
RECORD_COLUMNS = ["line", "sku", "kind", "weeks", "before", "after", "note"]


def borrow_like_history(demand: DemandMatrix, overrides: pd.DataFrame, matches: pd.DataFrame,
                        as_of: pd.Timestamp, *, new_sku_weeks: int = NEW_SKU_WEEKS,
                        ) -> tuple[DemandMatrix, pd.DataFrame]:
    """(the demand matrix with borrowed history, the applied records); rules: module docstring.
    ``matches`` rows refer to ``demand.skus``. Vectorised over the new SKUs (one masked copy)."""
    kind = overrides["kind"].to_numpy()
    pick = matches[kind[matches["override"].to_numpy(int)] == "like_item"]
    if pick.empty:
        return demand, pd.DataFrame(columns=RECORD_COLUMNS)
    k, row = pick["override"].to_numpy(int), pick["row"].to_numpy(int)
    like_code = overrides["text_value"].astype(str).to_numpy()[k]
    source = pd.Index(np.asarray(demand.skus).astype(str)).get_indexer(like_code)
    known = source >= 0
    own_weeks = demand.history_weeks[row]
    source_weeks = np.where(known, demand.history_weeks[np.maximum(source, 0)], 0)
    active = active_on(overrides, as_of)[k]
    borrow = active & known & (own_weeks < new_sku_weeks) & (source_weeks > 0)
    quantity, start = demand.quantity.copy(), demand.start.copy()
    before = demand.quantity[row].sum(axis=1)
    weeks_borrowed = np.zeros(len(k), dtype=int)
    if borrow.any():
        new_rows, like_rows = row[borrow], source[borrow]
        columns = np.arange(demand.quantity.shape[1])[None, :]
        window = (columns >= demand.start[like_rows][:, None]) & (columns < demand.start[new_rows][:, None])
        quantity[new_rows] = np.where(window, demand.quantity[like_rows], demand.quantity[new_rows])
        start[new_rows] = np.minimum(demand.start[new_rows], demand.start[like_rows])
        weeks_borrowed[borrow] = window.sum(axis=1)
    after = quantity[row].sum(axis=1)
    note = np.select(
        [~active, ~known, own_weeks >= new_sku_weeks, source_weeks <= 0],
        ["planning date outside the date range",
         np.char.add(np.char.add("contradiction: like item '", like_code.astype(str)),
                     "' is not a known SKU; no history borrowed"),
         np.char.add(np.char.mod("not applied: the SKU has %d weeks of its own history", own_weeks),
                     f" (>= {new_sku_weeks})"),
         "not applied: the like item has no history"], "")
    records = pd.DataFrame({"line": k, "sku": np.asarray(demand.skus)[row], "kind": "like_item",
                            "weeks": weeks_borrowed, "before": np.where(borrow, before, np.nan),
                            "after": np.where(borrow, after, np.nan), "note": note})
    return dataclasses.replace(demand, quantity=quantity, start=start), records.reindex(columns=RECORD_COLUMNS)
