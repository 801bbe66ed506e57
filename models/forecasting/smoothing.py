"""Benchmarks and exponential smoothing for smooth/erratic demand, vectorised over SKUs.

Every function returns :class:`CutForecasts` for all ``cuts`` from a single pass over time
(see :mod:`safestock.models.forecasting.forecast_types` for the conventions: masking before ``start``,
per-cut parameter choice by in-sample one-step SSE, running-mean warm-up).

Formulas follow Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.,
FPP3), sections 5.2 (naive, seasonal naive), 8.1 (simple exponential smoothing) and 8.2
(damped trend, error-correction form).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .forecast_types import (
    CutForecasts,
    WarmupWeights,
    cut_error_counts,
    first_error_squared,
    forecasts_from_grid,
    masked_by_start,
    rmse_from_sse,
)

# Smoothing weights are capped at 0.3: on weekly retail / spare-parts demand larger weights
# chase noise (statsforecast's optimisers bound alpha to [0.1, 0.3] for Croston-type models; the
# benchmark, docs/forecasting.md section 6, measured alpha <= 0.3 vs <= 0.8 on the real sets).
# 0.01: near-stationary intermittent series are best served by a ~100-week mean (it helped the
# intermittent holdout, docs/forecasting.md §6.2).
SES_ALPHAS: np.ndarray = np.array([0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3])
HOLT_ALPHAS: np.ndarray = np.array([0.05, 0.1, 0.2, 0.3])
HOLT_BETAS: np.ndarray = np.array([0.02, 0.1])
HOLT_PHIS: np.ndarray = np.array([0.8, 0.9, 0.98])
# Undamped Holt ("holt"): the trend used in a forecast is capped at this share of the level per
# week (1/52: at most a doubling or halving-to-zero a year), the guard against runaway
# extrapolation of a trend fitted on noise (issue 17.3).
MAX_WEEKLY_TREND_SHARE: float = 1.0 / 52.0


def _cumulative_before(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """(n, n_cuts) sum of ``values[:, :c]`` for each cut c (values already masked)."""
    csum = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    return csum[:, cuts]


def naive_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                    min_train: int = 2) -> CutForecasts:
    """Naive method (FPP3 5.2): ``yhat_{c+h} = y_{c-1}`` for every h.

    In-sample one-step errors are ``y_t - y_{t-1}`` for ``start < t < c``.
    """
    n, n_columns = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    last = y[:, np.maximum(cuts - 1, 0)]                          # (n, n_cuts)
    mean = np.repeat(last[:, :, None], horizon, axis=2)
    diff_sq = np.zeros_like(y)
    diff_sq[:, 1:] = np.diff(y, axis=1) ** 2
    diff_sq[np.arange(n_columns)[None, :] <= start[:, None]] = 0.0
    sse = _cumulative_before(diff_sq, cuts)
    rmse = rmse_from_sse(sse, cut_error_counts(start, cuts))
    valid = (cuts[None, :] - start[:, None]) >= min_train
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)


def mean_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                   min_train: int = 2) -> CutForecasts:
    """Mean method (FPP3 5.2): ``yhat_{c+h} = mean(y_start, ..., y_{c-1})`` for every h.

    The limit of SES as alpha -> 0 with a running-mean start; the best flat forecast for a
    stationary series. In-sample one-step errors are ``y_t - mean(y_start..y_{t-1})`` for
    ``start < t < c``.
    """
    n, n_columns = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    cols = np.arange(n_columns)[None, :]
    masked = np.where(cols >= start[:, None], y, 0.0)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(masked, axis=1)], axis=1)     # (n, T + 1)
    seen = np.maximum(cuts[None, :] - start[:, None], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.where(seen > 0, csum[:, cuts] / np.maximum(seen, 1), 0.0)
        before = np.maximum(cols - start[:, None], 0)
        running = np.where(before > 0, csum[:, :-1] / np.maximum(before, 1), 0.0)   # mean before t
    err_sq = np.where(cols > start[:, None], (masked - running) ** 2, 0.0)
    sse = _cumulative_before(err_sq, cuts)
    rmse = rmse_from_sse(sse, cut_error_counts(start, cuts))
    valid = (cuts[None, :] - start[:, None]) >= min_train
    return CutForecasts(mean=np.repeat(level[:, :, None], horizon, axis=2), insample_rmse=rmse, valid=valid)


def seasonal_naive_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                             season_length: int) -> CutForecasts:
    """Seasonal naive (FPP3 5.2): ``yhat_{c+h} = y_{c+h-m(floor((h-1)/m)+1)}``.

    Valid only when the SKU has at least one full season (m weeks) before the cut.
    In-sample one-step errors are ``y_t - y_{t-m}`` for ``start + m <= t < c``.
    """
    n, n_columns = y.shape
    m = season_length
    cuts = np.asarray(cuts, dtype=np.int64)
    steps = np.arange(horizon)
    source_cols = cuts[:, None] - m + (steps[None, :] % m)          # (n_cuts, H)
    mean = y[:, np.clip(source_cols, 0, n_columns - 1)]               # (n, n_cuts, H)
    sdiff_sq = np.zeros_like(y)
    if n_columns > m:
        sdiff_sq[:, m:] = (y[:, m:] - y[:, :-m]) ** 2
    sdiff_sq[np.arange(n_columns)[None, :] < start[:, None] + m] = 0.0
    sse = _cumulative_before(sdiff_sq, cuts)
    rmse = rmse_from_sse(sse, cut_error_counts(start, cuts, first_error_offset=m))
    valid = (cuts[None, :] - start[:, None]) >= m
    mean = np.where(valid[:, :, None], mean, np.nan)
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)


ErrorCleaning = Callable[[int, np.ndarray], np.ndarray]


def ses_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                  alphas: np.ndarray = SES_ALPHAS, min_train: int = 2,
                  cleaning: ErrorCleaning | None = None) -> CutForecasts:
    """Simple exponential smoothing (FPP3 8.1), alpha chosen per SKU and cut from ``alphas``.

    Error-correction form: ``e_t = y_t - l_{t-1}``, ``l_t = l_{t-1} + w_t e_t`` with
    ``w_t = max(alpha, 1/k_t)`` (running-mean warm-up, so ``l_start = y_start``).
    Forecast: ``yhat_{c+h} = l_{c-1}`` (flat). SSE counts errors for ``t > start``.
    ``cleaning(t, e_t)`` (G, n), when given, returns the error the level is updated with
    (:func:`robust_ses_forecasts`); the SSE is always that of the raw errors.
    """
    n, _ = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    alphas = np.asarray(alphas, dtype=np.float64)
    n_grid = alphas.size
    y_time = masked_by_start(y, start)
    level = np.zeros((n_grid, n))
    sse = np.zeros((n_grid, n))
    err = np.empty((n_grid, n))
    square = np.empty((n_grid, n))
    level_at = np.empty((cuts.size, n_grid, n))
    sse_at = np.empty((cuts.size, n_grid, n))
    weights = WarmupWeights(alphas, start)
    cut_index = {int(c): j for j, c in enumerate(cuts)}
    for t in range(int(cuts.max())):
        np.subtract(y_time[t], level, out=err)
        np.multiply(err, err, out=square)
        sse += square
        step = err if cleaning is None else cleaning(t, err)
        np.multiply(weights.at(t), step, out=err)
        level += err
        j = cut_index.get(t + 1)
        if j is not None:
            level_at[j] = level
            sse_at[j] = sse
    sse_at -= first_error_squared(y_time, start, cuts).T[:, None, :]
    return forecasts_from_grid(sse_at, start, cuts, horizon, min_train, lambda j, best, rows: level_at[j][best, rows])


def holt_damped_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cartesian grid (alpha, beta, phi) as three flat arrays."""
    a, b, p = np.meshgrid(HOLT_ALPHAS, HOLT_BETAS, HOLT_PHIS, indexing="ij")
    return a.ravel(), b.ravel(), p.ravel()


def holt_damped_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                          grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                          min_train: int = 4, max_trend_share: float | None = None) -> CutForecasts:
    """Damped-trend Holt (FPP3 8.2), (alpha, beta, phi) chosen per SKU and cut from a grid.

    Error-correction form with ``f_t = l_{t-1} + phi b_{t-1}``, ``e_t = y_t - f_t``:
    ``l_t = f_t + w_t e_t`` with ``w_t = max(alpha, 1/k_t)``; ``b_t = phi b_{t-1} + beta w_t e_t``
    (trend updated from the second observation; ``l_start = y_start``, ``b_start = 0``).
    Forecast: ``yhat_{c+h} = l + (phi + phi^2 + ... + phi^h) b``, with ``b`` clipped to
    ``[-s |l|, s |l|]`` when ``max_trend_share`` s is given (:func:`holt_forecasts`).
    """
    n, _ = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    alphas, betas, phis = grid if grid is not None else holt_damped_grid()
    n_grid = alphas.size
    beta_col = betas[:, None]
    phi_col = phis[:, None]
    y_time = masked_by_start(y, start)
    level = np.zeros((n_grid, n))
    trend = np.zeros((n_grid, n))
    sse = np.zeros((n_grid, n))
    err = np.empty((n_grid, n))
    square = np.empty((n_grid, n))
    level_at = np.empty((cuts.size, n_grid, n))
    trend_at = np.empty((cuts.size, n_grid, n))
    sse_at = np.empty((cuts.size, n_grid, n))
    weights = WarmupWeights(alphas, start)
    cut_index = {int(c): j for j, c in enumerate(cuts)}
    for t in range(int(cuts.max())):
        trend *= phi_col                                   # phi b_{t-1}
        np.subtract(y_time[t], level, out=err)
        err -= trend                                       # e_t = y_t - l_{t-1} - phi b_{t-1}
        np.multiply(err, err, out=square)
        sse += square
        err *= weights.at(t)                               # w_t e_t
        level += trend
        level += err
        err *= beta_col
        trend += err
        starting = start == t
        if starting.any():                                 # trend starts at 0
            trend[:, starting] = 0.0
        j = cut_index.get(t + 1)
        if j is not None:
            level_at[j] = level
            trend_at[j] = trend
            sse_at[j] = sse
    sse_at -= first_error_squared(y_time, start, cuts).T[:, None, :]
    steps = np.arange(1, horizon + 1)
    damp_sum = np.cumsum(phis[:, None] ** steps[None, :], axis=1)      # (G, H)
    def forecast(j: int, best: np.ndarray, rows: np.ndarray) -> np.ndarray:
        level_now, trend_now = level_at[j][best, rows], trend_at[j][best, rows]
        if max_trend_share is not None:
            bound = max_trend_share * np.abs(level_now)
            trend_now = np.clip(trend_now, -bound, bound)
        return level_now[:, None] + trend_now[:, None] * damp_sum[best]

    fitted = forecasts_from_grid(sse_at, start, cuts, horizon, min_train, forecast)
    return CutForecasts(mean=np.maximum(fitted.mean, 0.0), insample_rmse=fitted.insample_rmse, valid=fitted.valid)


def holt_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                   min_train: int = 4) -> CutForecasts:
    """Holt's linear trend without damping (phi = 1, FPP3 8.1), (alpha, beta) chosen per SKU and
    cut from the Holt grid by in-sample one-step SSE, trend capped at
    :data:`MAX_WEEKLY_TREND_SHARE` of the level per week. Damping gives up growth that persists
    for years (issue 17: the damped trend trailed AutoETS by ~4 % on 0.5-1 %/week trends); the
    backtest decides per SKU whether the trend is real."""
    a, b = np.meshgrid(HOLT_ALPHAS, HOLT_BETAS, indexing="ij")
    grid = (a.ravel(), b.ravel(), np.ones(a.size))
    return holt_damped_forecasts(y, start, cuts, horizon, grid=grid, min_train=min_train,
                                 max_trend_share=MAX_WEEKLY_TREND_SHARE)


# Robust SES (Gelper, Fried & Croux 2010, "Robust forecasting with exponential and Holt-Winters
# smoothing", J. Forecasting 29, 285-300): Huber-cleaned level updates, biweight scale.
ROBUST_HUBER_K: float = 2.0          # errors beyond k running scales are cut back to k scales
ROBUST_SCALE_WEIGHT: float = 0.1     # lambda_sigma of the scale recursion
ROBUST_WARMUP_WEEKS: int = 8         # plain SES updates and a running-RMS scale before this age
BIWEIGHT_K: float = 2.0
BIWEIGHT_C: float = 2.52             # makes E[rho(Z)] = 1 for standard normal Z (Gelper et al. §2)


def biweight_rho(z: np.ndarray, k: float = BIWEIGHT_K, c: float = BIWEIGHT_C) -> np.ndarray:
    """Bounded biweight rho: ``c (1 - (1 - (z/k)^2)^3)`` for ``|z| <= k``, else ``c``."""
    inside = np.minimum((z / k) ** 2, 1.0)
    return c * (1.0 - (1.0 - inside) ** 3)


def scale_factor(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``s_t^2 / s_{t-1}^2 = 1 + lambda (rho(z) - 1)`` of the biweight scale recursion, computed in
    ``out`` (a new array when None) as ``(1 - lambda + lambda c) - lambda c (1 - min((z/k)^2, 1))^3``
    (:func:`biweight_rho` expanded, with no temporaries in the hot loop)."""
    work = np.multiply(z, z, out=out)
    work *= 1.0 / (BIWEIGHT_K * BIWEIGHT_K)
    np.minimum(work, 1.0, out=work)
    np.subtract(1.0, work, out=work)
    np.multiply(work, work * work, out=work)
    lam_c = ROBUST_SCALE_WEIGHT * BIWEIGHT_C
    work *= -lam_c
    work += 1.0 - ROBUST_SCALE_WEIGHT + lam_c
    return work


class HuberCleaning:
    """The one-step errors of :func:`robust_ses_forecasts`, cut back to ``ROBUST_HUBER_K`` running
    scales, with the scale's biweight recursion; state (G, n) per grid point and SKU."""

    def __init__(self, shape: tuple[int, int], start: np.ndarray) -> None:
        self.start = np.asarray(start, dtype=np.int64)
        self.scale2 = np.zeros(shape)
        self.all_robust_from = int(self.start.max()) + ROBUST_WARMUP_WEEKS   # every SKU past warm-up
        self.scale = np.empty(shape)
        self.z = np.empty(shape)
        self.work = np.empty(shape)

    def _fast(self, err: np.ndarray) -> np.ndarray:
        """The robust update with every SKU past warm-up and a positive scale, in place."""
        scale, z = self.scale, self.z
        np.divide(err, scale, out=z)
        self.scale2 *= scale_factor(z, out=self.work)
        np.clip(z, -ROBUST_HUBER_K, ROBUST_HUBER_K, out=z)
        z *= scale
        return z

    def __call__(self, t: int, err: np.ndarray) -> np.ndarray:
        scale = np.sqrt(self.scale2, out=self.scale)
        if t >= self.all_robust_from and scale.min() > 0:               # fast path: no masks
            return self._fast(err)
        age = t - self.start                                             # (n,) 0 at the first week
        pending = np.flatnonzero((age < ROBUST_WARMUP_WEEKS) | (scale <= 0).any(axis=0))
        if not pending.size:
            return self._fast(err)
        # SKUs in warm-up (or with a zero scale): the fast update for all, then theirs redone
        err_p, scale2_p, scale_p, age_p = err[:, pending], self.scale2[:, pending], scale[:, pending], age[pending]
        scale[:, pending] = 1.0
        cleaned = self._fast(err)
        robust = (age_p >= ROBUST_WARMUP_WEEKS)[None, :] & (scale_p > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(robust, err_p / np.where(robust, scale_p, 1.0), 0.0)
        running = scale2_p + (err_p * err_p - scale2_p) / np.maximum(age_p, 1)[None, :]   # mean e^2 since age 1
        updated = scale2_p * scale_factor(z)
        self.scale2[:, pending] = np.where(robust, updated, np.where((age_p >= 1)[None, :], running, 0.0))
        cleaned[:, pending] = np.where(robust, np.clip(z, -ROBUST_HUBER_K, ROBUST_HUBER_K) * scale_p, err_p)
        return cleaned


def robust_ses_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                         alphas: np.ndarray = SES_ALPHAS, min_train: int = 2) -> CutForecasts:
    """SES whose level ignores the part of a one-step error beyond ``ROBUST_HUBER_K`` running
    scales (a promotion or a holiday spike then moves the level by at most k scales), alpha chosen
    per SKU and cut from ``alphas`` by in-sample SSE of the raw one-step errors.

    With ``e_t = y_t - l_{t-1}`` and running scale ``s_{t-1}`` (Gelper, Fried & Croux 2010, eqs. 3-6)::

        l_t     = l_{t-1} + w_t s_{t-1} psi(e_t / s_{t-1}),      psi(x) = max(-k, min(k, x))  (Huber)
        s_t^2   = lambda rho(e_t / s_{t-1}) s_{t-1}^2 + (1 - lambda) s_{t-1}^2              (biweight rho)

    ``w_t = max(alpha, 1/k_t)`` as in :func:`ses_forecasts` (the same recursion, with
    :class:`HuberCleaning`). For the first ``ROBUST_WARMUP_WEEKS`` weeks of a SKU (and while the
    scale is 0) the update is the plain SES one and ``s^2`` the running mean of squared errors.
    Forecast: ``yhat_{c+h} = l_{c-1}`` (flat).
    """
    cleaning = HuberCleaning((np.asarray(alphas).size, y.shape[0]), start)
    return ses_forecasts(y, start, cuts, horizon, alphas, min_train, cleaning=cleaning)
