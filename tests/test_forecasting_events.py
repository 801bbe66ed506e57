"""Calendar events: dates, week labels, pooled effects worked by hand, ``ses_events`` in the engine."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.calendar import (
    US_RETAIL_EVENTS,
    Event,
    easter_offset,
    event_weeks,
    fixed_date,
    nth_weekday,
    parse_date_rule,
)
from safestock.models.forecasting.events import (
    adjustment_factors,
    calendar_factors,
    event_factors,
    event_ses_forecasts,
)

WEEK = np.timedelta64(7, "D")


def mondays(first: str, count: int) -> np.ndarray:
    return np.datetime64(first) + WEEK * np.arange(count)


def test_date_rules_against_published_dates():
    assert easter_offset(0)(2000) == dt.date(2000, 4, 23)
    assert easter_offset(-2)(2024) == dt.date(2024, 3, 29)          # Good Friday 2024
    assert nth_weekday(5, 6, 2)(2000) == dt.date(2000, 5, 14)        # US Mother's Day
    assert nth_weekday(5, 6, 2)(1999) == dt.date(1999, 5, 9)
    assert nth_weekday(6, 6, 3)(1999) == dt.date(1999, 6, 20)        # US Father's Day
    assert nth_weekday(11, 3, 4)(2023) == dt.date(2023, 11, 23)      # Thanksgiving
    assert fixed_date(12, 25)(2023) == dt.date(2023, 12, 25)


@pytest.mark.parametrize(("text", "year", "expected"), [
    ("12-25", 2023, "2023-12-25"),
    ("easter", 2000, "2000-04-23"),
    ("easter-21", 2024, "2024-03-10"),        # UK Mothering Sunday
    ("05/sun/2", 1999, "1999-05-09"),         # US Mother's Day
    ("11/thu/4+1", 2023, "2023-11-24"),       # Black Friday
    ("05/mon/-1", 2024, "2024-05-27"),        # US Memorial Day (last Monday)
    ("12/sun/-1", 2023, "2023-12-31"),        # last Sunday of December
    (" 06/SUN/3 ", 1999, "1999-06-20"),       # US Father's Day; case and blanks ignored
])
def test_date_rules_from_text(text: str, year: int, expected: str):
    assert str(parse_date_rule(text)(year)) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("xmas", "is not one of"),
    ("02-29", "not a date every year has"),
    ("13/sun/1", "month must be 01-12"),
    ("05/son/1", "weekday one of mon, tue"),
    ("05/sun/5", "not every year has a 5th sun"),
])
def test_bad_date_rules_are_refused_with_the_forms(text: str, message: str):
    with pytest.raises(ValueError, match=message):
        parse_date_rule(text)


def test_event_weeks_label_the_week_holding_the_date_and_its_window():
    events = (Event("christmas", fixed_date(12, 25), 2, 1),)
    grid = mondays("2023-11-27", 8)          # 2023-12-25 is a Monday
    weeks = event_weeks(grid, events)
    assert weeks.labels == ("christmas-2", "christmas-1", "christmas+0", "christmas+1")
    labelled = {str(grid[t]): weeks.labels[k] for t, k in enumerate(weeks.key) if k >= 0}
    assert labelled == {"2023-12-11": "christmas-2", "2023-12-18": "christmas-1",
                        "2023-12-25": "christmas+0", "2024-01-01": "christmas+1"}


def test_event_dated_before_the_grid_still_labels_its_window_inside_it():
    events = (Event("christmas", fixed_date(12, 25), 0, 2),)
    weeks = event_weeks(mondays("2024-01-01", 4), events)             # Christmas 2023: week before
    assert [weeks.labels[k] if k >= 0 else None for k in weeks.key] == [
        "christmas+1", "christmas+2", None, None]


def test_overlapping_windows_go_to_the_earlier_event():
    first = Event("a", fixed_date(3, 6), 0, 1)       # 2023-03-06 Monday: weeks of 6 and 13 March
    second = Event("b", fixed_date(3, 13), 1, 0)      # weeks of 6 and 13 March too
    weeks = event_weeks(mondays("2023-02-27", 4), (first, second))
    assert [weeks.labels[k] if k >= 0 else None for k in weeks.key] == [None, "a+0", "a+1", None]


def test_pooled_effect_worked_by_hand():
    # Two SKUs at 10 a week each (total 20); the event week sells 30 + 10 = 40, twice the
    # baseline. One occurrence with a prior of 0.5 occurrences: beta = log 2 / 1.5.
    y = np.full((2, 30), 10.0)
    y[0, 15] = 30.0
    key = np.full(40, -1)
    key[15] = 0
    key[35] = 0                                   # the same event after the cut (a future week)
    factors = event_factors(y, np.zeros(2, dtype=int), np.array([10, 30]), key, 1)
    assert np.allclose(factors[0], 1.0)           # cut 10: the event week is not yet seen
    expected = 2.0 ** (1 / 1.5)
    assert factors[1, 15] == pytest.approx(expected)
    assert factors[1, 35] == pytest.approx(expected)
    assert np.allclose(np.delete(factors[1], [15, 35]), 1.0)
    # Two occurrences (x2 and x4 -> mean log = 1.5 log 2) with the prior: beta = 3 log 2 / 2.5.
    y[1, 25] = 70.0
    key[25] = 0
    factors = event_factors(y, np.zeros(2, dtype=int), np.array([30]), key, 1)
    assert factors[0, 35] == pytest.approx(math.exp(3 * math.log(2) / 2.5))


def test_baseline_uses_only_plain_weeks_near_the_event():
    # A level shift 20 weeks before the event must not enter its baseline (13-week window).
    y = np.concatenate([np.full(20, 100.0), np.full(30, 10.0)])[None, :]
    key = np.full(50, -1)
    key[40] = 0
    y[0, 40] = 30.0
    factors = event_factors(y, np.zeros(1, dtype=int), np.array([50]), key, 1, prior_occurrences=0.0)
    assert factors[0, 40] == pytest.approx(3.0)


def test_event_ses_forecasts_an_exact_multiplicative_series_exactly():
    # Level 50 with known factors: the adjusted series is constant, so every alpha fits it with
    # zero error and the forecast is 50 x the future factor.
    factors = np.ones(60)
    factors[[10, 36, 52]] = 2.5
    y = np.repeat((50.0 * factors[:48])[None, :], 3, axis=0)
    result = event_ses_forecasts(y, np.zeros(3, dtype=int), np.array([48]), 12, factors[None, :])
    expected = 50.0 * factors[48:60]
    assert np.allclose(result.mean[:, 0, :], expected[None, :])
    assert np.allclose(result.insample_rmse, 0.0)
    assert np.allclose(result.step_scale[0], factors[48:60])


def moving_holiday_panel(n: int = 80, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly ISO history 2021-2024 of n SKUs: Poisson around a SKU level, x2.5 in the week before
    the one holding US Mother's Day (ISO week 17 in 2021-2022, 18 in 2023-2024), x3 in the two weeks before Christmas."""
    rng = np.random.default_rng(seed)
    weeks = mondays("2021-01-04", 190)
    labels = event_weeks(weeks, US_RETAIL_EVENTS)
    factor = np.ones(weeks.size)
    for label, value in (("mothers_day-1", 2.5), ("christmas-2", 3.0), ("christmas-1", 3.0)):
        factor[labels.key == labels.labels.index(label)] = value
    level = rng.uniform(20, 60, size=n)[:, None]
    y = rng.poisson(level * factor[None, :]).astype(float)
    return y, weeks, factor


def test_engine_picks_ses_events_and_forecasts_the_moving_holiday_in_the_right_week():
    y, weeks, factor = moving_holiday_panel()
    train_weeks = 169                                   # holdout from 2024-04-01: Mother's Day 2024
    train, actual = y[:, :train_weeks], y[:, train_weeks:train_weeks + 15]
    skus = np.array([f"s{i}" for i in range(y.shape[0])])
    start = np.zeros(y.shape[0], dtype=int)
    with_calendar = forecast_demand(skus, train, start, 15, week_starts=weeks[:train_weeks])
    without = forecast_demand(skus, train, start, 15)
    assert (with_calendar.model == "ses_events").mean() >= 0.9
    assert "ses_events" not in set(without.model)
    peak = int(np.flatnonzero(factor[train_weeks:] > 1)[0])
    assert str(weeks[train_weeks + peak]) == "2024-04-29"        # the week before 6-12 May
    ratio = with_calendar.mean[:, peak] / with_calendar.mean[:, peak + 2]
    assert np.median(ratio) == pytest.approx(2.5, rel=0.15)
    rmse_with = np.sqrt(((with_calendar.mean - actual) ** 2).mean())
    rmse_without = np.sqrt(((without.mean - actual) ** 2).mean())
    assert rmse_with < 0.8 * rmse_without
    # the interval widens with the event: the 80 % band at the peak is ~2.5x a plain week's
    width = with_calendar.hi80 - with_calendar.lo80
    assert np.median(width[:, peak] / width[:, peak + 2]) > 1.8


def test_calendar_factors_need_matching_weeks_and_an_event_in_history():
    y = np.ones((2, 10))
    with pytest.raises(ValueError, match="week_starts has 9 entries for 10 history columns"):
        calendar_factors(y, np.zeros(2, dtype=int), np.array([10]), 4, mondays("2023-03-06", 9),
                         US_RETAIL_EVENTS)
    # 10 weeks from 6 March 2023 hold Easter (9 April) but no event of an empty calendar
    assert calendar_factors(y, np.zeros(2, dtype=int), np.array([10]), 4, mondays("2023-03-06", 10), ()) is None


def test_each_history_week_is_adjusted_by_the_next_cuts_factors():
    """No cut sees factors estimated after it: weeks before cut 4 use cut 4's row, weeks 4-6 cut
    7's, weeks 7-9 cut 10's."""
    factors = np.array([[1.0] * 12, [2.0] * 12, [3.0] * 12])
    np.testing.assert_array_equal(adjustment_factors(factors, np.array([4, 7, 10]), 10),
                                  [1, 1, 1, 1, 2, 2, 2, 3, 3, 3])
