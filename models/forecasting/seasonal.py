"""Seasonal model for ~1-3 years of weekly data: shrunk Fourier seasonal indices x SES level.

Seasonal indices (multiplicative, per SKU and per cut, from data before the cut only):

1. Level ``a_t``: mean of the full-season window nearest to centred on t inside the SKU's
   history, ``[clip(t - m/2, start, c - m), +m)`` — the centred moving average of the classical
   decomposition (FPP3 3.4), shifted inward at the ends instead of dropped.
2. Ratios ``r_t = y_t / a_t``; raw index of phase ``p = t mod m`` = mean ratio at that phase.
3. Smoothing: least-squares projection of the raw indices on a low-order Fourier basis
   (constant + K harmonics, FPP3 7.4 / 12.1 Fourier terms; computed as a truncated DFT),
   normalised to mean 1.
4. Empirical-Bayes shrinkage toward the pooled profile (James–Stein style): the sampling
   variance of a SKU's smoothed index is ``v_i = s2_i (2K+1) / N_i`` (``s2_i`` variance of its
   ratio residuals, ``N_i`` ratios used); the between-SKU variance ``tau2`` is the mean squared
   deviation of SKU profiles from the pool minus the mean ``v_i``; the weight on the SKU's own
   profile is ``w_i = tau2 / (tau2 + v_i)``.

Forecast (FPP3 8.3, multiplicative seasonality with fixed indices): SES on the seasonally
adjusted series ``y_t / s_t`` with ``yhat_{c+h} = l_c s_{c+h}``; alpha chosen per SKU and cut by
one-step SSE on the original scale.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
from .smoothing import SES_ALPHAS

MIN_SEASONAL_INDEX: float = 0.05


def _normalise(profile: np.ndarray) -> np.ndarray:
    """Clip indices at MIN_SEASONAL_INDEX and rescale each row to mean 1."""
    profile = np.maximum(profile, MIN_SEASONAL_INDEX)
    return profile / profile.mean(axis=-1, keepdims=True)


def fourier_smooth(raw: np.ndarray, harmonics: int) -> np.ndarray:
    """Least-squares projection of full-period profiles (rows) on constant + K harmonics.

    For equally spaced points over one full period the Fourier basis is orthogonal, so the
    projection is the truncated discrete Fourier transform (no linear algebra needed).
    """
    spectrum = np.fft.rfft(raw, axis=-1)
    spectrum[..., harmonics + 1:] = 0.0
    return np.fft.irfft(spectrum, n=raw.shape[-1], axis=-1)


def _own_profiles(y: np.ndarray, start: np.ndarray, cut: int, season_length: int,
                  harmonics: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-SKU smoothed indices (n, m) from columns [start, cut), their sampling variance (n,)
    and validity (n,). Works time-major internally (cumsums along contiguous rows)."""
    n = y.shape[0]
    m = season_length
    half = m // 2
    eligible = (cut - start) >= m
    n_cycles = -(-cut // m)
    y_time = np.zeros((n_cycles * m, n))
    y_time[:cut] = y[:, :cut].T
    csum = np.zeros((cut + 1, n))
    np.cumsum(y_time[:cut], axis=0, out=csum[1:])
    columns = np.arange(n)
    first_lo = np.minimum(start, max(cut - m, 0))
    first_mean = (csum[first_lo + m, columns] - csum[first_lo, columns]) / m    # [start, start+m)
    last_mean = (csum[cut] - csum[max(cut - m, 0)]) / m                          # [c-m, c)
    level = np.empty((n_cycles * m, n))
    level[cut:] = 0.0
    if cut > m:
        level[half:cut - m + half + 1] = (csum[m:cut + 1] - csum[:cut - m + 1]) / m
    window_lo = np.arange(cut)[:, None] - half
    level[:cut] = np.where(window_lo <= start[None, :], first_mean[None, :],
                           np.where(window_lo >= cut - m, last_mean[None, :], level[:cut]))
    observed = (level > 0) & (np.arange(n_cycles * m)[:, None] >= start[None, :]) & eligible[None, :]
    observed[cut:] = False
    ratio = np.divide(y_time, level, out=np.zeros_like(y_time), where=observed)
    ratio_cycles = ratio.reshape(n_cycles, m, n)
    ratio_sum = ratio_cycles.sum(axis=0).T                                       # (n, m)
    ratio_sq_sum = np.einsum("cpn,cpn->np", ratio_cycles, ratio_cycles)
    ratio_count = observed.reshape(n_cycles, m, n).sum(axis=0).T.astype(np.float64)
    raw = np.where(ratio_count > 0, ratio_sum / np.maximum(ratio_count, 1.0), 1.0)
    own = _normalise(fourier_smooth(raw, harmonics))
    # sum over used ratios of (r - own_phase)^2 = sum_p [S2_p - 2 own_p S1_p + own_p^2 C_p]
    resid_sq = (ratio_sq_sum - 2.0 * own * ratio_sum + own * own * ratio_count).sum(axis=1)
    n_used = ratio_count.sum(axis=1)
    n_terms = 2 * harmonics + 1
    resid_var = np.maximum(resid_sq, 0.0) / np.maximum(n_used - n_terms, 1)
    noise_var = resid_var * n_terms / np.maximum(n_used, 1)
    return own, noise_var, eligible & (n_used > 0)


def _shrink_to_pool(own: np.ndarray, noise_var: np.ndarray, usable: np.ndarray,
                    pool_mask: np.ndarray) -> np.ndarray:
    """Empirical-Bayes shrinkage of each SKU's profile toward the precision-weighted pool."""
    pool = pool_mask & usable
    if not pool.any():
        return own
    pooled = own[pool].mean(axis=0)
    tau2 = 1e-6
    for _ in range(2):   # re-weight the pool by precision once tau2 is known
        spread = ((own[pool] - pooled) ** 2).mean(axis=1)
        tau2 = max(float(spread.mean() - noise_var[pool].mean()), 1e-6)
        precision = 1.0 / (tau2 + noise_var[pool])
        pooled = (own[pool] * precision[:, None]).sum(axis=0) / precision.sum()
    weight_own = tau2 / (tau2 + noise_var)
    shrunk = weight_own[:, None] * own + (1.0 - weight_own[:, None]) * pooled[None, :]
    return _normalise(shrunk)


def seasonal_indices(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, season_length: int,
                     harmonics: int = 3, pool_mask: np.ndarray | None = None,
                     chunk_size: int = 4096, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal indices for every SKU and cut: ((n, n_cuts, m) indices, (n, n_cuts) valid).

    ``pool_mask`` selects the SKUs whose profiles form the pooled profile (default: all).
    Index of column t is ``indices[..., t % m]``. Rows are processed in chunks (for memory and
    cache) on ``threads`` threads.
    """
    n = y.shape[0]
    cuts = np.asarray(cuts, dtype=np.int64)
    pool_mask = np.ones(n, dtype=bool) if pool_mask is None else np.asarray(pool_mask, dtype=bool)
    indices = np.ones((n, cuts.size, season_length))
    valid = np.zeros((n, cuts.size), dtype=bool)
    for j, cut in enumerate(cuts):
        if cut < season_length:
            continue
        own = np.empty((n, season_length))
        noise_var = np.empty(n)
        usable = np.empty(n, dtype=bool)

        def fill(lo: int, cut: int = int(cut)) -> None:
            part = slice(lo, min(lo + chunk_size, n))
            own[part], noise_var[part], usable[part] = _own_profiles(
                y[part], start[part], cut, season_length, harmonics)

        offsets = range(0, n, chunk_size)
        if threads > 1 and len(offsets) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(fill, offsets))
        else:
            for lo in offsets:
                fill(lo)
        indices[:, j, :] = _shrink_to_pool(own, noise_var, usable, pool_mask)
        valid[:, j] = usable
    return indices, valid


def seasonal_ses_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                           indices: np.ndarray, indices_valid: np.ndarray,
                           alphas: np.ndarray = SES_ALPHAS) -> CutForecasts:
    """SES on seasonally adjusted demand with fixed multiplicative indices (one pass per cut).

    ``f_t = l_{t-1} s_t``, ``e_t = y_t - f_t``, ``l_t = l_{t-1} + max(alpha, 1/k) e_t / s_t``;
    forecast ``yhat_{c+h} = l_{c-1} s_{(c+h-1) mod m}`` (0-based columns).
    """
    n, _ = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    alphas = np.asarray(alphas, dtype=np.float64)
    m = indices.shape[2]
    rows = np.arange(n)
    mean = np.full((n, cuts.size, horizon), np.nan)
    sse_best = np.full((n, cuts.size), np.nan)
    y_time = masked_by_start(y, start)
    first = first_error_squared(y_time, start, cuts)
    weights = WarmupWeights(alphas, start)
    err = np.empty((alphas.size, n))
    square = np.empty((alphas.size, n))
    for j, cut in enumerate(cuts):
        if not indices_valid[:, j].any():
            continue
        season_time = np.ascontiguousarray(indices[:, j, :].T)               # (m, n)
        inverse_time = 1.0 / season_time
        level = np.zeros((alphas.size, n))
        sse = np.zeros((alphas.size, n))
        for t in range(int(cut)):
            np.multiply(level, season_time[t % m], out=err)
            np.subtract(y_time[t], err, out=err)
            np.multiply(err, err, out=square)
            sse += square
            err *= inverse_time[t % m]
            err *= weights.at(t)
            level += err
        sse -= first[:, j][None, :]
        best = choose_by_sse(sse)
        future = indices[:, j, (cut + np.arange(horizon)) % m]
        mean[:, j, :] = level[best, rows][:, None] * future
        sse_best[:, j] = sse[best, rows]
    rmse = rmse_from_sse(sse_best, cut_error_counts(start, cuts))
    valid = indices_valid.copy()
    mean = np.where(valid[:, :, None], mean, np.nan)
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)
