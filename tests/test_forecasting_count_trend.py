"""The count classes' trend test and the trend-only ``holt`` candidate (issue 14 (B), docs/forecasting.md §6.10)."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting.candidates import backtest_cuts, run_candidates
from safestock.models.forecasting.trend_test import slope_t, trend_flags


def test_slope_t_worked_by_hand() -> None:
    # y_t = 2 + 0.05 t + r_t over 104 weeks, r = +1, -1, -1, +1 repeated: r sums to 0 and is orthogonal
    # to t, so b = 0.05 exactly; s^2 = 104 / 102, sum (t - tbar)^2 = 104 (104^2 - 1) / 12 = 93,730,
    # t = 0.05 / sqrt(s^2 / 93,730) = 15.16
    weeks = np.arange(104)
    wobble = np.tile([1.0, -1.0, -1.0, 1.0], 26)
    y = np.vstack([2 + 0.05 * weeks + wobble,
                   2 + wobble,                                     # no slope
                   np.concatenate([np.zeros(4), 2 + 0.05 * weeks[:100] + wobble[:100]]),   # < 104 weeks
                   np.full(104, 3.0)])                            # no residual variation
    t = slope_t(y, np.array([0, 0, 4, 0]), season_length=52)
    assert t[0] == pytest.approx(0.05 / np.sqrt((104 / 102) / 93_730), rel=1e-12)
    assert t[0] == pytest.approx(15.16, abs=0.01)
    assert t[1] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(t[2]) and np.isnan(t[3])
    assert trend_flags(t).tolist() == [True, False, False, False]


def test_slope_t_counts_only_weeks_since_start() -> None:
    # the same series listed 10 weeks later, zeros before: the same t as the series alone
    weeks = np.arange(110)
    wobble = np.tile([1.0, -1.0, -1.0, 1.0], 28)[:110]
    y = 2 + 0.05 * weeks + wobble
    late = np.concatenate([np.zeros(10), y[:110]])[None, :]
    alone = slope_t(y[None, :], np.array([0]))[0]
    assert slope_t(late, np.array([10]))[0] == pytest.approx(alone, rel=1e-12)


def test_holt_is_offered_to_the_flagged_count_skus_only() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random((6, 120)) < 0.3) * (1.0 + rng.poisson(2.0, (6, 120)))
    start = np.zeros(6, dtype=int)
    cuts = backtest_cuts(120, 4, 13)
    flagged = np.array([False, True, False, False, True, False])
    found = run_candidates(("sba", "holt"), y, start, cuts, 13, 52, None, trend_only=flagged)
    holt = found["holt"]
    assert holt.valid[flagged].all() and not holt.valid[~flagged].any()
    assert np.isnan(holt.mean[~flagged]).all() and np.isfinite(holt.mean[flagged]).all()
    # the flagged SKUs' forecasts are those of holt fitted on them alone
    alone = run_candidates(("holt",), y[flagged], start[flagged], cuts, 13, 52, None)["holt"]
    np.testing.assert_array_equal(holt.mean[flagged], alone.mean)
    # nothing flagged: not offered at all; no mask: offered to every SKU
    assert "holt" not in run_candidates(("sba", "holt"), y, start, cuts, 13, 52, None, trend_only=flagged & False)
    assert run_candidates(("holt",), y, start, cuts, 13, 52, None)["holt"].valid.all()


def test_trend_groups_can_split_by_the_slope_test() -> None:
    # 35 count SKUs growing 1.5 % a week among 40 stationary ones: the slope t flags the growing ones
    from safestock.models.forecasting.trend_test import TREND_SUFFIX, trend_groups

    rng = np.random.default_rng(8)
    weeks = np.arange(156)
    flat = (rng.random((40, 156)) < 0.3) * (1.0 + rng.poisson(1.0, (40, 156)))
    growing = (rng.random((35, 156)) < 0.08 * 1.015 ** weeks) * (1.0 + rng.poisson(1.0, (35, 156)))
    y = np.vstack([flat, growing])
    start = np.zeros(75, dtype=int)
    t = slope_t(y, start)
    labels = trend_groups(y, start, np.array(["intermittent"] * 75), t=t)
    assert (labels[40:] == "intermittent" + TREND_SUFFIX).mean() >= 0.9
    assert (labels[:40] == "intermittent").mean() >= 0.95
