"""Hurdle (occurrence x shifted count size) weekly distribution of intermittent / lumpy demand
(models/forecasting/hurdle.py)."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting.hurdle import (
    hurdle_cdf,
    hurdle_quantiles,
    hurdle_var,
    size_moments,
)
from safestock.models.forecasting.windows import pit_coverage, pit_share
from scipy import stats


def test_hand_worked_example() -> None:
    """mu = 0.5, sizes mean 2.5 / var 1.5: pi = 0.2, X = size - 1 ~ Poisson(1.5).
    P(D = 0) = 0.8; 90 %: (0.9 - 0.8)/0.2 = 0.5 -> Q_X(0.5) = 1 (P(X <= 1) = 0.558) -> 2;
    97.5 %: 0.875 -> Q_X = 3 (P(X <= 2) = 0.809, P(X <= 3) = 0.934) -> 4; 10 %: 0.
    Var D = 0.2 (1.5 + 2.5^2) - 0.5^2 = 1.3."""
    q = hurdle_quantiles((0.10, 0.90, 0.975), np.array([0.5]), np.array([2.5]), np.array([1.5]))
    np.testing.assert_array_equal(q[:, 0], [0, 2, 4])
    assert hurdle_var(np.array(0.5), np.array(2.5), np.array(1.5)) == pytest.approx(1.3)
    assert hurdle_cdf(np.array(0.0), 0.5, 2.5, 1.5) == pytest.approx(0.8)
    assert hurdle_cdf(np.array(2.0), 0.5, 2.5, 1.5) == pytest.approx(0.8 + 0.2 * stats.poisson.cdf(1, 1.5))


def test_cdf_and_quantiles_against_scipy_and_a_scan() -> None:
    rng = np.random.default_rng(4)
    mean = rng.uniform(0.05, 3.0, 300)
    size_mean = mean / rng.uniform(0.05, 1.0, 300)
    size_var = rng.uniform(0.0, 3.0, 300) * size_mean
    y = rng.integers(0, 25, 300).astype(float)
    pi = mean / size_mean
    excess = np.maximum(size_mean - 1, 0)
    excess_var = np.maximum(size_var, excess)
    negbin = (excess_var > excess * (1 + 1e-9)) & (excess > 0)
    r = np.where(negbin, excess**2 / np.where(negbin, excess_var - excess, 1), 1)
    sizes_cdf = np.where(negbin, stats.nbinom.cdf(y - 1, r, np.where(negbin, excess / excess_var, 0.5)),
                         stats.poisson.cdf(y - 1, excess))
    sizes_cdf = np.where(excess > 0, sizes_cdf, (y >= 1).astype(float))   # sizes <= 1: X = 0
    expected = 1 - pi + pi * np.where(y >= 1, sizes_cdf, 0)
    np.testing.assert_allclose(hurdle_cdf(y, mean, size_mean, size_var), expected, rtol=1e-9, atol=1e-12)
    levels = (0.025, 0.10, 0.90, 0.975)
    q = hurdle_quantiles(levels, mean, size_mean, size_var)
    grid = np.arange(0, 400, dtype=float)
    for i in range(300):
        cdf = hurdle_cdf(grid, mean[i], size_mean[i], size_var[i])
        for j, level in enumerate(levels):
            assert q[j, i] == grid[np.argmax(cdf >= level)], (i, level)


def test_size_moments_match_a_plain_loop() -> None:
    rng = np.random.default_rng(9)
    y = rng.poisson(0.5, (40, 60)) * rng.integers(1, 6, (40, 60)).astype(float)
    start = rng.integers(0, 30, 40)
    cuts = np.array([20, 35, 60])
    moments = size_moments(y, start, cuts)
    for i in range(40):
        for j, cut in enumerate(cuts):
            sizes = y[i, start[i]:cut][y[i, start[i]:cut] > 0]
            if sizes.size == 0:
                assert np.isnan(moments.mean[i, j])
                continue
            assert moments.mean[i, j] == pytest.approx(sizes.mean())
            assert moments.var[i, j] == pytest.approx(sizes.var(ddof=1) if sizes.size > 1 else 0.0)


def test_hurdle_pit_is_calibrated_where_a_matched_negative_binomial_is_not() -> None:
    """Demand in 20 % of weeks, sizes 1 + Poisson(2): the hurdle model's PIT coverage is nominal;
    the negative binomial with the same mean and variance gives too little mass to zero weeks
    and misses the 80 % target."""
    rng = np.random.default_rng(1)
    weeks = 400_000
    y = (rng.uniform(size=weeks) < 0.2) * (1 + rng.poisson(2.0, weeks)).astype(float)
    mean, size_mean, size_var = 0.2 * 3.0, 3.0, 2.0
    upper = hurdle_cdf(y, mean, size_mean, size_var)
    lower = hurdle_cdf(np.ceil(y) - 1, mean, size_mean, size_var)
    assert pit_share(upper, lower, 0.80).mean() == pytest.approx(0.80, abs=0.005)
    assert pit_share(upper, lower, 0.95).mean() == pytest.approx(0.95, abs=0.005)
    var = float(hurdle_var(np.array(mean), np.array(size_mean), np.array(size_var)))
    matched = pit_coverage(y, np.full(weeks, mean), np.full(weeks, var), np.ones(weeks, bool), 0.80).mean()
    assert matched < 0.77
