"""Croston, SBA and TSB for intermittent/lumpy demand, vectorised over SKUs.

Sources: Croston (1972); Syntetos & Boylan (2005), "The accuracy of intermittent demand
estimates", IJF 21 — SBA correction factor ``(1 - alpha/2)``; Teunter, Syntetos & Babai
(2011), "Intermittent demand: linking forecasting to inventory obsolescence", EJOR 214 — TSB.

Conventions as in :mod:`models.forecasting.forecast_types` (one pass serves every cut,
parameters chosen per SKU and cut by one-step in-sample SSE, running-mean warm-up weights
``max(alpha, 1/k)`` where k counts demands, intervals or periods as stated below).
"""

from __future__ import annotations

import numpy as np

from .forecast_types import (
    CutForecasts,
    WarmupWeights,
    choose_by_sse,
    cut_error_counts,
    first_error_squared,
    masked_by_start,
    rmse_from_sse,
)

CROSTON_ALPHAS: np.ndarray = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.4])
TSB_ALPHAS: np.ndarray = np.array([0.05, 0.1, 0.2, 0.3])
TSB_BETAS: np.ndarray = np.array([0.02, 0.05, 0.1, 0.2, 0.3])


def croston_sba_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                          alphas: np.ndarray = CROSTON_ALPHAS,
                          min_train: int = 2) -> tuple[CutForecasts, CutForecasts]:
    """Croston's method and its Syntetos–Boylan approximation (SBA), from one pass.

    On a period with demand ``y_t > 0`` (the j-th demand, ``q_t`` periods after the previous):
    ``z <- z + max(alpha, 1/j) (y_t - z)`` and, from the second demand on (i-th interval,
    ``i = j - 1``), ``p <- p + max(alpha, 1/i) (q_t - p)``; nothing changes otherwise.
    Before the first interval is observed ``p`` is taken as the number of periods seen, so the
    forecast is the running mean. Forecasts: Croston ``z/p``; SBA ``(1 - alpha/2) z/p``.
    alpha is chosen separately for Croston and SBA by their own one-step SSE.
    """
    n, _ = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    alphas = np.asarray(alphas, dtype=np.float64)
    sba_factor = (1.0 - alphas / 2.0)[:, None]
    n_grid = alphas.size
    y_time = masked_by_start(y, start)
    size = np.zeros((n_grid, n))
    interval = np.ones((n_grid, n))
    croston = np.zeros((n_grid, n))
    sse_croston = np.zeros((n_grid, n))
    sse_sba = np.zeros((n_grid, n))
    err = np.empty((n_grid, n))
    n_demands = np.zeros(n, dtype=np.int64)
    last_demand = np.zeros(n, dtype=np.int64)
    croston_at = np.empty((cuts.size, n_grid, n))
    sse_croston_at = np.empty((cuts.size, n_grid, n))
    sse_sba_at = np.empty((cuts.size, n_grid, n))
    alpha_col = alphas[:, None]
    cut_index = {int(c): j for j, c in enumerate(cuts)}
    for t in range(int(cuts.max())):
        y_t = y_time[t]
        np.subtract(y_t, croston, out=err)
        err *= err
        sse_croston += err
        np.multiply(sba_factor, croston, out=err)
        np.subtract(y_t, err, out=err)
        err *= err
        sse_sba += err
        demand = np.flatnonzero(y_t > 0)
        if demand.size:
            n_demands[demand] += 1
            count = n_demands[demand]
            weight = np.maximum(alpha_col, 1.0 / count)
            size[:, demand] += weight * (y_t[demand] - size[:, demand])
            later = count >= 2
            cols = demand[later]
            if cols.size:
                weight = np.maximum(alpha_col, 1.0 / (count[later] - 1))
                gap = (t - last_demand[cols]).astype(np.float64)
                interval[:, cols] += weight * (gap - interval[:, cols])
            last_demand[demand] = t
        periods_seen = np.maximum(t - start + 1, 1).astype(np.float64)
        np.divide(size, np.where(n_demands >= 2, interval, periods_seen), out=croston)
        j = cut_index.get(t + 1)
        if j is not None:
            croston_at[j] = croston
            sse_croston_at[j] = sse_croston
            sse_sba_at[j] = sse_sba
    first = first_error_squared(y_time, start, cuts).T[:, None, :]
    sse_croston_at -= first
    sse_sba_at -= first
    rows = np.arange(n)
    errors = cut_error_counts(start, cuts)
    valid = (cuts[None, :] - start[:, None]) >= min_train
    out: list[CutForecasts] = []
    for sse_at, factor in ((sse_croston_at, np.ones_like(sba_factor)), (sse_sba_at, sba_factor)):
        mean = np.empty((n, cuts.size, horizon))
        sse_best = np.empty((n, cuts.size))
        for j in range(cuts.size):
            best = choose_by_sse(sse_at[j])
            mean[:, j, :] = (factor[best, 0] * croston_at[j][best, rows])[:, None]
            sse_best[:, j] = sse_at[j][best, rows]
        out.append(CutForecasts(mean=mean, insample_rmse=rmse_from_sse(sse_best, errors), valid=valid))
    return out[0], out[1]


def tsb_grid() -> tuple[np.ndarray, np.ndarray]:
    """Cartesian grid (alpha for sizes, beta for the demand probability) as flat arrays."""
    a, b = np.meshgrid(TSB_ALPHAS, TSB_BETAS, indexing="ij")
    return a.ravel(), b.ravel()


def tsb_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                  grid: tuple[np.ndarray, np.ndarray] | None = None,
                  min_train: int = 2) -> CutForecasts:
    """Teunter–Syntetos–Babai (2011): demand probability updated every period.

    Every period (k-th since start): ``d <- d + max(beta, 1/k) (1[y_t > 0] - d)``.
    On a demand (the j-th): ``z <- z + max(alpha, 1/j) (y_t - z)``.
    Forecast ``yhat_{c+h} = d z`` (flat); (alpha, beta) chosen per SKU and cut by one-step SSE.
    """
    n, _ = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    alphas, betas = grid if grid is not None else tsb_grid()
    n_grid = alphas.size
    y_time = masked_by_start(y, start)
    probability = np.zeros((n_grid, n))
    size = np.zeros((n_grid, n))
    sse = np.zeros((n_grid, n))
    err = np.empty((n_grid, n))
    n_demands = np.zeros(n, dtype=np.int64)
    forecast_at = np.empty((cuts.size, n_grid, n))
    sse_at = np.empty((cuts.size, n_grid, n))
    alpha_col = alphas[:, None]
    weights = WarmupWeights(betas, start)
    cut_index = {int(c): j for j, c in enumerate(cuts)}
    for t in range(int(cuts.max())):
        y_t = y_time[t]
        np.multiply(probability, size, out=err)
        np.subtract(y_t, err, out=err)
        err *= err
        sse += err
        occurred = (y_t > 0).astype(np.float64)
        np.subtract(occurred, probability, out=err)
        err *= weights.at(t)
        probability += err
        demand = np.flatnonzero(occurred)
        if demand.size:
            n_demands[demand] += 1
            weight = np.maximum(alpha_col, 1.0 / n_demands[demand])
            size[:, demand] += weight * (y_t[demand] - size[:, demand])
        j = cut_index.get(t + 1)
        if j is not None:
            forecast_at[j] = probability * size
            sse_at[j] = sse
    sse_at -= first_error_squared(y_time, start, cuts).T[:, None, :]
    rows = np.arange(n)
    mean = np.empty((n, cuts.size, horizon))
    sse_best = np.empty((n, cuts.size))
    for j in range(cuts.size):
        best = choose_by_sse(sse_at[j])
        mean[:, j, :] = forecast_at[j][best, rows][:, None]
        sse_best[:, j] = sse_at[j][best, rows]
    rmse = rmse_from_sse(sse_best, cut_error_counts(start, cuts))
    valid = (cuts[None, :] - start[:, None]) >= min_train
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)


ADIDA_MAX_LEVEL: int = 13


def adida_levels(y: np.ndarray, start: np.ndarray, cut: int) -> np.ndarray:
    """(n,) aggregation level: the mean inter-demand interval (ADI) over ``[start, cut)``,
    rounded, clipped to ``1..ADIDA_MAX_LEVEL`` (1 where there is no demand)."""
    n_columns = y.shape[1]
    cols = np.arange(n_columns)[None, :]
    hist = (cols >= start[:, None]) & (cols < cut)
    demands = ((y > 0) & hist).sum(axis=1)
    weeks = hist.sum(axis=1)
    adi = np.where(demands > 0, weeks / np.maximum(demands, 1), 1.0)
    return np.clip(np.rint(adi), 1, ADIDA_MAX_LEVEL).astype(np.int64)


def adida_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                    levels: np.ndarray | None = None, min_train: int = 2) -> CutForecasts:
    """ADIDA-style temporal aggregation (Nikolopoulos et al. 2011, JORS 62), overlapping form.

    For SKU i with aggregation level ``k_i`` (its ADI rounded, :func:`adida_levels` at the first
    backtest origin so the backtest does not see later data), the overlapping ``k``-week sums
    ``x_t = y_{t-k+1} + ... + y_t`` (from ``start + k - 1``) are smoothed by SES (alpha chosen
    per SKU and cut by one-step SSE, :func:`ses_forecasts`) and disaggregated evenly:
    ``yhat = l_x / k`` (flat). Aggregation removes most zeros, so SES sees a smoother series
    (overlapping temporal aggregation: Boylan & Babai 2016, IJF 32). In-sample scale: the
    aggregate one-step RMSE divided by ``sqrt(k)``.
    """
    from .smoothing import ses_forecasts

    n, n_columns = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    if levels is None:
        levels = adida_levels(y, start, int(cuts[0]))
    mean = np.zeros((n, cuts.size, horizon))
    rmse = np.full((n, cuts.size), np.nan)
    valid = np.zeros((n, cuts.size), dtype=bool)
    cols = np.arange(n_columns)[None, :]
    for k in np.unique(levels):
        rows = np.flatnonzero(levels == k)
        part = np.where(cols >= start[rows, None], y[rows], 0.0)
        if k > 1:
            csum = np.concatenate([np.zeros((rows.size, 1)), np.cumsum(part, axis=1)], axis=1)
            summed = np.zeros_like(part)
            summed[:, k - 1:] = csum[:, k:] - csum[:, :-k]
        else:
            summed = part
        shifted = np.minimum(start[rows] + k - 1, n_columns)
        fc = ses_forecasts(summed, shifted, cuts, horizon, min_train=min_train)
        mean[rows] = fc.mean / k
        rmse[rows] = fc.insample_rmse / np.sqrt(k)
        valid[rows] = fc.valid
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)
