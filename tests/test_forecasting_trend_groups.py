"""Selection groups split by the SKU's own trend test (issue 14 (a), docs/forecasting.md round 11)."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.trend_test import TREND_SUFFIX, seasonal_difference_t, trend_groups


def test_seasonal_difference_t_worked_by_hand() -> None:
    # a season of 52 weeks repeated, the second year raised by 1 or 3 (alternating):
    # d = 1, 3, 1, 3, ... -> mean 2, sd (ddof 1) = sqrt(52 / 51), t = 2 / (sd / sqrt(52))
    season = 10 + 5 * np.sin(2 * np.pi * np.arange(52) / 52)
    raised = season + np.where(np.arange(52) % 2 == 0, 1.0, 3.0)
    y = np.vstack([np.concatenate([season, raised]),          # trend
                   np.concatenate([season, season + np.where(np.arange(52) % 2 == 0, 1.0, -1.0)]),  # none
                   np.concatenate([np.zeros(10), season[10:], raised])])   # listed late: < 2 seasons
    t = seasonal_difference_t(y, np.array([0, 0, 10]), 52)
    assert t[0] == pytest.approx(2 / (np.sqrt(52 / 51) / np.sqrt(52)), rel=1e-12)   # 14.28
    assert t[1] == pytest.approx(0.0, abs=1e-12)      # a stable season is not a trend
    assert np.isnan(t[2])


def test_trend_groups_split_a_class_only_when_both_parts_have_enough_skus() -> None:
    rng = np.random.default_rng(3)
    weeks = 104
    flat = rng.poisson(20, size=(40, weeks)).astype(float)
    growing = rng.poisson(20 * 1.01 ** np.arange(weeks), size=(35, weeks)).astype(float)
    y = np.vstack([flat, growing])
    start = np.zeros(75, dtype=int)
    groups = np.array(["smooth"] * 75)
    labels = trend_groups(y, start, groups, 52)
    assert set(labels[40:]) == {"smooth" + TREND_SUFFIX}      # +68 % a year: t far above 2.68
    assert (labels[:40] == "smooth").mean() >= 0.95           # flat SKUs: a false alarm at most ~1 %
    # 35 trending SKUs but only 10 others: no split (the prior needs 30 SKUs on each side)
    labels = trend_groups(np.vstack([flat[:10], growing]), start[:45], groups[:45], 52)
    assert set(labels) == {"smooth"}


def test_growing_skus_among_seasonal_ones_get_the_trend_model_and_their_level() -> None:
    """60 seasonal SKUs make ``seasonal_ses`` the smooth class's pooled winner; 40 SKUs growing 0.8 %
    a week must still be forecast at their trend (the closed-loop miss of issue 14: without the
    trend group most of them got a level model and ran ~12 % low)."""
    rng = np.random.default_rng(14)
    weeks, horizon = 169, 13
    t = np.arange(weeks + horizon)
    seasonal_mean = 60 * (1 + 0.5 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 52, (60, 1))) / 52))
    growth = rng.uniform(0.006, 0.01, (40, 1))
    trend_mean = rng.uniform(20, 60, (40, 1)) * (1 + growth) ** t[None, :]
    mean = np.vstack([seasonal_mean, trend_mean])
    y = rng.poisson(mean).astype(float)
    result = forecast_demand(np.array([f"s{i}" for i in range(100)]), y[:, :weeks], np.zeros(100, dtype=int),
                             horizon)
    model = np.asarray(result.model)
    assert (model[:60] == "seasonal_ses").mean() >= 0.8
    assert (model[60:] == "holt").mean() >= 0.9
    ratio = result.mean[60:].sum(axis=1) / mean[60:, weeks:].sum(axis=1)
    assert abs(np.median(ratio) - 1) < 0.04          # level models run 10-15 % low here
    assert np.all(ratio < 1.25) and np.all(ratio > 0.75)
