"""The global model's fits shared by the policy replay's repeated forecasts
(models/forecasting/global_fits.py, issue 17): the training-end grid worked by hand, a reused fit
giving exactly the forecasts of a new one, the run's own forecast unchanged, the replay paying a
few fits instead of one per cut and forecast, and no replay origin seeing the weeks at or after it."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting import global_model as gm
from safestock.models.forecasting.candidates import backtest_cuts
from safestock.models.forecasting.global_fits import GlobalFitCache, training_end
from safestock.models.inventory.backtest import engine_forecast_fn, periodic_forecast_fn


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer rows and trees: the behaviour under test does not depend on the model's size."""
    monkeypatch.setattr(gm, "TRAIN_ROWS", 4000)
    monkeypatch.setitem(gm.BOOSTING_PARAMS, "max_iter", 30)


def panel(n: int = 90, weeks: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    level = rng.uniform(5.0, 30.0, (n, 1))
    pulse = np.isin(np.arange(weeks) % 13, (0, 1))
    y = rng.poisson(level * np.where(pulse, 2.5, 1.0)).astype(float)
    return y, rng.integers(0, 10, n)


def test_training_end_is_the_latest_grid_week_not_after_the_cut() -> None:
    # grid 150, 137, 124, ... (anchor 150, 13 weeks apart)
    assert training_end(150, 150) == 150
    assert training_end(149, 150) == 137          # 12 weeks stale at most
    assert training_end(146, 150) == 137
    assert training_end(137, 150) == 137
    assert training_end(136, 150) == 124
    assert training_end(160, 150) == 150          # after the anchor the grid goes on: 150, 163
    assert training_end(5, 150) == 0              # never before week 0
    assert [training_end(c, 146) for c in (94, 107, 120, 133, 146)] == [94, 107, 120, 133, 146]


def test_a_reused_fit_forecasts_exactly_as_a_new_one_and_the_run_is_unchanged(small_model: None) -> None:
    y, start = panel()
    weeks = y.shape[1]
    cuts = backtest_cuts(weeks, 4, 13)
    plain = gm.global_forecasts(y, start, cuts, 13)
    cache = GlobalFitCache(anchor=weeks)
    first = gm.global_forecasts(y, start, cuts, 13, fit_cache=cache)
    # anchored at the history's end, every cut is a grid week: the run's forecasts are those without the cache
    np.testing.assert_array_equal(first.mean, plain.mean)
    assert (cache.fits, cache.hits) == (5, 0)
    again = gm.global_forecasts(y, start, cuts, 13, fit_cache=cache)
    np.testing.assert_array_equal(again.mean, first.mean)
    assert (cache.fits, cache.hits) == (5, 5)
    # a change in a week before the last training end is a different training set: a new fit there only
    changed = y.copy()
    changed[:, cuts[-1] - 1] += 7.0
    gm.global_forecasts(changed, start, cuts, 13, fit_cache=cache)
    assert (cache.fits, cache.hits) == (6, 9)


def test_a_fit_is_never_reused_by_a_forecast_of_a_shorter_history() -> None:
    cache = GlobalFitCache(anchor=100)
    cache.put("k", "model", history_weeks=96)
    assert cache.get("k", 92) == (False, None)         # its SKUs were classified on weeks 92-95
    assert cache.get("k", 96) == (True, "model")
    assert cache.get("k", 100) == (True, "model")
    assert (cache.fits, cache.hits) == (1, 2)


def replay_forecasts(y: np.ndarray, start: np.ndarray, first_origin: int, last_origin: int,
                     anchor_weeks: np.ndarray) -> tuple[dict[int, np.ndarray], GlobalFitCache]:
    """The replay's forecasts (every 4 weeks, as the pipeline's) from each history length."""
    engine = engine_forecast_fn(13, week_starts=anchor_weeks, global_model=True)
    forecast = periodic_forecast_fn(engine, 4)
    out = {}
    for seen in range(first_origin, last_origin + 1):
        out[seen] = forecast(y[:, :seen], start)[0]
    return out, engine.global_fits


def test_the_replay_pays_few_fits_and_no_origin_sees_the_weeks_at_or_after_it(small_model: None) -> None:
    y, start = panel(n=80, weeks=110, seed=4)
    week_starts = np.datetime64("2023-01-02") + 7 * np.arange(y.shape[1]).astype("timedelta64[D]")
    first, last = 84, 108                       # 7 re-forecasts: 84, 88, ..., 108
    before, cache = replay_forecasts(y, start, first, last, week_starts)
    # 7 forecasts x 5 cuts = 35 fits without sharing; their training ends span 84 - 52 .. 108 on a
    # 13-week grid anchored at 110: 32 .. 97 -> 6 grid weeks (32, 45, 58, 71, 84, 97)
    assert cache.fits + cache.hits == 35
    assert cache.fits <= 7 and cache.hits >= 28
    for origin in (88, 100):
        changed = y.copy()
        changed[:, origin:] = np.random.default_rng(origin).poisson(300.0, changed[:, origin:].shape)
        after, _ = replay_forecasts(changed, start, first, last, week_starts)
        for seen in range(first, origin + 1):
            np.testing.assert_array_equal(after[seen], before[seen])
        assert not np.allclose(after[origin + 4], before[origin + 4])   # ... the next re-forecast moves
