"""Dense SKU x week demand matrices from long-format weekly sales.

Every model in ``models/`` works on arrays shaped ``(n_skus, n_weeks)``; this module is the one
place that turns the long ``(sku, week, quantity)`` frame into that shape and back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEK = np.timedelta64(7, "D")


def iso_week_start(day: pd.Timestamp) -> pd.Timestamp:
    """Monday of the ISO week containing ``day`` (ISO 8601 weeks start on Monday)."""
    day = pd.Timestamp(day).normalize()
    return day - pd.Timedelta(days=day.weekday())


def last_complete_week(as_of: pd.Timestamp) -> pd.Timestamp:
    """Monday of the last ISO week that has ended on or before ``as_of``.

    A week is complete when its Sunday is on or before ``as_of``; when ``as_of`` is a Sunday the
    week containing it is complete.
    """
    week = iso_week_start(as_of)
    return week if pd.Timestamp(as_of).normalize().weekday() == 6 else week - pd.Timedelta(weeks=1)


def first_forecast_week(as_of: pd.Timestamp) -> pd.Timestamp:
    """Monday of the ISO week after the one containing ``as_of``."""
    return iso_week_start(as_of) + pd.Timedelta(weeks=1)


@dataclass(frozen=True)
class DemandMatrix:
    """Weekly demand of ``skus`` over ``weeks``.

    ``quantity[i, t]`` is the demand of ``skus[i]`` in the ISO week starting ``weeks[t]``,
    zero-filled. ``start[i]`` is the first week that belongs to the SKU's history (its first
    sale, or 0 when that was before the window); columns before it are not history (the item was not yet sold) and are zero.
    """

    skus: np.ndarray
    weeks: pd.DatetimeIndex
    quantity: np.ndarray
    start: np.ndarray

    @property
    def history_weeks(self) -> np.ndarray:
        """Number of weeks of history per SKU (0 for SKUs never sold)."""
        return np.where(self.start < len(self.weeks), len(self.weeks) - self.start, 0)

    def to_long(self) -> pd.DataFrame:
        """Long frame ``sku, week, quantity`` with zero-filled weeks from each SKU's first sale."""
        n_weeks = len(self.weeks)
        in_history = np.arange(n_weeks)[None, :] >= self.start[:, None]
        sku_index, week_index = np.nonzero(in_history)
        return pd.DataFrame(
            {
                "sku": self.skus[sku_index],
                "week": self.weeks.values[week_index],
                "quantity": self.quantity[sku_index, week_index],
            }
        )


def build_demand_matrix(
    sales_weekly: pd.DataFrame,
    skus: np.ndarray,
    last_week: pd.Timestamp,
    max_weeks: int | None = None,
) -> DemandMatrix:
    """Pivot long weekly sales into a zero-filled ``(len(skus), n_weeks)`` matrix.

    The week axis runs from the earliest week in ``sales_weekly`` (or ``last_week`` alone when
    there are no sales) to ``last_week`` inclusive, optionally truncated to the last
    ``max_weeks`` weeks. Sales of SKUs not in ``skus`` are ignored; SKUs without sales get
    ``start == n_weeks`` (no history). Vectorised: one ``np.add.at`` scatter, no loop per SKU.
    """
    skus = np.asarray(skus, dtype=object)
    last_week = pd.Timestamp(last_week)
    weekly = sales_weekly[sales_weekly["week"] <= last_week]
    first_week = pd.Timestamp(weekly["week"].min()) if len(weekly) else last_week
    selling = weekly[weekly["quantity"] > 0]
    first_sale = selling.groupby("sku", sort=False)["week"].min()
    if max_weeks is not None:
        first_week = max(first_week, last_week - pd.Timedelta(weeks=max_weeks - 1))
        weekly = weekly[weekly["week"] >= first_week]
    weeks = pd.date_range(first_week, last_week, freq="7D")
    n_weeks = len(weeks)

    sku_position = pd.Index(skus).get_indexer(weekly["sku"].to_numpy(dtype=object))
    week_position = (
        (weekly["week"].to_numpy(dtype="datetime64[ns]") - np.datetime64(first_week, "ns"))
        // np.timedelta64(7, "D")
    ).astype(np.int64)
    known = sku_position >= 0
    quantity = np.zeros((len(skus), n_weeks), dtype=np.float64)
    np.add.at(
        quantity,
        (sku_position[known], week_position[known]),
        weekly["quantity"].to_numpy(dtype=np.float64)[known],
    )

    first_sale_week = first_sale.reindex(skus).to_numpy(dtype="datetime64[ns]")
    never_sold = np.isnat(first_sale_week)
    first_sale_week[never_sold] = np.datetime64(last_week, "ns")
    weeks_since_first = (first_sale_week - np.datetime64(first_week, "ns")) // np.timedelta64(7, "D")
    start = np.where(never_sold, n_weeks, np.clip(weeks_since_first, 0, None))
    return DemandMatrix(skus=skus, weeks=weeks, quantity=quantity, start=start.astype(np.int64))
