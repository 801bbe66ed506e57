"""Smoothing-weight bounds and the two-season rule for seasonal candidates."""

from __future__ import annotations

import numpy as np
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.candidates import backtest_cuts, seasonal_allowed
from safestock.models.forecasting.seasonal import seasonal_ses_forecasts
from safestock.models.forecasting.smoothing import (
    HOLT_ALPHAS,
    SES_ALPHAS,
    ses_forecasts,
)

MAX_ALPHA = 0.3


def test_smoothing_weight_grids_are_bounded() -> None:
    assert SES_ALPHAS.max() <= MAX_ALPHA and SES_ALPHAS.min() > 0
    assert HOLT_ALPHAS.max() <= MAX_ALPHA and HOLT_ALPHAS.min() > 0
    # every SES-type recursion uses the bounded grid by default
    assert ses_forecasts.__defaults__[0] is SES_ALPHAS
    assert seasonal_ses_forecasts.__defaults__[0] is SES_ALPHAS


def test_ses_alpha_choice_respects_bound_on_level_shift() -> None:
    """A series with a level shift would want alpha ~ 1; the chosen forecast must equal SES with
    alpha = 0.3 (the largest grid point), not the last observation."""
    y = np.concatenate([np.full(40, 10.0), np.full(10, 50.0)])[None, :]
    fc = ses_forecasts(y, np.array([0]), np.array([50]), 1)
    level = 10.0
    for value in y[0, 1:]:
        level += MAX_ALPHA * (value - level)
    np.testing.assert_allclose(fc.mean[0, 0, 0], level)
    assert fc.mean[0, 0, 0] < 50.0 - 1e-6


def test_seasonal_allowed_needs_two_seasons_before_last_origin() -> None:
    m = 52
    cuts = backtest_cuts(143, 4, 13)                       # origins 91, 104, 117, 130; final 143
    start = np.array([0, 26, 27, 100])
    np.testing.assert_array_equal(seasonal_allowed(start, cuts, m), [True, True, False, False])
    np.testing.assert_array_equal(seasonal_allowed(start, cuts, m, min_seasons=1.0), [True, True, True, False])
    # without backtest origins the seasons are counted before the final cut
    final_only = backtest_cuts(143, 0, 13)
    np.testing.assert_array_equal(final_only, [143])
    np.testing.assert_array_equal(seasonal_allowed(start, final_only, m), [True, True, True, False])


def _seasonal(weeks: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    return rng.poisson(200.0 * (1.0 + 0.7 * np.sin(2 * np.pi * t / 52)), size=(n, weeks)).astype(float)


def test_seasonal_model_not_offered_with_less_than_two_seasons() -> None:
    # 112 weeks: last origin at 99 < 2 x 52 -> no seasonal candidate is scored or chosen
    y = _seasonal(112, 3, seed=1)
    result = forecast_demand(np.array(["a", "b", "c"]), y, np.zeros(3, dtype=int), 13)
    assert not result.accuracy["model"].str.startswith("seasonal").any()
    assert not any(str(m).startswith("seasonal") for m in result.model)
    # 156 weeks: last origin at 143 >= 104 -> seasonal candidates are offered and win
    y = _seasonal(156, 3, seed=1)
    result = forecast_demand(np.array(["a", "b", "c"]), y, np.zeros(3, dtype=int), 13)
    assert result.accuracy["model"].eq("seasonal_ses").any()
    assert set(result.model) <= {"seasonal_ses", "seasonal_naive"}


def test_seasonal_rule_is_per_sku() -> None:
    y = _seasonal(156, 2, seed=2)
    start = np.array([0, 60])                               # second SKU: 83 weeks before 143
    y[1, :60] = 0.0
    result = forecast_demand(np.array(["old", "young"]), y, start, 13)
    acc = result.accuracy
    assert acc[(acc["sku"] == "old")]["model"].eq("seasonal_ses").any()
    young = acc[(acc["sku"] == "young")]
    assert not young.loc[young["model"].str.startswith("seasonal"), "rmsse"].notna().any()
    assert not result.model[1].startswith("seasonal")
