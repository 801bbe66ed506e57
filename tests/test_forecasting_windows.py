"""Window (multi-week) demand distribution, its calibration, and PIT coverage (models/forecasting/windows.py,
coverage.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.coverage import COVERAGE_COLUMNS
from safestock.models.forecasting.windows import (
    SATURATION_TOLERANCE,
    critical_theta,
    demand_cdf,
    fit_theta,
    level_error_weeks,
    pit_coverage,
    window_cells,
    window_errors,
    window_interval,
)
from safestock.models.partition import merge_coverage
from scipy import stats


def test_window_totals_by_hand() -> None:
    actual = np.array([[[3.0, 0.0, 5.0]]])
    mean = np.array([[[2.0, 2.0, 2.0]]])
    weekly_var = np.array([[[4.0, 5.0, 6.0]]])
    windows = window_errors(actual, mean, weekly_var, np.array([False]))
    np.testing.assert_allclose(windows.actual[0, 0], [3, 3, 8])
    np.testing.assert_allclose(windows.mean[0, 0], [2, 4, 6])
    np.testing.assert_allclose(windows.error[0, 0], [1, -1, 2])
    np.testing.assert_allclose(windows.base_var[0, 0], [4, 9, 15])
    np.testing.assert_allclose(windows.pair_var[0, 0], [0, 2 * 4, 6 * 4])   # (k^2 - k) sigma_1^2


def test_demand_cdf_matches_scipy() -> None:
    x = np.array([0.0, 1.0, 3.0, 7.5, 12.0, 3.0, -1.0])
    mean = np.array([2.0, 2.0, 2.0, 5.0, 5.0, 4.0, 1.0])
    var = np.array([2.0, 6.0, 2.0, 10.0, 9.0, 4.0, 1.0])
    is_count = np.array([True, True, True, True, False, False, True])
    r = mean**2 / np.maximum(var - mean, 1e-12)
    expected = [
        stats.poisson.cdf(0, 2.0), stats.nbinom.cdf(1, r[1], mean[1] / var[1]), stats.poisson.cdf(3, 2.0),
        stats.nbinom.cdf(7, r[3], mean[3] / var[3]), stats.norm.cdf(12, 5, 3), stats.norm.cdf(3, 4, 2), 0.0,
    ]
    np.testing.assert_allclose(demand_cdf(x, mean, var, is_count), expected, rtol=1e-10, atol=1e-12)


def test_window_interval_matches_scipy_quantiles() -> None:
    mean, var = np.array([3.0, 3.0, 40.0]), np.array([3.0, 9.0, 100.0])
    is_count = np.array([True, True, False])
    lo, hi = window_interval(mean, var, is_count, (0.10, 0.90))
    r = 9.0 / 6.0
    assert lo[0] == stats.poisson.ppf(0.10, 3.0) and hi[0] == stats.poisson.ppf(0.90, 3.0)
    assert lo[1] == stats.nbinom.ppf(0.10, r, 1 / 3) and hi[1] == stats.nbinom.ppf(0.90, r, 1 / 3)
    assert hi[2] == pytest.approx(40 + 10 * stats.norm.ppf(0.90))


def test_critical_theta_is_the_smallest_share_that_covers() -> None:
    """Closed form against a plain scan over theta, cell by cell (normal totals)."""
    rng = np.random.default_rng(5)
    n, steps = 60, 4
    actual = rng.normal(4.0, 2.0, (n, 1, steps)) + rng.integers(0, 6, (n, 1, 1))
    windows = window_errors(actual, np.full((n, 1, steps), 4.0), np.full((n, 1, steps), 4.0), np.zeros(n, bool))
    cells = window_cells(windows, np.ones((n, 1), bool))
    thresholds = critical_theta(cells, 0.80).reshape(n, steps)
    grid = np.linspace(0.0, 1.0, 2001)
    z = stats.norm.ppf(0.90)
    for i in range(n):
        for k in range(steps):
            sd = np.sqrt(windows.base_var[i, 0, k] + grid * windows.pair_var[i, 0, k])
            inside = np.abs(windows.actual[i, 0, k] - windows.mean[i, 0, k]) <= z * sd
            scan = grid[np.argmax(inside)] if inside.any() else np.inf
            assert thresholds[i, k] == pytest.approx(scan, abs=1e-3), (i, k)


def test_count_fit_covers_by_pit_out_of_sample() -> None:
    """Poisson weeks around a level shared by the window: y_h ~ Poisson(4 G), G ~ Gamma(mean 1,
    cv 0.4) drawn once per window. The weekly forecast Poisson(4) is right week by week but the
    13-week totals are over-dispersed; the count fit (by mean PIT share) widens them until a fresh
    sample's totals are covered 95 % of the time (PIT), and the fit is the smallest such share."""
    rng = np.random.default_rng(21)

    def sample(n: int):
        rate = 4.0 * rng.gamma(1 / 0.16, 0.16, (n, 1, 1))
        actual = rng.poisson(np.broadcast_to(rate, (n, 1, 13))).astype(float)
        windows = window_errors(actual, np.full(actual.shape, 4.0), np.full(actual.shape, 4.0), np.ones(n, bool))
        return window_cells(windows.windows([12]), np.ones((n, 1), bool))

    def share(cells, theta: float, level: float) -> float:
        return float(cells.pit(theta, (level,))[0].mean())

    fitted, fresh = sample(4000), sample(4000)
    assert share(fresh, 0.0, 0.95) < 0.80            # independent weeks: far too narrow
    theta = fit_theta(fitted, 0.95)
    assert 0.05 < theta < 1.0
    assert 0.95 <= share(fitted, theta, 0.95) <= 0.9511   # the smallest such share, to 0.1 point
    assert share(fresh, theta, 0.95) == pytest.approx(0.95, abs=0.01)
    assert share(fresh, theta, 0.80) == pytest.approx(0.80, abs=0.05)


def test_count_fit_saturates() -> None:
    """Totals far above anything a Poisson(1)-per-week forecast allows: no share reaches 95 %, so
    the fit stops where widening buys less than SATURATION_TOLERANCE more coverage."""
    rng = np.random.default_rng(4)
    actual = rng.poisson(np.broadcast_to(rng.choice([1.0, 12.0], (3000, 1, 1), p=[0.7, 0.3]), (3000, 1, 13)))
    windows = window_errors(actual.astype(float), np.ones(actual.shape), np.ones(actual.shape), np.ones(3000, bool))
    cells = window_cells(windows.windows([12]), np.ones((3000, 1), bool))
    widest = float(cells.pit(1.0, (0.95,))[0].mean())
    assert widest < 0.95
    theta = fit_theta(cells, 0.95)
    assert 0.0 < theta < 1.0
    assert float(cells.pit(theta, (0.95,))[0].mean()) >= widest - SATURATION_TOLERANCE - 1e-9


def test_fit_recovers_a_known_shared_level_error() -> None:
    """y_h = 10 + L + e_h, L ~ N(0, 0.25 s^2) shared by the window, e_h ~ N(0, s^2). The weekly
    variance is 1.25 s^2, so Var D_k = 1.25 s^2 k + theta (k^2 - k) 1.25 s^2 holds with
    theta = 0.25 / 1.25 = 0.2; the fit at the 95 % level recovers it and the 80 % windows then
    cover 80 %."""
    rng = np.random.default_rng(11)
    n, steps, s = 20_000, 13, 3.0
    shared = rng.normal(0.0, 0.5 * s, (n, 1, 1))
    actual = 10.0 + shared + rng.normal(0.0, s, (n, 1, steps))
    windows = window_errors(actual, np.full(actual.shape, 10.0), np.full(actual.shape, 1.25 * s * s),
                            np.zeros(n, bool))
    use = np.ones((n, 1), bool)
    cells = window_cells(windows, use)
    theta = fit_theta(cells, 0.95)
    assert theta == pytest.approx(0.2, abs=0.03)
    covered80 = (critical_theta(cells, 0.80) <= theta).mean()
    assert covered80 == pytest.approx(0.80, abs=0.01)
    assert level_error_weeks(np.array([theta, 0.0]))[1] == np.inf


def test_pit_coverage_of_a_calibrated_poisson_forecast_is_nominal() -> None:
    """Poisson(0.4): 67 % of weeks are zero, so the integer 80 % interval [0, 1] covers 94 %; the
    PIT share is 80 % (and 95 %) as for any calibrated forecast."""
    rng = np.random.default_rng(2)
    y = rng.poisson(0.4, 200_000).astype(float)
    mean, var = np.full(y.size, 0.4), np.full(y.size, 0.4)
    lo, hi = window_interval(mean, var, np.ones(y.size, bool), (0.10, 0.90))
    assert ((y >= lo) & (y <= hi)).mean() > 0.9
    assert pit_coverage(y, mean, var, True, 0.80).mean() == pytest.approx(0.80, abs=0.005)
    assert pit_coverage(y, mean, var, True, 0.95).mean() == pytest.approx(0.95, abs=0.005)
    too_narrow = pit_coverage(rng.poisson(1.5, 200_000).astype(float), mean, var, True, 0.80).mean()
    assert too_narrow < 0.7


def test_engine_window_coverage_on_level_shifting_series() -> None:
    """Series whose level drifts (a random walk plus noise: the forecast's level error is shared
    by the weeks ahead) need a shared term; the fitted window model covers the realised 13-week
    totals as it says (cross-fitted over the backtest origins)."""
    rng = np.random.default_rng(8)
    n, weeks = 800, 156
    level = 100.0 + np.cumsum(rng.normal(0.0, 3.0, (n, weeks)), axis=1)
    y = np.maximum(level + rng.normal(0.0, 10.0, (n, weeks)), 0.0).round()
    result = forecast_demand(np.array([f"s{i}" for i in range(n)]), y, np.zeros(n, int), 13)
    row = result.coverage.set_index("demand_class").loc["smooth"]
    assert list(result.coverage.columns) == COVERAGE_COLUMNS
    assert 1.0 < row["level_error_weeks"] < 100.0
    assert row["window_coverage95"] == pytest.approx(0.95, abs=0.03)
    assert np.all(result.level_error_weeks[result.classes["demand_class"].to_numpy() == "smooth"]
                  == row["level_error_weeks"])


def test_merge_coverage_weights_by_series() -> None:
    part = {"coverage80": 0.8, "coverage95": 0.9, "pit_coverage80": 0.8, "pit_coverage95": 0.9,
            "window_coverage80": 0.7, "window_coverage95": 0.9}
    first = pd.DataFrame([{"demand_class": "smooth", "series": 30, **part, "level_error_weeks": 10.0}])
    second = pd.DataFrame([{"demand_class": "smooth", "series": 10, **{k: v - 0.4 for k, v in part.items()},
                            "level_error_weeks": np.inf}])
    merged = merge_coverage([first, second]).set_index("demand_class").loc["smooth"]
    assert merged["series"] == 40
    assert merged["coverage80"] == pytest.approx(0.7)
    assert merged["window_coverage95"] == pytest.approx(0.8)
    assert merged["level_error_weeks"] == pytest.approx(1 / (0.1 * 30 / 40))   # theta averaged


def test_window_demand_of_a_forecast_by_hand_and_in_simulation() -> None:
    """By hand: weeks 2..4 of mean 10, 12, 14, 16 and sd 2 with n_e = 4: mean 42, variance
    3 * 4 + (9 - 3) * 4 / 4 = 18. Simulated: series with a random-walk level, the engine's own
    window distribution covers realised 8-week totals about as often as it says."""
    from safestock.models.forecasting import window_demand

    totals = window_demand(np.array([[10.0, 12, 14, 16]]), np.full((1, 4), 2.0), np.array(["normal"]),
                           np.array([4.0]), weeks=3, first=1)
    assert totals.mean[0] == 42 and totals.sd[0] == pytest.approx(np.sqrt(18.0))
    assert totals.hi95[0] == pytest.approx(42 + np.sqrt(18.0) * stats.norm.ppf(0.975))
    with pytest.raises(ValueError, match="outside"):
        window_demand(np.ones((1, 4)), np.ones((1, 4)), np.array(["normal"]), np.array([4.0]), weeks=4, first=1)

    rng = np.random.default_rng(21)
    n, weeks = 1500, 156 + 8
    level = 60.0 + np.cumsum(rng.normal(0.0, 2.0, (n, weeks)), axis=1)
    y = np.maximum(level + rng.normal(0.0, 8.0, (n, weeks)), 0.0).round()
    result = forecast_demand(np.array([f"s{i}" for i in range(n)]), y[:, :156], np.zeros(n, int), 13)
    totals = window_demand(result.mean, result.sd, result.family, result.level_error_weeks, weeks=8)
    realised = y[:, 156:].sum(axis=1)
    inside95 = ((realised >= totals.lo95) & (realised <= totals.hi95)).mean()
    assert inside95 == pytest.approx(0.95, abs=0.03)
    independent = window_demand(result.mean, result.sd, result.family, np.full(n, np.inf), weeks=8)
    assert ((realised >= independent.lo95) & (realised <= independent.hi95)).mean() < inside95
