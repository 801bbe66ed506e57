"""Classification cut-offs, model selection, interval coverage and edge cases of forecast_demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.forecasting import ForecastResult, forecast_demand
from safestock.models.forecasting.classify import abc_classes, classify_demand


def _alternating(weeks: int, low: float, high: float, every: int = 1) -> np.ndarray:
    """Demand on every ``every``-th week, sizes alternating low/high."""
    y = np.zeros(weeks)
    demand_weeks = np.arange(0, weeks, every)
    y[demand_weeks] = np.where(np.arange(demand_weeks.size) % 2 == 0, low, high)
    return y


def test_syntetos_boylan_cutoffs_on_constructed_series() -> None:
    weeks = 130
    rows = {
        "smooth": np.full(weeks, 10.0),                       # ADI 1, CV2 0
        "erratic": _alternating(weeks, 1.0, 10.0),            # ADI 1, CV2 (4.5/5.5)^2 = 0.669
        "intermittent": _alternating(weeks, 5.0, 5.0, 2),     # ADI 2, CV2 0
        "lumpy": _alternating(weeks, 1.0, 10.0, 2),           # ADI 2, CV2 0.669
        # sizes 1 / 5.5: CV2 = (2.25/3.25)^2 = 0.479 < 0.49 ; 1 / 5.8: (2.4/3.4)^2 = 0.498 >= 0.49
        "cv2_just_below": _alternating(weeks, 1.0, 5.5),
        "cv2_just_above": _alternating(weeks, 1.0, 5.8),
    }
    # ADI 130/100 = 1.30 < 1.32 (smooth) and 130/98 = 1.327 >= 1.32 (intermittent); last week has demand
    adi_below = np.zeros(weeks)
    adi_below[np.linspace(0, weeks - 1, 100).round().astype(int)] = 4.0
    adi_above = np.zeros(weeks)
    adi_above[np.linspace(0, weeks - 1, 98).round().astype(int)] = 4.0
    rows["adi_below"], rows["adi_above"] = adi_below, adi_above
    history = np.vstack(list(rows.values()))
    classes = classify_demand(history, np.zeros(len(rows), dtype=int))
    got = dict(zip(rows, classes.demand_class))
    assert got == {"smooth": "smooth", "erratic": "erratic", "intermittent": "intermittent",
                   "lumpy": "lumpy", "cv2_just_below": "smooth", "cv2_just_above": "erratic",
                   "adi_below": "smooth", "adi_above": "intermittent"}
    np.testing.assert_allclose(classes.adi[:4], [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(classes.cv2[1], (4.5 / 5.5) ** 2)


def test_new_and_inactive_classes() -> None:
    weeks = 60
    history = np.zeros((4, weeks))
    history[0, -10:] = 5.0                 # listed 10 weeks ago -> new
    history[1, :20] = 3.0                  # no sale in the last 26 weeks -> inactive
    history[3, :] = 7.0                    # smooth reference
    start = np.array([weeks - 10, 0, 0, 0])
    classes = classify_demand(history, start)
    assert list(classes.demand_class) == ["new", "inactive", "inactive", "smooth"]
    assert list(classes.history_weeks) == [10, 60, 60, 60]


def test_abc_and_xyz() -> None:
    # values 70, 10, 10, 5, 5 (total 100): share before = 0, .70, .80, .90, .95 -> A A B B C
    assert list(abc_classes(np.array([70.0, 10.0, 10.0, 5.0, 5.0]))) == ["A", "A", "B", "B", "C"]
    assert abc_classes(np.array([0.0, 0.0]))[0] == "C"
    weeks = 52
    rng = np.random.default_rng(1)
    history = np.vstack([np.full(weeks, 10.0),                              # CV 0 -> X
                         np.where(np.arange(weeks) % 2 == 0, 5.0, 15.0),    # CV 0.5 -> Y
                         _alternating(weeks, 1.0, 1.0, 4),                  # CV sqrt(3) -> Z
                         rng.poisson(50, weeks).astype(float)])
    classes = classify_demand(history, np.zeros(4, dtype=int), np.array([1.0, 1.0, 1.0, 100.0]))
    assert list(classes.xyz) == ["X", "Y", "Z", "X"]
    assert classes.abc[3] == "A"


def _seasonal_panel(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(156)
    profile = 1.0 + 0.7 * np.sin(2 * np.pi * t / 52)
    return rng.poisson(200.0 * profile, size=(n, t.size)).astype(float)


def test_selection_picks_seasonal_model_on_seasonal_series() -> None:
    y = _seasonal_panel(3, seed=3)
    result = forecast_demand(np.array(["a", "b", "c"]), y, np.zeros(3, dtype=int), 26)
    assert set(result.model) <= {"seasonal_ses", "seasonal_naive"}
    acc = result.accuracy.set_index(["sku", "model"])
    assert acc.loc[("a", "seasonal_ses"), "rmsse"] < acc.loc[("a", "combination"), "rmsse"]
    assert acc.loc[("a", "seasonal_ses"), "rmsse"] < acc.loc[("a", "ses"), "rmsse"]
    assert acc.groupby("sku")["selected"].sum().eq(1).all()


def test_selection_picks_intermittent_model_on_intermittent_series() -> None:
    rng = np.random.default_rng(5)
    n, weeks = 4, 156
    occurs = rng.uniform(size=(n, weeks)) < 0.15
    y = occurs * rng.poisson(4.0, size=(n, weeks)).clip(min=1)
    y[:, 0] = 3.0
    result = forecast_demand(np.arange(n).astype(str), y.astype(float), np.zeros(n, dtype=int), 13)
    assert set(result.classes["demand_class"]) <= {"intermittent", "lumpy"}
    # "combination" here is the equal-weight mean of SBA, TSB and SES; ADIDA (temporal
    # aggregation) and the mean method are intermittent-demand candidates since round 4
    assert set(result.model) <= {"croston", "sba", "tsb", "combination", "adida", "mean"}
    assert set(result.family) <= {"poisson", "negbin"}
    assert set(result.accuracy["model"]) == {"croston", "sba", "tsb", "ses", "combination", "adida", "mean"}


def test_interval_coverage_on_known_distribution() -> None:
    # iid Normal(100, 15): the 80 % / 95 % backtest coverage and the coverage of fresh draws
    # by the final intervals must be close to nominal.
    rng = np.random.default_rng(11)
    n, weeks = 300, 156
    y = rng.normal(100.0, 15.0, size=(n, weeks)).clip(min=0)
    result = forecast_demand(np.arange(n).astype(str), y, np.zeros(n, dtype=int), 13)
    smooth = result.coverage.set_index("demand_class").loc["smooth"]
    assert smooth["series"] == n
    assert abs(smooth["coverage80"] - 0.80) < 0.03
    assert abs(smooth["coverage95"] - 0.95) < 0.02
    future = rng.normal(100.0, 15.0, size=(n, 13))
    inside80 = ((future >= result.lo80) & (future <= result.hi80)).mean()
    inside95 = ((future >= result.lo95) & (future <= result.hi95)).mean()
    assert abs(inside80 - 0.80) < 0.04
    assert abs(inside95 - 0.95) < 0.03
    np.testing.assert_allclose(result.sd.mean(), 15.0, rtol=0.15)


def test_count_intervals_on_poisson_series() -> None:
    rng = np.random.default_rng(12)
    n, weeks = 200, 156
    rate = 0.4
    y = rng.poisson(rate, size=(n, weeks)).astype(float)
    y[:, 0] = 1.0
    result = forecast_demand(np.arange(n).astype(str), y, np.zeros(n, dtype=int), 13)
    count_rows = np.isin(result.family, ["poisson", "negbin"])
    assert count_rows.mean() > 0.9
    np.testing.assert_allclose(result.mean[count_rows].mean(), rate, rtol=0.1)
    # Poisson(0.4): P(Y <= 1) = 0.938, P(Y <= 2) = 0.992 -> hi80 = 1, hi95 = 2 for most SKUs
    assert np.median(result.hi95[count_rows]) == 2
    assert np.median(result.hi80[count_rows]) == 1
    # P(0) = 0.67: the 80 % band starts at 0 (the hurdle model gives lo80 = 1 only where the
    # forecast is close to the typical size, i.e. demand nearly every week: 1 SKU of 200 here)
    assert (result.lo80[count_rows] == 0).mean() >= 0.99


def _check_shapes(result: ForecastResult, n: int, horizon: int) -> None:
    for name in ("mean", "sd", "lo80", "hi80", "lo95", "hi95"):
        arr = getattr(result, name)
        assert arr.shape == (n, horizon), name
        assert np.isfinite(arr).all(), name
        assert (arr >= 0).all(), name
    assert (result.lo95 <= result.lo80 + 1e-12).all() and (result.lo80 <= result.hi80 + 1e-12).all()
    assert (result.hi80 <= result.hi95 + 1e-12).all()
    assert result.model.shape == (n,) and result.family.shape == (n,)
    assert set(result.family) <= {"normal", "poisson", "negbin"}
    assert len(result.classes) == n


def test_single_sku() -> None:
    y = _seasonal_panel(1, seed=9)
    result = forecast_demand(np.array(["only"]), y, np.array([0]), 26)
    _check_shapes(result, 1, 26)
    assert result.classes["demand_class"].iloc[0] == "smooth"


@pytest.mark.parametrize("weeks_seen", [0, 1, 2, 3])
def test_short_history_and_all_zero(weeks_seen: int) -> None:
    weeks = 40
    y = np.zeros((3, weeks))
    y[0, weeks - weeks_seen:] = [4.0, 6.0, 5.0][:weeks_seen]
    y[2] = np.random.default_rng(0).poisson(20, weeks)
    start = np.array([weeks - weeks_seen, 0, 0])
    result = forecast_demand(np.array(["short", "zeros", "ok"]), y, start, 26)
    _check_shapes(result, 3, 26)
    classes = list(result.classes["demand_class"])
    assert classes[1] == "inactive"
    assert result.mean[1].sum() == 0 and result.sd[1].sum() == 0 and result.hi95[1].sum() == 0
    if weeks_seen == 0:
        assert classes[0] == "inactive"
    else:
        assert classes[0] == "new"
        # first week excluded, shrunk toward rho x first week (rho pooled over listed SKUs, here
        # the SKU itself): 1 week -> 4 (no pool), 2 -> (6 + 1.5*4)/2, 3 -> (11 + 1.375*4)/3
        np.testing.assert_allclose(result.mean[0], {1: 4.0, 2: 6.0, 3: 5.5}[weeks_seen])
        assert result.model[0] == "new_mean" and (result.sd[0] > 0).all()
    # T < season_length: no seasonal candidates anywhere
    assert not result.accuracy["model"].str.startswith("seasonal").any()


def test_columns_before_start_are_ignored() -> None:
    y = _seasonal_panel(2, seed=21)[:, :120]
    start = np.array([30, 0])
    clean = y.copy()
    clean[0, :30] = 0.0
    noisy = y.copy()
    noisy[0, :30] = 1e6
    a = forecast_demand(np.array(["x", "y"]), clean, start, 13)
    b = forecast_demand(np.array(["x", "y"]), noisy, start, 13)
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_allclose(a.hi95, b.hi95)
    assert a.classes["history_weeks"].tolist() == [90, 120]


def test_frames_follow_contract() -> None:
    rng = np.random.default_rng(4)
    y = np.vstack([_seasonal_panel(2, seed=2), (rng.uniform(size=(2, 156)) < 0.2) * 5.0])
    y[2:, 0] = 5.0
    result = forecast_demand(np.array(list("abcd")), y, np.zeros(4, dtype=int), 26,
                             unit_value=np.array([1.0, 2.0, 3.0, 4.0]))
    assert list(result.classes.columns) == ["sku", "demand_class", "adi", "cv2", "abc", "xyz",
                                            "history_weeks", "demand_value"]
    assert list(result.accuracy.columns) == ["sku", "model", "rmsse", "mase", "wape", "bias", "eligible",
                                             "selected"]
    assert not result.accuracy.loc[result.accuracy["rmsse"].isna(), "eligible"].any()
    assert list(result.coverage.columns) == ["demand_class", "series", "coverage80", "coverage95",
                                             "pit_coverage80", "pit_coverage95", "window_coverage80",
                                             "window_coverage95", "level_error_weeks"]
    chosen = result.accuracy[result.accuracy["selected"]].set_index("sku")["model"]
    assert chosen.reindex(list("abcd")).tolist() == list(result.model)
    assert isinstance(result.coverage, pd.DataFrame) and len(result.coverage) >= 2


def test_count_quantiles_match_scipy() -> None:
    from safestock.models.forecasting.intervals import (
        _closed_form_quantile,
        count_quantiles,
    )
    from scipy import stats

    # includes means whose P(0) underflows (800 Poisson, NB with r ln(phi) > 700)
    mu = np.array([0.0, 0.05, 0.4, 1.3, 7.0, 55.0, 300.0, 800.0, 0.7, 3.0, 40.0, 2000.0])
    phi = np.array([1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 1.0, 1.0, 2.5, 6.0, 15.0, 1.5])
    levels = (0.025, 0.1, 0.9, 0.975)
    table = count_quantiles(levels, mu, phi)
    for i, level in enumerate(levels):
        got = table[i]
        np.testing.assert_array_equal(_closed_form_quantile(level, mu[mu > 0], phi[mu > 0]), got[mu > 0])
        poisson = phi <= 1.1
        expected = np.where(poisson, stats.poisson.ppf(level, mu),
                            stats.nbinom.ppf(level, mu / np.where(poisson, 1.0, phi - 1.0), 1.0 / phi))
        expected[mu == 0] = 0.0
        np.testing.assert_array_equal(got, expected)


def test_reference_kept_without_paired_evidence() -> None:
    from safestock.models.forecasting.backtest import beats_reference

    # model 0 better at every origin by a steady margin (allowed); model 1 better on average but
    # only thanks to one origin (not allowed); model 2 = the reference
    per_origin = np.array([[[0.80, 0.82, 0.79, 0.81], [0.2, 1.3, 1.2, 1.2], [1.0, 1.0, 1.0, 1.0]]])
    allowed = beats_reference(per_origin, np.array([2]), np.ones((1, 3), dtype=bool), z=1.5)
    assert allowed.tolist() == [[True, False, True]]
