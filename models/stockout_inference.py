"""Likely stock-out days inferred from sales and receipts, for SKUs without a stock history.

Without `stock_history`, a lost-sales item's stock-outs leave one trace in the data: a run of
days without sales that ends when stock arrives. This module flags such runs conservatively;
everything it flags is marked *inferred* downstream (`demand_weekly.stockout_source`), never
mixed silently with observed stock-outs.

Rule (vectorised over a SKU x day grid; all of it is a heuristic, the probabilities only rank how
surprising a run is under a simple demand model):

1. Candidate run: for every receipt (a purchase-order line received on day t), the days without
   sales immediately before t, back to the last day with a sale or an earlier receipt (day a):
   days a+1 .. t-1. Only runs inside a selling SKU count: a sale must precede the run (a new item
   waiting for its first delivery is not out of stock, it is not yet listed). This is the
   "zero-run ending with a replenishment" diagnostic of intermittent-demand practice (Croston-type
   demand screening as used e.g. by Lokad's stock-out detection); Nahmias 1994 ("Demand estimation
   in lost sales inventory systems", Naval Research Logistics 41(6):739-757) shows why such periods
   must be treated as censored rather than as zero demand.
2. Improbable given the SKU's rate: the chance of no sale over the run must be below ``alpha``
   (default 1 %), taking the larger of two models of zero-sales spells (the conservative side):
   rate heterogeneity, P0 = (1 + m / r)^(-r) (negative binomial with mean m and size r; Poisson
   e^(-m) when r is infinite), and lumpy orders, P0 = e^(-m / U) (compound Poisson: units come
   in orders of U units on average, and a run without sales is a run without an order; U = the
   units per day with sales over the in-stock history, at least 1 — an upper bound of the units
   per order, since a selling day has at least one order, so m / U under-states the orders
   expected: conservative). m = λ · (sum of the run days' weekday
   weights), λ = the smaller of the SKU's in-stock rate over its whole selling history and over
   the ``local_days`` before the run (units per week-equivalent of in-stock selling days; the
   smaller rate is the conservative one: a SKU slowing down or going out of season is not
   flagged). r from the method of moments on its in-stock 7-day totals (mean μ, variance v),
   r = μ² / (v − μ) (v ≤ μ: Poisson). Drawing one gamma rate for the whole run (the NB form) makes
   a long run more probable than independent days would: conservative.
3. Demand resumed: the days without sales from the receipt on (to the next sale, or to the end
   of the data) must not themselves be improbable (P0 ≥ ``alpha``): if sales do not come back
   with the stock, demand has probably gone rather than the shelf having been empty.
4. ``passes`` passes (default 3): the rate and dispersion of each pass leave out the days flagged
   by the one before (the "rate from in-stock weeks"; pass 1 uses every day of the selling
   history, which under-states the rate and over-states the dispersion: conservative); the flags
   of the last pass are the result. A SKU needs
   ``min_selling_days`` days with sales and ``min_weeks`` in-stock 7-day blocks for any flag.

Days flagged are out of stock for the whole day; the day of the last sale and the receipt day
are taken as in stock (the conservative side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_ALPHA = 0.01
DEFAULT_MIN_SELLING_DAYS = 8
DEFAULT_MIN_WEEKS = 4
DEFAULT_LOCAL_DAYS = 28
DEFAULT_PASSES = 3


@dataclass(frozen=True)
class InferredStockouts:
    """Inference on a SKU x day grid: ``out_of_stock`` = day flagged as an inferred stock-out;
    ``weekly_in_stock_share`` = per 7-day block of the grid (blocks start at day 0), 1 minus the
    weekday weights of its flagged days; ``weekly_out_of_stock_days`` = flagged days per block."""

    out_of_stock: np.ndarray
    weekly_in_stock_share: np.ndarray
    weekly_out_of_stock_days: np.ndarray


def zero_sales_probability(mean: np.ndarray, size: np.ndarray, dispersion: np.ndarray | float = 1.0) -> np.ndarray:
    """P(no unit sold) for demand with mean ``mean``, the larger of: negative binomial with size
    ``size``, (1 + mean / size)^(-size) (Poisson exp(-mean) where ``size`` is infinite), and
    compound Poisson with orders of ``dispersion`` units on average (at least 1),
    exp(-mean / dispersion)."""
    mean = np.asarray(mean, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    finite = np.isfinite(size)
    with np.errstate(divide="ignore", invalid="ignore"):
        negative_binomial = np.exp(-size * np.log1p(mean / np.where(finite, size, 1.0)))
    heterogeneous = np.where(finite, negative_binomial, np.exp(-mean))
    lumpy = np.exp(-mean / np.maximum(np.asarray(dispersion, dtype=np.float64), 1.0))
    return np.maximum(heterogeneous, lumpy)


def _block_statistics(block_sales: np.ndarray, block_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU over its in-stock 7-day blocks: NB size r = μ² / (v − μ) (inf when v ≤ μ) and the
    number of such blocks."""
    blocks = block_ok.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        block_mean = np.where(block_ok, block_sales, 0.0).sum(axis=1) / blocks
        block_var = (np.where(block_ok, (block_sales - block_mean[:, None]) ** 2, 0.0).sum(axis=1)
                     / (blocks - 1))
        size = np.where(block_var > block_mean, block_mean ** 2 / (block_var - block_mean), np.inf)
    return size, blocks


def infer_stockout_days(
    sales: np.ndarray,
    receipts: np.ndarray,
    weekday_weight: np.ndarray,
    first_weekday: int,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_selling_days: int = DEFAULT_MIN_SELLING_DAYS,
    min_weeks: int = DEFAULT_MIN_WEEKS,
    local_days: int = DEFAULT_LOCAL_DAYS,
    passes: int = DEFAULT_PASSES,
) -> InferredStockouts:
    """Flag likely stock-out days (see the module docstring for the rule and its sources).

    ``sales``: SKU x consecutive calendar days, units sold (negative = returns, counted as 0);
    ``receipts``: same shape, True on a day stock was received; ``weekday_weight``: 7 weights
    Monday..Sunday summing to 1 (share of units sold per weekday); ``first_weekday``: weekday of
    day 0 (0 = Monday). Vectorised: a few passes over the grid (prefix maxima/minima, cumulative
    sums), then per candidate run and per SKU x 7-day block; no loop per SKU. Runs are disjoint
    and hold no sales, so the passes re-estimate the rate from per-run sums, not the grid. The
    local rate leaves out the flagged runs that start inside its window (one only partly inside
    counts as in stock: a lower local rate, the conservative side)."""
    sales = np.clip(np.asarray(sales, dtype=np.float64), 0.0, None)
    receipts = np.asarray(receipts, dtype=bool)
    n_skus, n_days = sales.shape
    weights = np.asarray(weekday_weight, dtype=np.float64)
    day_weight = weights[(first_weekday + np.arange(n_days)) % 7]
    if n_skus == 0 or n_days < 2:
        return _weekly(np.zeros((n_skus, n_days), dtype=bool), day_weight)
    days = np.arange(n_days, dtype=np.int32)
    selling = sales > 0
    selling_days = selling.sum(axis=1)
    first_sale = np.where(selling_days > 0, selling.argmax(axis=1), n_days)
    # last day with a sale or a receipt at or before each day; next day with a sale at or after
    last_event = np.maximum.accumulate(np.where(selling | receipts, days[None, :], np.int32(-1)), axis=1)
    next_sale = np.minimum.accumulate(np.where(selling, days[None, :], np.int32(n_days))[:, ::-1], axis=1)[:, ::-1]
    cumulative_weight = np.concatenate([[0.0], np.cumsum(day_weight)])  # weight of days < d
    receipt_sku, receipt_day = np.nonzero(receipts[:, 1:])
    receipt_day = receipt_day + 1
    run_start = last_event[receipt_sku, receipt_day - 1].astype(np.int64) + 1  # first zero day of the run
    candidate = ((run_start >= 1) & (run_start <= receipt_day - 1)
                 & (first_sale[receipt_sku] < run_start) & (selling_days[receipt_sku] >= min_selling_days))
    receipt_sku, receipt_day, run_start = receipt_sku[candidate], receipt_day[candidate], run_start[candidate]
    run_weight = cumulative_weight[receipt_day] - cumulative_weight[run_start]
    after_end = next_sale[receipt_sku, receipt_day]  # first sale on or after the receipt (n_days: none)
    after_weight = cumulative_weight[after_end] - cumulative_weight[receipt_day]
    del last_event, next_sale
    # local rate: units and in-stock weight of the local_days before the run (within the selling history)
    local_from = np.maximum(np.maximum(run_start - local_days, 0), first_sale[receipt_sku])
    cumulative_sales = np.cumsum(sales, axis=1)
    local_units = (cumulative_sales[receipt_sku, run_start - 1]
                   - np.where(local_from > 0, cumulative_sales[receipt_sku, np.maximum(local_from - 1, 0)], 0.0))
    del cumulative_sales
    local_exposure = cumulative_weight[run_start] - cumulative_weight[local_from]
    # candidates are ordered by SKU, then day: the earlier runs of a SKU that start inside a run's
    # local window are the candidates from `window_first` up to the run itself
    run_key = receipt_sku * (n_days + 2) + run_start
    window_first = np.searchsorted(run_key, receipt_sku * (n_days + 2) + local_from, side="left")
    units = sales.sum(axis=1)  # every sale is in the selling history and no flagged day has one
    history_weight = cumulative_weight[n_days] - cumulative_weight[np.minimum(first_sale, n_days)]
    with np.errstate(divide="ignore", invalid="ignore"):
        units_per_selling_day = np.nan_to_num(units / selling_days, nan=1.0)
    # 7-day blocks: totals, and whether wholly inside the selling history
    n_blocks = n_days // 7
    block_sales = sales[:, :n_blocks * 7].reshape(n_skus, n_blocks, 7).sum(axis=2)
    block_in_history = (np.arange(n_blocks)[None, :] * 7) >= first_sale[:, None]
    run_first_block, run_last_block = run_start // 7, (receipt_day - 1) // 7
    chosen = np.zeros(len(receipt_sku), dtype=bool)
    for _ in range(max(1, passes)):
        flagged_weight = np.bincount(receipt_sku[chosen], weights=run_weight[chosen], minlength=n_skus)
        exposure = history_weight - flagged_weight
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(exposure > 0, units / exposure, 0.0)
        block_flagged = np.zeros((n_skus, n_blocks + 1), dtype=np.int32)
        np.add.at(block_flagged, (receipt_sku[chosen], np.minimum(run_first_block[chosen], n_blocks)), 1)
        np.add.at(block_flagged, (receipt_sku[chosen], np.minimum(run_last_block[chosen] + 1, n_blocks)), -1)
        block_ok = block_in_history & (np.cumsum(block_flagged, axis=1)[:, :n_blocks] == 0)
        size, blocks = _block_statistics(block_sales, block_ok)
        chosen_weight = np.concatenate([[0.0], np.cumsum(np.where(chosen, run_weight, 0.0))])
        local_in_stock = local_exposure - (chosen_weight[:-1] - chosen_weight[window_first])
        with np.errstate(divide="ignore", invalid="ignore"):
            local_rate = np.where(local_in_stock > 0, local_units / local_in_stock, 0.0)
        run_rate = np.minimum(rate[receipt_sku], local_rate)
        sku_size, sku_lumps = size[receipt_sku], units_per_selling_day[receipt_sku]
        improbable = zero_sales_probability(run_rate * run_weight, sku_size, sku_lumps) < alpha
        resumed = zero_sales_probability(run_rate * after_weight, sku_size, sku_lumps) >= alpha
        chosen = improbable & resumed & (blocks >= min_weeks)[receipt_sku]
    boundary = np.zeros((n_skus, n_days + 1), dtype=np.int8)
    np.add.at(boundary, (receipt_sku[chosen], run_start[chosen]), 1)
    np.add.at(boundary, (receipt_sku[chosen], receipt_day[chosen]), -1)
    flagged = np.cumsum(boundary, axis=1, dtype=np.int8)[:, :n_days] > 0
    return _weekly(flagged, day_weight)


def _weekly(flagged: np.ndarray, day_weight: np.ndarray) -> InferredStockouts:
    """7-day blocks from day 0 (a trailing partial block is left out)."""
    n_skus, n_days = flagged.shape
    n_blocks = n_days // 7
    block_flags = flagged[:, :n_blocks * 7].reshape(n_skus, n_blocks, 7)
    block_weight = day_weight[:n_blocks * 7].reshape(n_blocks, 7)
    share = 1.0 - (block_flags * block_weight[None, :, :]).sum(axis=2)
    return InferredStockouts(out_of_stock=flagged, weekly_in_stock_share=np.clip(np.round(share, 12), 0.0, 1.0),
                             weekly_out_of_stock_days=block_flags.sum(axis=2))
