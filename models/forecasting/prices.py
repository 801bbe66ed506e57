"""Selling prices as a forecasting feature: the weekly price grid and relative prices.

Input: the quantity-weighted mean selling price per SKU-week (``sales.unit_price``, aggregated in
DuckDB by ``sql/sales_prices_weekly.sql``); this module puts it on the demand matrix's grid and
derives the features the global model (:mod:`.global_model`) uses.

* **Grid** (:func:`weekly_price_matrix`): ``price[i, t]`` = that SKU-week's price; a week without
  a priced sale carries the last known price forward (the shelf price did not change because
  nothing sold), weeks before the SKU's first priced sale stay NaN (unknown).
* **Regular price** (:func:`trailing_median`): the median of the SKU's weekly prices over the
  :data:`REGULAR_PRICE_WEEKS` weeks before an origin (NaN weeks skipped). A median ignores
  short promotions (a 1-2 week cut is a minority of 52 weeks) and follows a lasting list-price
  change within half a year — the "reference/regular price" of the promotion literature (e.g.
  the M5 price features: price relative to the item's usual price; Makridakis et al. 2022).
* **Relative price** of a week = price / regular price at the origin; a **promotion** week has a
  relative price below :data:`PROMOTION_THRESHOLD` (0.9: a cut of at least 10 %).

Future prices (:func:`price_features`): a target week at or after the time the model is used
(``known_before``) has no observed price. Unless a planned price is given the assumption is the
**regular price** (relative price 1, no promotion): the forecast is the demand at the SKU's
regular price, and a promotion the planner knows of is entered as an override. Rows trained
inside a cut use the observed price of their target week (it lies before the cut); rows
predicted from the cut use the assumption, so the forecast from an origin depends only on
prices of weeks before it. *Planned prices* (engine API only, :func:`.global_model.global_forecasts`
with a price grid wider than the history): a known week's price is used where given (NaN = the
regular price).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGULAR_PRICE_WEEKS: int = 52
PROMOTION_THRESHOLD: float = 0.9
PRICE_FEATURES: tuple[str, ...] = ("relative_price", "promotion", "relative_price_last")


def forward_fill(price: np.ndarray) -> np.ndarray:
    """``price`` (n, T) with each NaN replaced by the last non-NaN value before it in its row
    (leading NaNs stay NaN). Vectorised: a running maximum of the last observed column index."""
    price = np.asarray(price, dtype=np.float64)
    if price.size == 0:
        return price.copy()
    columns = np.arange(price.shape[1])[None, :]
    last_seen = np.maximum.accumulate(np.where(np.isnan(price), -1, columns), axis=1)
    rows = np.arange(price.shape[0])[:, None]
    return np.where(last_seen >= 0, price[rows, np.maximum(last_seen, 0)], np.nan)


def weekly_price_matrix(sku: np.ndarray, week: np.ndarray, unit_price: np.ndarray,
                        skus: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """(len(skus), len(weeks)) forward-filled weekly price from long rows (``sku``, ``week``,
    ``unit_price``); rows of other SKUs or weeks are ignored, a NaN price is a week without one.

    Weeks before the grid's first week seed the fill (the price in force when the grid starts)."""
    skus = np.asarray(skus, dtype=object)
    weeks = np.asarray(weeks, dtype="datetime64[ns]")
    out = np.full((skus.size, weeks.size), np.nan)
    if not skus.size or not weeks.size or not len(sku):
        return out
    row = pd.Index(skus).get_indexer(np.asarray(sku, dtype=object))
    stamp = np.asarray(week, dtype="datetime64[ns]")
    column = ((stamp - weeks[0]) // np.timedelta64(7, "D")).astype(np.int64)
    value = np.asarray(unit_price, dtype=np.float64)
    keep = (row >= 0) & (column < weeks.size) & ~np.isnan(value)
    order = np.lexsort((column[keep], row[keep]))             # per SKU by week: the last early week wins
    row, column, value = row[keep][order], column[keep][order], value[keep][order]
    inside = column >= 0
    out[row[inside], column[inside]] = value[inside]
    early = ~inside
    if early.any():                                           # latest price before the grid, where column 0 is empty
        seed = np.full(skus.size, np.nan)
        seed[row[early]] = value[early]                        # sorted by week: the last assignment is the latest
        out[:, 0] = np.where(np.isnan(out[:, 0]), seed, out[:, 0])
    return forward_fill(out)


def trailing_median(price: np.ndarray, sku: np.ndarray, end: np.ndarray,
                    weeks: int = REGULAR_PRICE_WEEKS) -> np.ndarray:
    """Median of ``price[sku, max(end - weeks, 0) : end]`` per row, NaN weeks skipped (NaN when the
    window holds no price). Computed once per distinct (sku, end) pair, vectorised over pairs."""
    sku = np.asarray(sku, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    if not sku.size:
        return np.zeros(0)
    n_columns = price.shape[1]
    pair, inverse = np.unique(sku * (n_columns + 1) + end, return_inverse=True)
    pair_sku, pair_end = np.divmod(pair, n_columns + 1)
    column = pair_end[:, None] - weeks + np.arange(weeks)[None, :]
    window = np.where(column >= 0, price[pair_sku[:, None], np.clip(column, 0, n_columns - 1)], np.nan)
    window.sort(axis=1)                                        # NaN sort last
    count = (~np.isnan(window)).sum(axis=1)
    low = np.clip((count - 1) // 2, 0, weeks - 1)
    high = np.clip(count // 2, 0, weeks - 1)
    rows = np.arange(pair.size)
    median = np.where(count > 0, (window[rows, low] + window[rows, high]) / 2, np.nan)
    return median[inverse.reshape(-1)]


def price_features(price: np.ndarray, sku: np.ndarray, origin: np.ndarray, target: np.ndarray,
                   known_before: int) -> np.ndarray:
    """(rows, 3) features :data:`PRICE_FEATURES` of rows (``sku``, ``origin``, ``target`` week):

    * ``relative_price`` = price[target] / regular price at the origin (:func:`trailing_median`
      of the weeks before ``origin``); for ``target >= known_before`` the future-price
      assumption: 1 (the regular price).
    * ``promotion`` = 1 when ``relative_price`` < :data:`PROMOTION_THRESHOLD`, else 0.
    * ``relative_price_last`` = price of week ``origin - 1`` / the same regular price (was the
      last week seen, the strongest lag, a promotion?).

    NaN where the SKU has no price before the origin. Reads only columns before ``origin`` and
    target columns before ``known_before``.
    """
    sku = np.asarray(sku, dtype=np.int64)
    origin = np.asarray(origin, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    n_columns = price.shape[1]
    regular = trailing_median(price, sku, origin)
    with np.errstate(invalid="ignore", divide="ignore"):
        inverse = np.where(regular > 0, 1.0 / regular, np.nan)
    known = target < min(known_before, n_columns)
    observed = price[sku, np.clip(target, 0, n_columns - 1)] * inverse
    relative = np.where(known & ~np.isnan(observed), observed, np.where(np.isnan(regular), np.nan, 1.0))
    last_column = origin - 1
    last = np.where(last_column >= 0, price[sku, np.clip(last_column, 0, n_columns - 1)], np.nan) * inverse
    promotion = np.where(np.isnan(relative), np.nan, (relative < PROMOTION_THRESHOLD).astype(np.float64))
    return np.column_stack([relative, promotion, last])
