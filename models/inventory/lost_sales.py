"""The lost-sales forms of the projection and of the fill-rate policy (issue 16.5), for `lost`
items (``PlanningInputs.lost_sales``: demand that meets an empty shelf is lost, not backlogged).

Policy (``lost_sales_fill_rate``). Under lost sales the demand of a replenishment cycle is what is
sold, Q, plus what is lost, ESPRC (expected shortage per replenishment cycle), so the fill rate
is P2 = Q / (Q + ESPRC) rather than 1 − ESPRC / Q: the service condition becomes
ESPRC <= (1 − P2) / P2 · Q instead of (1 − P2) · Q (Silver, Pyke & Thomas, *Inventory
Management and Production Planning and Scheduling*, 3rd ed., ch. 7, the lost-sales case of the
P2 fill-rate rule: G(k) = (1 − P2) / P2 · Q / σ). The backorder-form solver meets it with the
equivalent target P2' = 1 − (1 − P2) / P2 = (2 P2 − 1) / P2 (0.95 → 0.9474), so every
distribution path of ``policy`` (normal, count, compound, lead-time mixture) takes the lost-sales
form unchanged; the solver's "more exact" − loss(s + Q) term (a backlog carried into the cycle)
stays, negligible when Q >> σ. The cycle-service (P1) rule P(X <= s) >= P1 is the same under
lost sales (SPT ch. 7: the stock-out event of a cycle is the same), so P1 targets are unchanged.

Projection: the week-by-week stock of `lost` items; no backlog is carried forward.

Under lost sales, demand that meets an empty shelf leaves; on hand never goes negative. Week t
(receipts arrive at its start, then its demand D_t is served):

    I'_t = I_{t-1} + r_t                  (on hand available in week t)
    I_t  = max(I'_t - D_t, 0)             (on hand at its end, floored at 0 week to week)
    lost_t = (D_t - I'_t)+,  sold_t = min(D_t, I'_t) = I'_t - I_t

(SPT ch. 7, the lost-sales case: the net stock is the on-hand stock). Unlike the backorder projection,
whose net stock A_t - D_1..t has a closed form, I_t is a reflected random walk: its distribution is
propagated exactly on a grid of G stock levels per SKU, vectorised over SKUs (one loop over the
weeks of the horizon):

* grid: levels k·w, k = 0..G-1, w = (on hand + all receipts of the horizon) / (G - 1) - count
  demand uses whole units when they fit (w = max(1, ⌈M / (G - 1)⌉)); I_0 = on hand, receipts are
  shifted onto the grid (rounded to levels);
* demand of the week on the same grid: count demand ⌊D / w⌋, normal demand D / w rounded (mass
  below 0 at level 0); its pmf from the family's cdf (``distribution.cdf``), weekly moments of the
  forecast (weeks independent, as in the backorder projection);
* P(I_t = j) = Σ_i P(I'_t = i) P(D_t = i - j) for j >= 1 (a cross-correlation, by FFT), the rest at 0;
* stockout_probability_t = P(D_t > I'_t): the week's demand is not all served;
* expected_lost_units_t = E[D_t] - E[sold_t] = E[D_t] - (E[I'_t] - E[I_t]);
* on_hand_expected_t = E[I_t] >= 0.

Exact for count demand with whole-unit levels (M <= G - 1); otherwise the grid rounds levels to w.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from .distribution import cdf

GRID_LEVELS = 129
CHUNK_SKUS = 4096   # SKUs per block of the grid propagation (a few (chunk, 258) arrays in memory)


def lost_sales_fill_rate(fill_rate: np.ndarray) -> np.ndarray:
    """The backorder-form fill-rate target meeting P2 under lost sales: (2 P2 − 1) / P2, clipped to
    [0, 1] (module docstring; SPT 3rd ed. ch. 7)."""
    fill_rate = np.asarray(fill_rate, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip((2.0 * fill_rate - 1.0) / fill_rate, 0.0, 1.0)


def grid_width(max_stock: np.ndarray, is_count: np.ndarray, levels: int = GRID_LEVELS) -> np.ndarray:
    """w per SKU: whole units for count demand (at least 1), else max_stock / (levels - 1) (1 when 0)."""
    max_stock = np.maximum(np.asarray(max_stock, dtype=float), 0.0)
    span = max_stock / (levels - 1)
    count_width = np.maximum(1.0, np.ceil(span - 1e-9))
    return np.where(is_count, count_width, np.where(span > 0, span, 1.0))


def _demand_cdf_on_grid(mean: np.ndarray, var: np.ndarray, is_count: np.ndarray, width: np.ndarray,
                        levels: int) -> np.ndarray:
    """F[:, k] = P(demand level <= k), k = 0..levels-1 (count: ⌊D / w⌋; normal: D / w rounded)."""
    k = np.arange(levels, dtype=float)[None, :]
    bound = np.where(is_count[:, None], (k + 1.0) * width[:, None] - 1.0, (k + 0.5) * width[:, None])
    shape = (len(mean), levels)
    return cdf(bound, np.broadcast_to(mean[:, None], shape), np.broadcast_to(var[:, None], shape),
               np.broadcast_to(is_count[:, None], shape))


def _shift(pmf: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """pmf moved up by ``steps`` (n,) levels; mass beyond the last level is kept there."""
    levels = pmf.shape[1]
    source = np.arange(levels)[None, :] - steps[:, None]
    moved = np.where(source >= 0, np.take_along_axis(pmf, np.clip(source, 0, levels - 1), axis=1), 0.0)
    moved[:, -1] += 1.0 - moved.sum(axis=1)
    return moved


def project_lost_sales(on_hand: np.ndarray, receipts: np.ndarray, mean: np.ndarray, var: np.ndarray,
                       is_count: np.ndarray, levels: int = GRID_LEVELS) -> dict[str, np.ndarray]:
    """Expected on hand, stock-out probability and expected lost units per SKU x week (module
    docstring). ``on_hand`` (n,) at the start, ``receipts`` / ``mean`` / ``var`` (n, weeks).
    SKUs are independent: they are taken ``CHUNK_SKUS`` at a time (bounded memory, same result)."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    var = np.maximum(np.asarray(var, dtype=float), 0.0)
    receipts = np.maximum(np.asarray(receipts, dtype=float), 0.0)
    n, weeks = mean.shape
    is_count = np.broadcast_to(np.asarray(is_count, dtype=bool), (n,))
    start = np.maximum(np.asarray(on_hand, dtype=float), 0.0)
    out = {name: np.zeros((n, weeks)) for name in ("on_hand_expected", "stockout_probability", "expected_lost_units")}
    for first in range(0, n, CHUNK_SKUS):
        rows = slice(first, first + CHUNK_SKUS)
        part = _project_chunk(start[rows], receipts[rows], mean[rows], var[rows], is_count[rows], levels)
        for name, values in part.items():
            out[name][rows] = values
    return out


def _project_chunk(start: np.ndarray, receipts: np.ndarray, mean: np.ndarray, var: np.ndarray,
                   is_count: np.ndarray, levels: int) -> dict[str, np.ndarray]:
    """``project_lost_sales`` of one chunk of SKUs (inputs already clean)."""
    n, weeks = mean.shape
    width = grid_width(start + receipts.sum(axis=1), is_count, levels)
    grid = np.arange(levels, dtype=float)[None, :] * width[:, None]
    pmf = np.zeros((n, levels))
    pmf[np.arange(n), np.clip(np.round(start / width), 0, levels - 1).astype(np.int64)] = 1.0
    out = {name: np.zeros((n, weeks)) for name in ("on_hand_expected", "stockout_probability", "expected_lost_units")}
    size = fft.next_fast_len(2 * levels - 1, real=True)
    demand_cdf = np.zeros((n, levels))
    demand_spectrum = np.zeros((n, size // 2 + 1), dtype=complex)
    for week in range(weeks):
        # the week's demand on the grid; recomputed only where its moments changed (flat forecasts: once)
        changed = (np.ones(n, dtype=bool) if week == 0 else
                   (mean[:, week] != mean[:, week - 1]) | (var[:, week] != var[:, week - 1]))
        if changed.any():
            demand_cdf[changed] = _demand_cdf_on_grid(mean[changed, week], var[changed, week], is_count[changed],
                                                      width[changed], levels)
            demand_spectrum[changed] = np.conj(fft.rfft(np.diff(demand_cdf[changed], axis=1, prepend=0.0), size))
        steps = np.round(receipts[:, week] / width).astype(np.int64)
        available = pmf.copy()
        if (steps > 0).any():
            moving = steps > 0
            available[moving] = _shift(pmf[moving], steps[moving])
        pmf = np.zeros((n, levels))
        pmf[:, 0] = 1.0   # an empty shelf that gets nothing stays empty: no step to compute
        stocked = available[:, 0] < 1.0 - 1e-12
        if stocked.any():
            remaining = fft.irfft(fft.rfft(available[stocked], size) * demand_spectrum[stocked], size)
            step = np.clip(remaining[:, :levels], 0.0, None)
            step[:, 0] = 0.0
            step[:, 0] = np.maximum(1.0 - step.sum(axis=1), 0.0)
            pmf[stocked] = step / step.sum(axis=1, keepdims=True)
        end_stock = (pmf * grid).sum(axis=1)
        sold = (available * grid).sum(axis=1) - end_stock
        out["on_hand_expected"][:, week] = end_stock
        out["stockout_probability"][:, week] = (available * (1.0 - demand_cdf)).sum(axis=1)
        out["expected_lost_units"][:, week] = np.maximum(mean[:, week] - sold, 0.0)
    return out
