"""The global gradient-boosted model (models/forecasting/global_model.py, issue 17): features
against a plain per-SKU loop, no leakage of the weeks at or after a backtest origin, and the
engine choosing it where a pattern shared across SKUs exists that no per-series model learns."""

from __future__ import annotations

import numpy as np
import pytest

from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting import global_model as gm
from safestock.models.forecasting.calendar import US_RETAIL_EVENTS, event_weeks
from safestock.models.forecasting.candidates import backtest_cuts


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer rows and trees: the behaviour under test does not depend on the model's size."""
    monkeypatch.setattr(gm, "TRAIN_ROWS", 6000)
    monkeypatch.setitem(gm.BOOSTING_PARAMS, "max_iter", 40)


def loop_features(y: np.ndarray, start: np.ndarray, i: int, origin: int, step: int,
                  week_of_year: np.ndarray, event: np.ndarray) -> list[float]:
    """One row's features by plain Python over the SKU's weeks (the definition in the docstring)."""
    seen = [float(y[i, t]) for t in range(start[i], origin)]

    def mean_last(w: int) -> float:
        part = seen[-w:] if seen else []
        return sum(part) / len(part) if part else float("nan")

    level = mean_last(52)
    scale = 1.0 / level if level > 0 else float("nan")
    row = [float(y[i, origin - k]) * scale if origin - k >= start[i] else float("nan") for k in range(1, 5)]
    row += [mean_last(w) * scale for w in (4, 13, 26)]
    last52 = seen[-52:]
    row.append(sum(v == 0 for v in last52) / len(last52) if last52 else float("nan"))
    if last52:
        var = sum(v * v for v in last52) / len(last52) - level ** 2
        row.append(max(var, 0.0) ** 0.5 * scale)
    else:
        row.append(float("nan"))
    target = origin + step - 1
    year = [float(y[i, t]) for t in range(target - 53, target - 50) if start[i] <= t < origin]
    row.append(sum(year) / len(year) * scale if year else float("nan"))
    row += [float(step), float(week_of_year[target]), float(event[target]), float(origin - start[i])]
    return row


def test_features_match_a_plain_loop_over_each_sku() -> None:
    rng = np.random.default_rng(3)
    n, weeks = 12, 90
    y = rng.poisson(rng.uniform(0.2, 8.0, (n, 1)), (n, weeks)).astype(float)
    y[:, ::7] = 0.0
    start = rng.integers(0, 60, n)
    start[0] = 0
    y[np.arange(weeks)[None, :] < start[:, None]] = 99.0        # before start: never read
    sums = gm.DemandSums.of(y, start)
    week_of_year, event = gm.calendar_columns(np.datetime64("2023-01-02") + 7 * np.arange(weeks).astype(
        "timedelta64[D]"), weeks + 30, US_RETAIL_EVENTS)
    sku, origin, step = gm.training_rows(start, weeks, 13)
    built, level = gm.build_features(sums, sku, origin, step, week_of_year, event)
    pick = rng.choice(sku.size, 300, replace=False)
    expected = np.array([loop_features(y, start, sku[r], origin[r], step[r], week_of_year, event) for r in pick])
    np.testing.assert_allclose(built[pick], expected, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert (origin - start[sku] >= gm.MIN_HISTORY_WEEKS).all() and (origin + step - 1 < weeks).all()
    # every admissible (sku, origin, step) appears once when they are fewer than max_rows
    admissible = sum(max(weeks - h + 1 - (s + gm.MIN_HISTORY_WEEKS), 0) for s in start for h in range(1, 14))
    assert sku.size == admissible == len(set(zip(sku, origin, step)))


def test_week_of_year_and_events_follow_the_dates() -> None:
    monday = np.datetime64("2024-12-16")            # week 2024-12-16 .. 22, then Christmas week
    week_of_year, event = gm.calendar_columns(np.array([monday]), 4, US_RETAIL_EVENTS)
    # 0-based day of year // 7 + 1: 16 Dec 2024 (leap year) is day 350 -> 51, 23 Dec 357 -> 52,
    # 30 Dec 364 -> 53, 6 Jan 2025 is day 5 -> 1
    assert week_of_year.tolist() == [51, 52, 53, 1]
    labels = event_weeks(np.array([monday]), US_RETAIL_EVENTS).labels
    assert [labels[int(e) - 1] if e else "" for e in event] == [
        "christmas-1", "christmas+0", "christmas+1", "christmas+2"]   # 25 Dec 2024 is in the week of 23 Dec


def test_a_backtest_origin_never_sees_the_weeks_at_or_after_it(small_model: None) -> None:
    rng = np.random.default_rng(0)
    n, weeks = 120, 80
    y = rng.poisson(rng.uniform(1.0, 20.0, (n, 1)), (n, weeks)).astype(float)
    start = rng.integers(0, 20, n)
    cuts = backtest_cuts(weeks, 4, 13)
    before = gm.global_forecasts(y, start, cuts, 13)
    for k in range(cuts.size - 1):
        changed = y.copy()
        changed[:, cuts[k]:] = rng.poisson(200.0, (n, weeks - cuts[k]))   # a different future
        after = gm.global_forecasts(changed, start, cuts, 13)
        np.testing.assert_array_equal(after.mean[:, :k + 1], before.mean[:, :k + 1])
        np.testing.assert_array_equal(after.insample_rmse[:, :k + 1], before.insample_rmse[:, :k + 1])
        # ... while the later cuts, which may see those weeks, do move
        assert not np.allclose(after.mean[:, k + 1:], before.mean[:, k + 1:], equal_nan=True)
    assert np.isfinite(before.mean[before.valid]).all() and before.valid[:, -1].all()


def test_engine_selects_the_global_model_for_a_pattern_shared_across_skus(small_model: None) -> None:
    """Every SKU triples its demand in two weeks out of 13 (a promotion cycle shared by the
    catalogue). No per-series candidate can learn it (the seasonal ones need two 52-week
    seasons; the others are flat or trend); the global model learns the phase from the lags.
    Two years of history (one more quarter than before the selection rule of
    ``backtest.reference_mask``): the global model becomes the class's reference only when its
    lead holds over the origins, and trained on the 26 weeks before the first origin of a
    1.75-year history it had not learned the cycle there yet."""
    rng = np.random.default_rng(1)
    n, weeks = 150, 117
    level = rng.uniform(10.0, 40.0, (n, 1))
    pulse = np.isin(np.arange(weeks) % 13, (0, 1))
    y = rng.poisson(level * np.where(pulse, 3.0, 1.0)).astype(float)
    skus = np.array([f"S{i}" for i in range(n)])
    start = np.zeros(n, dtype=np.int64)
    plain = forecast_demand(skus, y[:, :-13], start, 13)
    mixed = forecast_demand(skus, y[:, :-13], start, 13, global_model=True)
    assert "global_gbm" not in plain.model
    assert (mixed.model == "global_gbm").mean() > 0.8
    chosen = mixed.accuracy[mixed.accuracy["selected"]]
    assert (chosen["model"] == "global_gbm").mean() > 0.8
    holdout = y[:, -13:]
    error_plain = np.sqrt(((plain.mean - holdout) ** 2).mean())
    error_mixed = np.sqrt(((mixed.mean - holdout) ** 2).mean())
    assert error_mixed < 0.7 * error_plain
    # the pulse weeks (0 and 1 of each 13) of the holdout are forecast about 3x the others
    holdout_pulse = pulse[-13:]
    ratio = mixed.mean[:, holdout_pulse].mean() / mixed.mean[:, ~holdout_pulse].mean()
    assert 2.3 < ratio < 3.7
    # its bands come from the same calibrated error model: finite, ordered, around the mean
    rows = mixed.model == "global_gbm"
    assert np.all(mixed.lo95[rows] <= mixed.lo80[rows]) and np.all(mixed.lo80[rows] <= mixed.mean[rows])
    assert np.all(mixed.mean[rows] <= mixed.hi80[rows]) and np.all(mixed.hi80[rows] <= mixed.hi95[rows])
    assert np.isfinite(mixed.sd[rows]).all() and (mixed.sd[rows] > 0).all()
