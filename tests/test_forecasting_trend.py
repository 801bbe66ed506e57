"""Undamped Holt ("holt", issue 17.3): kept where a trend persists, capped against runaway."""

from __future__ import annotations

import numpy as np

from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.smoothing import MAX_WEEKLY_TREND_SHARE, holt_damped_forecasts, holt_forecasts


def test_a_straight_line_is_continued_and_a_steep_one_capped_at_a_52nd_of_the_level_a_week() -> None:
    weeks = np.arange(60, dtype=float)
    y = np.vstack([100.0 + 1.0 * weeks,          # +1 a week: level 159 at the cut, cap 159/52 = 3.06
                   100.0 + 10.0 * weeks])        # +10 a week: level 690, cap 690/52 = 13.27 ... not binding
    y = np.vstack([y, 50.0 * 1.1 ** (weeks / 2)])   # ~4.9 %/week: capped
    start = np.zeros(3, dtype=np.int64)
    cuts = np.array([60])
    fc = holt_forecasts(y, start, cuts, 4)
    # exact line: level = last value, trend = slope; forecasts continue it
    np.testing.assert_allclose(fc.mean[0, 0], 159.0 + np.arange(1, 5), atol=0.01)   # the trend starts at 0
    np.testing.assert_allclose(fc.mean[1, 0], 690.0 + 10.0 * np.arange(1, 5), atol=0.05)
    step = np.diff(np.concatenate([[fc.mean[2, 0, 0] - (fc.mean[2, 0, 1] - fc.mean[2, 0, 0])], fc.mean[2, 0]]))
    level = fc.mean[2, 0, 0] - step[0]
    assert np.allclose(step, MAX_WEEKLY_TREND_SHARE * level, rtol=1e-6)   # 1/52 of the level a week
    damped = holt_damped_forecasts(y, start, cuts, 4)
    assert (damped.mean[0, 0, 1:] - damped.mean[0, 0, :-1] < 1.0 - 1e-6).all()   # the damped one gives up growth


def test_the_engine_keeps_a_persistent_trend_that_the_damped_model_gives_up() -> None:
    rng = np.random.default_rng(7)
    n, weeks = 200, 169
    growth = rng.uniform(0.005, 0.01, (n, 1)) * rng.choice([-1, 1], (n, 1))
    level = rng.gamma(3.0, 20.0, (n, 1)) * np.where(growth < 0, 4.0, 1.0)
    y = rng.poisson(level * (1 + growth) ** np.arange(weeks)[None, :]).astype(float)
    skus = np.array([f"T{i}" for i in range(n)])
    result = forecast_demand(skus, y[:, :-13], np.zeros(n, dtype=np.int64), 13)
    assert (result.model == "holt").mean() > 0.8
    holdout = y[:, -13:]
    scale = np.sqrt((np.diff(y[:, :-13], axis=1) ** 2).mean(axis=1))
    rmsse = np.sqrt(((result.mean - holdout) ** 2).mean(axis=1)) / scale
    damped = holt_damped_forecasts(y[:, :-13], np.zeros(n, dtype=np.int64), np.array([156]), 13).mean[:, 0]
    rmsse_damped = np.sqrt(((damped - holdout) ** 2).mean(axis=1)) / scale
    assert rmsse.mean() < 0.97 * rmsse_damped.mean()
