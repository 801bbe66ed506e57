"""Robust SES (Gelper, Fried & Croux 2010): models/forecasting/smoothing.robust_ses_forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from safestock.models.forecasting.smoothing import (
    BIWEIGHT_C,
    BIWEIGHT_K,
    ROBUST_HUBER_K,
    ROBUST_SCALE_WEIGHT,
    ROBUST_WARMUP_WEEKS,
    SES_ALPHAS,
    biweight_rho,
    robust_ses_forecasts,
    ses_forecasts,
)


def ref_robust_ses(x: list[float], alphas: np.ndarray) -> tuple[float, float]:
    """Plain per-series loop: (level at the end, in-sample RMSE) of the best alpha by SSE."""
    results = []
    for alpha in alphas:
        level, scale2, sse = 0.0, 0.0, 0.0
        for k, value in enumerate(x, start=1):
            age, error = k - 1, value - level
            if k >= 2:
                sse += error * error
            weight = max(alpha, 1.0 / k)
            scale = math.sqrt(scale2)
            if age >= ROBUST_WARMUP_WEEKS and scale > 0:
                z = error / scale
                level += weight * max(-ROBUST_HUBER_K, min(ROBUST_HUBER_K, z)) * scale
                rho = BIWEIGHT_C * (1 - (1 - min((z / BIWEIGHT_K) ** 2, 1.0)) ** 3)
                scale2 = ROBUST_SCALE_WEIGHT * rho * scale2 + (1 - ROBUST_SCALE_WEIGHT) * scale2
            else:
                level += weight * error
                scale2 = scale2 + (error * error - scale2) / age if age >= 1 else 0.0
        results.append((sse, level, math.sqrt(sse / (len(x) - 1))))
    best = min(r[0] for r in results)
    return next((r[1], r[2]) for r in results if r[0] == best)


def test_vectorised_robust_ses_equals_loop() -> None:
    """Every SKU and cut against the per-series loop, on series with spikes, late starts and a
    zero scale after the warm-up (the masked path for some SKUs while the others are robust)."""
    rng = np.random.default_rng(7)
    n, weeks = 16, 80
    y = rng.gamma(4.0, 5.0, (n, weeks)).round()
    spikes = rng.uniform(size=(n, weeks)) < 0.05
    y[spikes] *= rng.uniform(3, 8, spikes.sum())
    start = rng.integers(0, 40, n)
    start[0] = start[1] = 0
    y[1, :30] = 10.0                     # zero errors, so a zero scale, long past the warm-up
    y[np.arange(weeks)[None, :] < start[:, None]] = 0.0
    cuts = np.array([45, 60, 80])
    fc = robust_ses_forecasts(y, start, cuts, 3)
    for i in range(n):
        for j, cut in enumerate(cuts):
            if cut - start[i] < 2:
                continue
            level, rmse = ref_robust_ses(list(y[i, start[i]:cut]), SES_ALPHAS)
            np.testing.assert_allclose(fc.mean[i, j], level, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(fc.insample_rmse[i, j], rmse, rtol=1e-10)


def test_a_spike_moves_the_level_by_at_most_k_scales() -> None:
    """A 10x week after 30 steady ones: plain SES (alpha 0.3) jumps by about 0.3 x 90; the robust
    level moves by at most alpha k s (s the running scale: the steady one-step errors alternate
    around +-1.3 at alpha 0.3, so s < 1.6)."""
    base = 10.0 + np.tile([1.0, -1.0], 15)
    y = np.concatenate([base, [100.0]])[None, :]
    cut = np.array([y.shape[1]])
    alpha = np.array([0.3])
    plain = ses_forecasts(y, np.zeros(1, int), cut, 1, alphas=alpha).mean[0, 0, 0]
    robust = robust_ses_forecasts(y, np.zeros(1, int), cut, 1, alphas=alpha).mean[0, 0, 0]
    before = robust_ses_forecasts(y[:, :-1], np.zeros(1, int), cut - 1, 1, alphas=alpha).mean[0, 0, 0]
    assert plain > before + 25
    assert 0 < robust - before <= 0.3 * ROBUST_HUBER_K * 1.6


def test_without_outliers_it_is_plain_ses() -> None:
    """Errors never beyond k scales: every update is the plain SES one."""
    y = (10.0 + np.tile([1.0, -1.0, 0.5, -0.5], 12))[None, :]
    cuts = np.array([30, 48])
    robust = robust_ses_forecasts(y, np.zeros(1, int), cuts, 2)
    plain = ses_forecasts(y, np.zeros(1, int), cuts, 2)
    np.testing.assert_allclose(robust.mean, plain.mean, rtol=1e-12)
    np.testing.assert_allclose(robust.insample_rmse, plain.insample_rmse, rtol=1e-12)


def test_biweight_rho_is_normalised() -> None:
    """E[rho(Z)] = 1 for Z ~ N(0, 1) with c = 2.52 and k = 2 (Gelper et al.), so the scale
    recursion is unbiased for normal errors."""
    z = np.random.default_rng(0).standard_normal(2_000_000)
    assert biweight_rho(z).mean() == pytest.approx(1.0, abs=0.01)
