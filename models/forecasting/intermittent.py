"""Croston, SBA and TSB for intermittent/lumpy demand, vectorised over SKUs.

Sources: Croston (1972); Syntetos & Boylan (2005), "The accuracy of intermittent demand
estimates", IJF 21 — SBA correction factor ``(1 - alpha/2)``; Teunter, Syntetos & Babai
(2011), "Intermittent demand: linking forecasting to inventory obsolescence", EJOR 214 — TSB;
Nikolopoulos, Syntetos, Boylan, Petropoulos & Assimakopoulos (2011), "An aggregate-disaggregate
intermittent demand approach (ADIDA)", JORS 62 — ADIDA; Petropoulos & Kourentzes (2015),
"Forecast combinations for intermittent demand", JORS 66 — IMAPA (:func:`aggregate_forecasts`,
non-overlapping, as statsforecast 2.x ``ADIDA`` / ``IMAPA`` but refitted at every cut).

Conventions as in :mod:`safestock.models.forecasting.forecast_types` (one pass serves every cut,
parameters chosen per SKU and cut by one-step in-sample SSE, running-mean warm-up weights
``max(alpha, 1/k)`` where k counts demands, intervals or periods as stated below).
"""

from __future__ import annotations

import numpy as np

from .forecast_types import (
    CutForecasts,
    WarmupWeights,
    choose_by_sse,
    first_error_squared,
    forecasts_from_grid,
    masked_by_start,
)

# Croston/SBA smoothing weights; 0.02 serves slow movers whose size and interval barely drift
# (it helped the intermittent holdout, docs/forecasting.md §6.2).
CROSTON_ALPHAS: np.ndarray = np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4])
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
    croston = forecasts_from_grid(sse_croston_at, start, cuts, horizon, min_train,
                                  lambda j, best, rows: croston_at[j][best, rows])
    sba = forecasts_from_grid(sse_sba_at, start, cuts, horizon, min_train,
                              lambda j, best, rows: sba_factor[best, 0] * croston_at[j][best, rows])
    return croston, sba


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
    return forecasts_from_grid(sse_at, start, cuts, horizon, min_train, lambda j, best, rows: forecast_at[j][best, rows])


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


# ----------------------------------------------------------------------------- ADIDA / IMAPA
# Non-overlapping temporal aggregation, as statsforecast's ``ADIDA`` / ``IMAPA`` (2.x) but fitted
# at every cut: the level and the buckets are recomputed from the data before each cut.

AGGREGATE_ALPHAS: np.ndarray = np.linspace(0.1, 0.3, 9)
MAX_AGGREGATION_LEVEL: int = 52


def mean_demand_intervals(y: np.ndarray, start: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """(n, n_cuts) mean inter-demand interval over ``[start, c)``, the first interval included.

    With demands at positions ``p_1 < ... < p_D`` counted from ``start`` (0-based), the
    intervals are ``p_1 + 1, p_2 - p_1, ..., p_D - p_{D-1}`` (statsforecast ``_intervals``), so
    their mean is ``(p_D + 1) / D``. NaN where there is no demand before the cut.
    """
    n, n_columns = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    cols = np.arange(n_columns)
    demand = (y > 0) & (cols[None, :] >= np.asarray(start)[:, None])
    count = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(demand, axis=1)], axis=1)[:, cuts]
    last = np.maximum.accumulate(np.where(demand, cols[None, :], -1), axis=1)
    last_before = np.where(cuts[None, :] > 0, last[:, np.maximum(cuts - 1, 0)], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (last_before - np.asarray(start)[:, None] + 1) / count, np.nan)


def aggregation_levels(y: np.ndarray, start: np.ndarray, cuts: np.ndarray,
                       max_level: int = MAX_AGGREGATION_LEVEL) -> np.ndarray:
    """(n, n_cuts) ADIDA aggregation level per SKU and cut: the mean inter-demand interval
    (:func:`mean_demand_intervals`) rounded half to even (Python ``round``, as statsforecast),
    clipped to ``1..max_level``; 0 where there is no demand before the cut."""
    adi = mean_demand_intervals(y, start, cuts)
    level = np.clip(np.rint(np.nan_to_num(adi, nan=0.0)), 1, max_level).astype(np.int64)
    return np.where(np.isfinite(adi), level, 0)


def bucket_sums(csum: np.ndarray, start: np.ndarray, cut: np.ndarray, k: int,
                n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping ``k``-week sums ending exactly at each pair's cut, right-aligned.

    ``csum`` (P, T + 1) cumulative demand (``csum[:, t]`` = demand before column t), ``start``
    and ``cut`` (P,) per pair. Column ``b`` of the (P, n_buckets) result is the sum over
    ``[cut - k (n_buckets - b), cut - k (n_buckets - b - 1))``; buckets that begin before
    ``start`` are incomplete, dropped (statsforecast drops the oldest ``len % k`` weeks) and set
    to 0. Returns (sums, first) with ``first`` (P,) the first complete bucket's column
    (``n_buckets - floor((cut - start) / k)``).
    """
    offsets = k * (n_buckets - np.arange(n_buckets))                    # (B,)
    begin = cut[:, None] - offsets[None, :]
    end = begin + k
    complete = begin >= start[:, None]
    rows = np.arange(csum.shape[0])[:, None]
    sums = csum[rows, np.clip(end, 0, None)] - csum[rows, np.clip(begin, 0, None)]
    first = n_buckets - (cut - start) // k
    return np.where(complete, sums, 0.0), first


def ses_bucket_fit(sums: np.ndarray, first: np.ndarray,
                   alphas: np.ndarray = AGGREGATE_ALPHAS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SES on right-aligned bucket series, alpha per series from ``alphas`` by one-step SSE.

    statsforecast's ``_optimized_ses_forecast``: ``l_0 = x_0`` (first complete bucket),
    ``e_j = x_j - l_{j-1}``, ``l_j = l_{j-1} + alpha e_j``; SSE over ``j >= 1``; alpha minimising
    it (statsforecast: golden section on [0.1, 0.3]; here the grid ``alphas``, ties to the
    smallest). Returns the one-step forecast ``l`` after the last bucket, the SSE of the chosen
    alpha and the number of errors (buckets - 1), each (P,).
    """
    n_pairs, n_buckets = sums.shape
    alpha_col = np.asarray(alphas, dtype=np.float64)[:, None]
    level = np.zeros((alpha_col.size, n_pairs))
    sse = np.zeros((alpha_col.size, n_pairs))
    err = np.empty_like(level)
    x_time = np.ascontiguousarray(sums.T)
    starts_at = [np.flatnonzero(first == b) for b in range(n_buckets)]
    for b in range(n_buckets):
        np.subtract(x_time[b], level, out=err)
        sse += err * err
        err *= alpha_col
        level += err
        if starts_at[b].size:                       # l_0 = x_0; its "error" x_0^2 is removed
            cols = starts_at[b]
            level[:, cols] = x_time[b, cols]
            sse[:, cols] = 0.0
    best = choose_by_sse(sse)
    pairs = np.arange(n_pairs)
    return level[best, pairs], sse[best, pairs], np.maximum(n_buckets - first - 1, 0)


def aggregate_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                        alphas: np.ndarray = AGGREGATE_ALPHAS, max_level: int = MAX_AGGREGATION_LEVEL,
                        min_train: int = 2, imapa: bool = True) -> tuple[CutForecasts, CutForecasts | None]:
    """ADIDA (Nikolopoulos et al. 2011, JORS 62) and IMAPA (Petropoulos & Kourentzes 2015,
    JORS 66), non-overlapping, refitted at every cut from the data before it.

    At cut ``c`` SKU i has level ``L = round(mean inter-demand interval)`` over ``[start, c)``
    (:func:`aggregation_levels`). For an aggregation level ``k`` the oldest ``(c - start) mod k``
    weeks are dropped so that the buckets end exactly at ``c``, the ``k``-week bucket sums are
    smoothed by SES with alpha optimised in [0.1, 0.3] (:func:`ses_bucket_fit`) and the forecast
    is disaggregated evenly, ``f_k = l_k / k`` (flat). ADIDA: ``f_L``. IMAPA: the mean of
    ``f_k`` over ``k = 1..L``. 0 where there is no demand before the cut. In-sample scale: the
    bucket one-step RMSE divided by ``sqrt(k)`` (IMAPA: mean over k), falling back to the weekly
    RMS deviation from the mean when there is a single bucket.

    Vectorised: for each ``k`` every (SKU, cut) pair with ``L >= k`` (``L == k`` when
    ``imapa=False``: ADIDA only, returned with ``None`` for IMAPA, ~L times cheaper) is one
    column of a single SES pass over the right-aligned bucket matrix (:func:`bucket_sums`); the
    Python loop runs over levels and buckets, never over SKUs.
    """
    n, n_columns = y.shape
    start = np.asarray(start, dtype=np.int64)
    cuts = np.asarray(cuts, dtype=np.int64)
    levels = aggregation_levels(y, start, cuts, max_level)                  # (n, n_cuts)
    masked = np.where(np.arange(n_columns)[None, :] >= start[:, None], y, 0.0)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(masked, axis=1)], axis=1)
    fallback = _weekly_rms_deviation(masked, start, cuts)
    adida = np.zeros((n, cuts.size))
    adida_rmse = np.where(levels > 0, np.nan, 0.0)
    imapa_sum = np.zeros((n, cuts.size))
    imapa_rmse_sum = np.zeros((n, cuts.size))
    for k in range(1, int(levels.max(initial=0)) + 1):
        sku, cut_j = np.nonzero(levels >= k if imapa else levels == k)
        if not sku.size:
            continue
        pair_cut = cuts[cut_j]
        n_buckets = int(pair_cut.max()) // k
        sums, first = bucket_sums(csum[sku], start[sku], pair_cut, k, n_buckets)
        level, sse, count = ses_bucket_fit(sums, first, alphas)
        forecast = level / k
        with np.errstate(invalid="ignore", divide="ignore"):
            rmse = np.where(count > 0, np.sqrt(sse / np.maximum(count, 1) / k), fallback[sku, cut_j])
        imapa_sum[sku, cut_j] += forecast
        imapa_rmse_sum[sku, cut_j] += rmse
        at_level = levels[sku, cut_j] == k
        adida[sku[at_level], cut_j[at_level]] = forecast[at_level]
        adida_rmse[sku[at_level], cut_j[at_level]] = rmse[at_level]
    divisor = np.maximum(levels, 1)
    imapa_mean = imapa_sum / divisor
    imapa_rmse = np.where(levels > 0, imapa_rmse_sum / divisor, 0.0)
    valid = (cuts[None, :] - start[:, None]) >= min_train
    flat = np.ones((1, 1, horizon))
    adida_fc = CutForecasts(mean=adida[:, :, None] * flat, insample_rmse=adida_rmse, valid=valid)
    if not imapa:
        return adida_fc, None
    return adida_fc, CutForecasts(mean=imapa_mean[:, :, None] * flat, insample_rmse=imapa_rmse, valid=valid)


def _weekly_rms_deviation(masked: np.ndarray, start: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """(n, n_cuts) root mean squared deviation of weekly demand from its mean over
    ``[start, c)`` (0 with fewer than one week)."""
    n = masked.shape[0]
    zero = np.zeros((n, 1))
    s1 = np.concatenate([zero, np.cumsum(masked, axis=1)], axis=1)[:, cuts]
    s2 = np.concatenate([zero, np.cumsum(masked * masked, axis=1)], axis=1)[:, cuts]
    weeks = np.maximum(cuts[None, :] - start[:, None], 0)
    w = np.maximum(weeks, 1)
    return np.where(weeks > 0, np.sqrt(np.maximum(s2 / w - (s1 / w) ** 2, 0.0)), 0.0)
