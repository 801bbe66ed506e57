"""Model recursions: hand-worked examples and vectorised == plain per-series loops.

The per-series references below are deliberately naive Python loops over one series at a
time (the approach of Nixtla utilsforecast's tests): same formulas, same grids, same
selection rule (smallest in-sample one-step SSE up to the cut, first grid point on ties).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from safestock.models.forecasting.intermittent import (
    CROSTON_ALPHAS,
    croston_sba_forecasts,
    tsb_forecasts,
    tsb_grid,
)
from safestock.models.forecasting.seasonal import (
    fourier_smooth,
    seasonal_indices,
    seasonal_ses_forecasts,
)
from safestock.models.forecasting.smoothing import (
    SES_ALPHAS,
    holt_damped_forecasts,
    holt_damped_grid,
    naive_forecasts,
    seasonal_naive_forecasts,
    ses_forecasts,
)

ONE = np.array([0])


def test_ses_by_hand_ten_points() -> None:
    # alpha = 0.5; weight max(0.5, 1/k) is 1 at k=1 (l = y1) and 0.5 afterwards.
    # y:  10  12   8     11      9       14        10         6          13          12
    # l:  10  11   9.5   10.25   9.625   11.8125   10.90625   8.453125   10.7265625  11.36328125
    # errors y_t - l_{t-1}: 2, -3, 1.5, -1.25, 4.375, -1.8125, -4.90625, 4.546875, 1.2734375
    # SSE = 4 + 9 + 2.25 + 1.5625 + 19.140625 + 3.28515625 + 24.0712890625
    #       + 20.674072265625 + 1.62164306640625 = 85.60528564453125 ; RMSE = sqrt(SSE / 9)
    y = np.array([[10, 12, 8, 11, 9, 14, 10, 6, 13, 12]], dtype=float)
    fc = ses_forecasts(y, ONE, np.array([10]), 3, alphas=np.array([0.5]))
    np.testing.assert_allclose(fc.mean[0, 0], [11.36328125] * 3)
    np.testing.assert_allclose(fc.insample_rmse[0, 0], math.sqrt(85.60528564453125 / 9))


def test_ses_warmup_is_running_mean() -> None:
    # alpha = 0.1: weights 1, 1/2, 1/3 -> l = 3, 4.5, 6 = mean(3, 6, 9)
    y = np.array([[3.0, 6.0, 9.0]])
    fc = ses_forecasts(y, ONE, np.array([3]), 1, alphas=np.array([0.1]))
    assert fc.mean[0, 0, 0] == pytest.approx(6.0)


def test_croston_and_sba_by_hand_ten_points() -> None:
    # alpha = 0.5, y = 4 0 0 6 0 2 0 0 0 5
    # t0 demand #1: z = 4 (weight 1); no interval yet -> p = periods seen = 1; f = 4
    # t1: p = 2 -> f = 2 ; t2: p = 3 -> f = 4/3
    # t3 demand #2: z = 4 + .5(6-4) = 5; interval #1 q = 3, weight 1 -> p = 3; f = 5/3 (t4 same)
    # t5 demand #3: z = 5 + .5(2-5) = 3.5; q = 2, p = 3 + .5(2-3) = 2.5; f = 1.4 (t6..t8 same)
    # t9 demand #4: z = 3.5 + .5(5-3.5) = 4.25; q = 4, p = 2.5 + .5(4-2.5) = 3.25
    # Croston = 4.25 / 3.25 = 17/13 ; SBA = (1 - 0.5/2) * 17/13 = 12.75/13
    # Croston one-step errors t1..t9: -4, -2, 14/3, -5/3, 1/3, -1.4, -1.4, -1.4, 3.6
    # SSE = 16 + 4 + 196/9 + 25/9 + 1/9 + 3 * 1.96 + 12.96 = 38.84 + 222/9
    y = np.array([[4, 0, 0, 6, 0, 2, 0, 0, 0, 5]], dtype=float)
    croston, sba = croston_sba_forecasts(y, ONE, np.array([4, 10]), 2, alphas=np.array([0.5]))
    np.testing.assert_allclose(croston.mean[0, 1], [17 / 13] * 2)
    np.testing.assert_allclose(sba.mean[0, 1], [12.75 / 13] * 2)
    np.testing.assert_allclose(croston.insample_rmse[0, 1], math.sqrt((38.84 + 222 / 9) / 9))
    # cut after t3 (columns 0..3): z = 5, p = 3
    np.testing.assert_allclose(croston.mean[0, 0], [5 / 3] * 2)


def test_tsb_by_hand() -> None:
    # alpha = beta = 0.5, y = 2 0 4 0 0
    # t0: d = 1 (weight 1), z = 2 -> f = 2
    # t1: d = 1 + .5(0-1) = .5 -> f = 1
    # t2: d = .5 + .5(1-.5) = .75; z = 2 + .5(4-2) = 3 -> f = 2.25
    # t3: d = .375 -> f = 1.125 ; t4: d = .1875 -> f = 0.5625
    # errors t1..t4: -2, 3, -2.25, -1.125 -> SSE = 4 + 9 + 5.0625 + 1.265625 = 19.328125
    y = np.array([[2, 0, 4, 0, 0]], dtype=float)
    fc = tsb_forecasts(y, ONE, np.array([5]), 2, grid=(np.array([0.5]), np.array([0.5])))
    np.testing.assert_allclose(fc.mean[0, 0], [0.5625, 0.5625])
    np.testing.assert_allclose(fc.insample_rmse[0, 0], math.sqrt(19.328125 / 4))


# ---------------------------------------------------------------- per-series references

def _weight(alpha: float, k: int) -> float:
    return max(alpha, 1.0 / k)


def _best(results: list[tuple[float, object]]) -> object:
    """First grid point with the smallest SSE."""
    best_sse = min(r[0] for r in results)
    return next(r[1] for r in results if r[0] == best_sse)


def ref_ses(x: list[float], alphas: np.ndarray) -> float:
    results = []
    for a in alphas:
        level, sse = 0.0, 0.0
        for k, v in enumerate(x, start=1):
            e = v - level
            if k >= 2:
                sse += e * e
            level += _weight(a, k) * e
        results.append((sse, level))
    return float(_best(results))


def ref_holt(x: list[float], grid: tuple[np.ndarray, ...], h: int) -> list[float]:
    results = []
    for a, b, phi in zip(*grid):
        level, trend, sse = 0.0, 0.0, 0.0
        for k, v in enumerate(x, start=1):
            e = v - (level + phi * trend)
            if k >= 2:
                sse += e * e
            w = _weight(a, k)
            new_level = level + phi * trend + w * e
            trend = phi * trend + (b * w * e if k >= 2 else 0.0)
            level = new_level
        path = [max(level + sum(phi ** i for i in range(1, s + 1)) * trend, 0.0) for s in range(1, h + 1)]
        results.append((sse, path))
    return list(_best(results))


def ref_croston(x: list[float], alphas: np.ndarray, sba: bool) -> float:
    results = []
    for a in alphas:
        z, p, n_dem, last, f, sse = 0.0, 1.0, 0, 0, 0.0, 0.0
        factor = 1 - a / 2 if sba else 1.0
        for k, v in enumerate(x, start=1):
            if k >= 2:
                sse += (v - factor * f) ** 2
            t = k - 1
            if v > 0:
                n_dem += 1
                z += _weight(a, n_dem) * (v - z)
                if n_dem >= 2:
                    p += _weight(a, n_dem - 1) * ((t - last) - p)
                last = t
            f = z / (p if n_dem >= 2 else k)
        results.append((sse, factor * f))
    return float(_best(results))


def ref_tsb(x: list[float], grid: tuple[np.ndarray, np.ndarray]) -> float:
    results = []
    for a, b in zip(*grid):
        d, z, n_dem, sse = 0.0, 0.0, 0, 0.0
        for k, v in enumerate(x, start=1):
            if k >= 2:
                sse += (v - d * z) ** 2
            d += _weight(b, k) * ((1.0 if v > 0 else 0.0) - d)
            if v > 0:
                n_dem += 1
                z += _weight(a, n_dem) * (v - z)
        results.append((sse, d * z))
    return float(_best(results))


def ref_seasonal_ses(x: list[float], season: list[float], first_col: int, alphas: np.ndarray,
                     h: int) -> list[float]:
    m = len(season)
    results = []
    for a in alphas:
        level, sse = 0.0, 0.0
        for k, v in enumerate(x, start=1):
            s = season[(first_col + k - 1) % m]
            e = v - level * s
            if k >= 2:
                sse += e * e
            level += _weight(a, k) * e / s
        end = first_col + len(x)
        results.append((sse, [level * season[(end + i) % m] for i in range(h)]))
    return list(_best(results))


@pytest.fixture(scope="module")
def random_panel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    n, n_columns = 12, 70
    smooth = rng.gamma(3.0, 5.0, size=(n, n_columns)).round()
    sparse = smooth * (rng.uniform(size=(n, n_columns)) < 0.35)
    y = np.where(np.arange(n)[:, None] % 2 == 0, smooth, sparse)
    start = rng.integers(0, 30, size=n)
    start[0] = 0
    y[np.arange(n_columns)[None, :] < start[:, None]] = 0.0
    y[np.arange(n), start] = np.maximum(y[np.arange(n), start], 1.0)
    cuts = np.array([40, 55, 70])
    return y, start, cuts


def test_vectorised_ses_equals_loop(random_panel) -> None:
    y, start, cuts = random_panel
    fc = ses_forecasts(y, start, cuts, 4)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            expected = ref_ses(list(y[i, start[i]:c]), SES_ALPHAS)
            np.testing.assert_allclose(fc.mean[i, j], expected, rtol=1e-10, atol=1e-10)


def test_vectorised_holt_equals_loop(random_panel) -> None:
    y, start, cuts = random_panel
    grid = holt_damped_grid()
    fc = holt_damped_forecasts(y, start, cuts, 5, grid=grid)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            expected = ref_holt(list(y[i, start[i]:c]), grid, 5)
            np.testing.assert_allclose(fc.mean[i, j], expected, rtol=1e-9, atol=1e-9)


def test_vectorised_croston_sba_equals_loop(random_panel) -> None:
    y, start, cuts = random_panel
    croston, sba = croston_sba_forecasts(y, start, cuts, 3)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            x = list(y[i, start[i]:c])
            np.testing.assert_allclose(croston.mean[i, j], ref_croston(x, CROSTON_ALPHAS, False), rtol=1e-10)
            np.testing.assert_allclose(sba.mean[i, j], ref_croston(x, CROSTON_ALPHAS, True), rtol=1e-10)


def test_vectorised_tsb_equals_loop(random_panel) -> None:
    y, start, cuts = random_panel
    grid = tsb_grid()
    fc = tsb_forecasts(y, start, cuts, 3, grid=grid)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            np.testing.assert_allclose(fc.mean[i, j], ref_tsb(list(y[i, start[i]:c]), grid), rtol=1e-10)


def test_vectorised_naive_models_equal_loop(random_panel) -> None:
    y, start, cuts = random_panel
    m = 12
    naive = naive_forecasts(y, start, cuts, 15)
    snaive = seasonal_naive_forecasts(y, start, cuts, 15, m)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            x = list(y[i, start[i]:c])
            np.testing.assert_allclose(naive.mean[i, j], [x[-1]] * 15)
            diffs = [(x[t] - x[t - 1]) ** 2 for t in range(1, len(x))]
            np.testing.assert_allclose(naive.insample_rmse[i, j], math.sqrt(sum(diffs) / len(diffs)))
            if len(x) >= m:
                expected = [x[len(x) - m + (s % m)] for s in range(15)]
                np.testing.assert_allclose(snaive.mean[i, j], expected)
            else:
                assert not snaive.valid[i, j]


def test_vectorised_seasonal_ses_equals_loop(random_panel) -> None:
    y, start, cuts = random_panel
    m = 12
    indices, valid = seasonal_indices(y, start, cuts, m, harmonics=2)
    fc = seasonal_ses_forecasts(y, start, cuts, 6, indices, valid)
    checked = 0
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            if not valid[i, j]:
                assert np.isnan(fc.mean[i, j]).all()
                continue
            expected = ref_seasonal_ses(list(y[i, start[i]:c]), list(indices[i, j]), int(start[i]),
                                        SES_ALPHAS, 6)
            np.testing.assert_allclose(fc.mean[i, j], expected, rtol=1e-9)
            checked += 1
    assert checked > 10


def test_seasonal_indices_recover_known_profile() -> None:
    m = 52
    phase = np.arange(156) % m
    profile = 1.0 + 0.6 * np.sin(2 * np.pi * phase / m)
    y = np.vstack([100.0 * profile, 40.0 * np.roll(profile, 26)])
    indices, valid = seasonal_indices(y, np.zeros(2, dtype=int), np.array([156]), m, harmonics=3)
    assert valid.all()
    np.testing.assert_allclose(indices[0, 0], profile[:m], atol=0.03)
    np.testing.assert_allclose(indices[1, 0], np.roll(profile, 26)[:m], atol=0.03)


def test_fourier_smooth_is_least_squares_projection() -> None:
    rng = np.random.default_rng(8)
    m, harmonics = 52, 3
    raw = rng.gamma(2.0, 0.5, size=(5, m))
    phase = np.arange(m) / m
    basis = np.column_stack([np.ones(m)] + [f(2 * np.pi * k * phase) for k in range(1, harmonics + 1)
                                             for f in (np.cos, np.sin)])
    coef, *_ = np.linalg.lstsq(basis, raw.T, rcond=None)
    np.testing.assert_allclose(fourier_smooth(raw, harmonics), (basis @ coef).T, atol=1e-12)
