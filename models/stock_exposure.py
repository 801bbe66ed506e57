"""Weekly in-stock share from a daily end-of-day stock grid (the stock_history fast path).

The same rule as sql/stock_weekly_aggregate.sql (the staged path), computed on a SKU x day grid
so that a year of daily stock for 100,000 SKUs needs no sort in SQL (tests compare the two):

- a day's out-of-stock fraction: ``stockout_hours / 24`` (capped at 1) when given; otherwise 1
  when the day starts and ends with nothing on hand (end-of-day on_hand <= 0 on this day and on
  the day before, both with a row), 1/2 when it sells out (the day before ended above 0), else 0
  (a receipt is taken to arrive before the day's demand);
- a week's in-stock share = 1 − Σ_days weight(weekday) · fraction over its days with a row,
  weight = the weekday's share of units sold (the weekday profile), clipped to [0, 1];
  ``out_of_stock_days`` = days with a fraction > 0, ``out_of_stock_day_equivalents`` = Σ fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeeklyStock:
    """Per SKU x 7-day block of the grid (blocks start at day 0): ``has_row`` = the block has a
    stock row; the share, days and day-equivalents as in the module docstring."""

    has_row: np.ndarray
    in_stock_share: np.ndarray
    out_of_stock_days: np.ndarray
    out_of_stock_day_equivalents: np.ndarray


def weekly_stock(ended_empty: np.ndarray, stockout_hours: np.ndarray | None, has_row: np.ndarray,
                 weekday_weight: np.ndarray, first_weekday: int) -> WeeklyStock:
    """The weekly figures of a SKU x day grid (see the module docstring). ``ended_empty``: the
    day's row has end-of-day on_hand <= 0; ``stockout_hours``: NaN where not given (None: never);
    ``weekday_weight``: Monday..Sunday; ``first_weekday``: weekday of day 0 (0 = Monday); the
    number of days is a multiple of 7 (complete weeks)."""
    n_skus, n_days = has_row.shape
    empty = has_row & ended_empty
    previous_row = np.zeros_like(has_row)
    previous_row[:, 1:] = has_row[:, :-1]
    previous_empty = np.zeros_like(has_row)
    previous_empty[:, 1:] = empty[:, :-1]
    fraction = np.where(empty & previous_row, np.where(previous_empty, 1.0, 0.5), 0.0)
    if stockout_hours is not None:
        hours_given = has_row & ~np.isnan(stockout_hours)
        fraction = np.where(hours_given, np.minimum(np.nan_to_num(stockout_hours), 24.0) / 24.0, fraction)
    day_weight = np.asarray(weekday_weight, dtype=np.float64)[(first_weekday + np.arange(n_days)) % 7]
    n_blocks = n_days // 7
    blocks = (n_skus, n_blocks, 7)
    block_fraction = fraction.reshape(blocks)
    share = 1.0 - (block_fraction * day_weight.reshape(n_blocks, 7)[None, :, :]).sum(axis=2)
    return WeeklyStock(has_row=has_row.reshape(blocks).any(axis=2),
                       in_stock_share=np.clip(share, 0.0, 1.0),
                       out_of_stock_days=(block_fraction > 0).sum(axis=2),
                       out_of_stock_day_equivalents=block_fraction.sum(axis=2))
