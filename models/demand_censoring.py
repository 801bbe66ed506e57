"""Unconstrained demand from sales censored by stock-outs (lost-sales items).

When the shelf is empty and the customer walks away, a week's sales are a lower bound on its
demand (a censored observation). Forecasting the sales of such weeks under-states demand, the
next safety stock is smaller and the next stock-out comes sooner. This module estimates the
demand of censored weeks; the forecast is made from that estimate (`demand_weekly`), while
`sales_weekly` keeps what was sold.

Model (per SKU, weeks t of its history): demand in week t is Poisson-like with rate λ_t per
in-stock week; week t was in stock for a share e_t in [0, 1] of its selling time (the
weekday-weighted in-stock share, sql/stock_weekly_aggregate.sql), so the units sold are the
demand of that exposure: E[sales_t] = λ_t · e_t. Estimation, vectorised over SKU x week:

1. Local rate, the exposure-weighted ratio estimator over a centred window W of
   ``window_weeks`` history weeks (the maximum-likelihood rate of counts observed over exposure
   times; Nahmias 1994, "Demand estimation in lost sales inventory systems", Naval Research
   Logistics 41(6):739-757, uses the same in-stock-period estimator for the censored normal /
   Poisson case):  λ̂_t = Σ_{k∈W} sales_k / Σ_{k∈W} e_k.
   Where the window has less than ``min_exposure_weeks`` of in-stock time, the SKU's whole
   history gives the ratio; with less than that in the whole history, no estimate (sales kept).
2. Demand of a censored week (e_t < 1, item `lost`): what was sold plus the expected demand
   of the time out of stock, the E-step of EM for censored data (Dempster, Laird & Rubin 1977;
   Conrad 1976, "Sales data and the estimation of demand", Operational Research Quarterly
   27(1):123-127):  D̂_t = sales_t + (1 − e_t) · λ̂_t,
   capped at ``max_ratio`` · λ̂_t (at most a few weeks' worth, guarding against a spike).
   A `backorder` item's sales already hold the demand (the customer waited), and a week in
   stock is an observation: D̂_t = sales_t there.

Input conventions: ``in_stock_share`` is 1 for weeks without stock information (taken as in
stock: no inference without evidence), NaN is treated the same; columns before ``start[i]``
are not history and are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_WINDOW_WEEKS = 13
DEFAULT_MIN_EXPOSURE_WEEKS = 2.0
DEFAULT_MAX_RATIO = 3.0


@dataclass(frozen=True)
class UnconstrainedDemand:
    """Demand estimate of every SKU-week (shape of the sales matrix).

    ``demand`` = estimated demand; ``censored`` = a `lost` item's week that was partly or fully
    out of stock (its sales are a lower bound); ``estimated`` = a censored week whose demand
    could be estimated (a rate was available); ``rate`` = the in-stock rate λ̂ used (NaN where
    none)."""

    demand: np.ndarray
    censored: np.ndarray
    estimated: np.ndarray
    rate: np.ndarray


def _window_sums(values: np.ndarray, half_width: int) -> np.ndarray:
    """Centred moving sums along axis 1 (window clipped at the edges), by cumulative sums."""
    n_weeks = values.shape[1]
    cumulative = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    weeks = np.arange(n_weeks)
    low = np.clip(weeks - half_width, 0, n_weeks)
    high = np.clip(weeks + half_width + 1, 0, n_weeks)
    return cumulative[:, high] - cumulative[:, low]


def unconstrain_demand(
    sales: np.ndarray,
    in_stock_share: np.ndarray,
    lost: np.ndarray,
    start: np.ndarray | None = None,
    *,
    window_weeks: int = DEFAULT_WINDOW_WEEKS,
    min_exposure_weeks: float = DEFAULT_MIN_EXPOSURE_WEEKS,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> UnconstrainedDemand:
    """Estimate demand in censored weeks (see the module docstring for the rule and sources).

    ``sales``, ``in_stock_share``: SKU x week; ``lost``: per SKU, True for `lost` items;
    ``start``: first history week per SKU (default 0). Vectorised: cumulative sums over the
    week axis, no loop per SKU."""
    sales = np.asarray(sales, dtype=np.float64)
    n_skus, n_weeks = sales.shape
    share = np.clip(np.nan_to_num(np.asarray(in_stock_share, dtype=np.float64), nan=1.0), 0.0, 1.0)
    start = np.zeros(n_skus, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64)
    in_history = np.arange(n_weeks)[None, :] >= start[:, None]
    exposure = np.where(in_history, share, 0.0)
    observed = np.where(in_history, sales, 0.0)
    half_width = max(0, int(window_weeks) // 2)
    window_exposure = _window_sums(exposure, half_width)
    window_sales = _window_sums(observed, half_width)
    total_exposure = exposure.sum(axis=1, keepdims=True)
    total_sales = observed.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        local_rate = window_sales / window_exposure
        overall_rate = np.broadcast_to(total_sales / total_exposure, sales.shape)
    rate = np.where(window_exposure >= min_exposure_weeks, local_rate,
                    np.where(total_exposure >= min_exposure_weeks, overall_rate, np.nan))
    censored = in_history & (share < 1.0) & np.asarray(lost, dtype=bool)[:, None]
    estimated = censored & np.isfinite(rate)
    filled = sales + (1.0 - share) * np.where(estimated, rate, 0.0)
    capped = np.minimum(filled, np.maximum(sales, max_ratio * np.where(estimated, rate, 0.0)))
    demand = np.where(estimated, capped, sales)
    return UnconstrainedDemand(demand=demand, censored=censored, estimated=estimated, rate=rate)


def in_stock_share_matrix(stock_weekly_sku: np.ndarray, stock_weekly_week: np.ndarray,
                          stock_weekly_share: np.ndarray, skus: np.ndarray,
                          weeks: np.ndarray) -> np.ndarray:
    """Scatter long (sku, week, in_stock_share) rows onto the SKU x week grid of ``skus`` and
    ``weeks`` (Mondays); cells without a row are NaN (no stock information, taken as in stock by
    `unconstrain_demand`). Rows outside the grid are ignored."""
    share = np.full((len(skus), len(weeks)), np.nan, dtype=np.float64)
    if len(stock_weekly_sku) == 0 or len(weeks) == 0:
        return share
    sku_position = _positions(np.asarray(skus, dtype=object), np.asarray(stock_weekly_sku, dtype=object))
    week_position = _positions(np.asarray(weeks, dtype="datetime64[ns]"),
                               np.asarray(stock_weekly_week, dtype="datetime64[ns]"))
    known = (sku_position >= 0) & (week_position >= 0)
    share[sku_position[known], week_position[known]] = np.asarray(stock_weekly_share, dtype=np.float64)[known]
    return share


def _positions(axis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in ``axis`` (-1 when absent; ``axis`` values unique), by a hash table
    (pandas Index.get_indexer: millions of SKU strings without comparing Python objects in a sort)."""
    return pd.Index(axis).get_indexer(pd.Index(values))
