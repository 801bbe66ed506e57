"""Non-overlapping ADIDA / IMAPA, the mean method and the selection fallbacks.

Every vectorised function is checked against a plain per-series loop, a hand-worked series and
(when installed) statsforecast's ADIDA / IMAPA at the final cut.
"""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting.backtest import (
    Scores,
    beats_reference,
    no_evidence_choice,
    pooled_reference,
)
from safestock.models.forecasting.intermittent import (
    aggregate_forecasts,
    aggregation_levels,
    bucket_sums,
    mean_demand_intervals,
    ses_bucket_fit,
)
from safestock.models.forecasting.smoothing import mean_forecasts

FINE_ALPHAS = np.linspace(0.1, 0.3, 201)


# ----------------------------------------------------------------------------- references

def ref_mean_interval(series: list[float]) -> float:
    """statsforecast ``_intervals(x).mean()``: gaps between demands, the first counted from -1."""
    positions = [i for i, v in enumerate(series) if v > 0]
    if not positions:
        return float("nan")
    gaps = [positions[0] + 1] + [b - a for a, b in zip(positions, positions[1:])]
    return sum(gaps) / len(gaps)


def ref_ses(x: list[float], alphas: np.ndarray) -> tuple[float, float]:
    """Plain SES, l_0 = x_0, SSE over j >= 1, smallest-SSE alpha (first on ties): (forecast, sse)."""
    best = None
    for alpha in alphas:
        level, sse = x[0], 0.0
        for value in x[1:]:
            sse += (value - level) ** 2
            level += alpha * (value - level)
        if best is None or sse < best[1] - 1e-12:
            best = (level, sse)
    return best


def ref_aggregate(series: list[float], k: int, alphas: np.ndarray) -> float:
    """Forecast per week at aggregation level k: drop len % k oldest, bucket sums, SES, / k."""
    cut = series[len(series) % k:]
    sums = [sum(cut[i:i + k]) for i in range(0, len(cut), k)]
    return ref_ses(sums, alphas)[0] / k


def ref_adida_imapa(series: list[float], alphas: np.ndarray) -> tuple[float, float]:
    adi = ref_mean_interval(series)
    if np.isnan(adi):
        return 0.0, 0.0
    level = max(int(round(adi)), 1)
    per_k = [ref_aggregate(series, k, alphas) for k in range(1, level + 1)]
    return per_k[-1], float(np.mean(per_k))


def random_panel(seed: int, n: int = 25, weeks: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.9, size=(n, 1))
    y = (rng.uniform(size=(n, weeks)) < p) * rng.poisson(3.0, size=(n, weeks)).astype(float)
    start = rng.integers(0, 30, size=n)
    y[np.arange(weeks)[None, :] < start[:, None]] = 0.0
    y[0] = 0.0                                   # a SKU without any demand
    y[1, :] = 0.0
    y[1, 70] = 5.0                               # one late demand
    return y, start


# ----------------------------------------------------------------------------- vs loops

def test_mean_intervals_and_levels_match_loop() -> None:
    y, start = random_panel(1)
    cuts = np.array([40, 53, 66, 80])
    adi = mean_demand_intervals(y, start, cuts)
    levels = aggregation_levels(y, start, cuts)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            expected = ref_mean_interval(list(y[i, start[i]:c]))
            if np.isnan(expected):
                assert np.isnan(adi[i, j]) and levels[i, j] == 0
            else:
                assert adi[i, j] == pytest.approx(expected)
                assert levels[i, j] == max(int(round(expected)), 1)


def test_bucket_sums_match_loop() -> None:
    y, start = random_panel(2)
    k, n_buckets = 3, 30
    csum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y, axis=1)], axis=1)
    cut = np.full(y.shape[0], 77)
    sums, first = bucket_sums(csum, start, cut, k, n_buckets)
    for i in range(y.shape[0]):
        series = list(y[i, start[i]:77])
        trimmed = series[len(series) % k:]
        expected = [sum(trimmed[b:b + k]) for b in range(0, len(trimmed), k)]
        assert first[i] == n_buckets - len(expected)
        np.testing.assert_allclose(sums[i, first[i]:], expected)
        assert np.all(sums[i, :first[i]] == 0.0)


def test_ses_bucket_fit_matches_loop() -> None:
    rng = np.random.default_rng(3)
    sums = rng.poisson(4.0, size=(12, 9)).astype(float)
    first = rng.integers(0, 8, size=12)
    sums[np.arange(9)[None, :] < first[:, None]] = 0.0
    alphas = np.array([0.1, 0.2, 0.3])
    level, sse, count = ses_bucket_fit(sums, first, alphas)
    for i in range(12):
        expected_level, expected_sse = ref_ses(list(sums[i, first[i]:]), alphas)
        assert level[i] == pytest.approx(expected_level)
        assert sse[i] == pytest.approx(expected_sse)
        assert count[i] == 9 - first[i] - 1


def test_adida_imapa_match_per_series_loop_at_every_cut() -> None:
    y, start = random_panel(4)
    cuts = np.array([41, 54, 67, 80])
    alphas = np.array([0.1, 0.15, 0.2, 0.25, 0.3])
    adida, imapa = aggregate_forecasts(y, start, cuts, 5, alphas=alphas)
    for i in range(y.shape[0]):
        for j, c in enumerate(cuts):
            expected_adida, expected_imapa = ref_adida_imapa(list(y[i, start[i]:c]), alphas)
            np.testing.assert_allclose(adida.mean[i, j], expected_adida, atol=1e-10)
            np.testing.assert_allclose(imapa.mean[i, j], expected_imapa, atol=1e-10)
    assert np.all(adida.valid == ((cuts[None, :] - start[:, None]) >= 2))


def test_adida_only_mode_matches_full_pass() -> None:
    y, start = random_panel(5)
    cuts = np.array([50, 63, 80])
    full, _ = aggregate_forecasts(y, start, cuts, 3)
    only, none = aggregate_forecasts(y, start, cuts, 3, imapa=False)
    assert none is None
    np.testing.assert_allclose(only.mean, full.mean)
    np.testing.assert_allclose(only.insample_rmse, full.insample_rmse)


def test_forecast_at_a_cut_ignores_later_data() -> None:
    y, start = random_panel(6)
    cuts = np.array([45, 80])
    before, _ = aggregate_forecasts(y, start, cuts, 4)
    changed = y.copy()
    changed[:, 45:] = 50.0
    after, _ = aggregate_forecasts(changed, start, cuts, 4)
    np.testing.assert_allclose(before.mean[:, 0], after.mean[:, 0])
    np.testing.assert_allclose(before.insample_rmse[:, 0], after.insample_rmse[:, 0])


# ----------------------------------------------------------------------------- by hand

def test_hand_worked_twelve_weeks_level_three() -> None:
    # demands at weeks 2, 4, 9, 11 -> intervals 3, 2, 5, 2 -> mean 3 -> k = 3;
    # 12 % 3 = 0, buckets [3, 1, 0, 6]; SES alpha 0.1: l = 3, 2.8, 2.52, 2.52 + 0.1 * 3.48 = 2.868
    # (SSE 4 + 2.8^2 + 3.48^2 = 23.9504 beats alpha 0.3: 4 + 2.4^2 + 4.32^2 = 28.4224)
    y = np.array([[0, 0, 3, 0, 1, 0, 0, 0, 0, 2, 0, 4]], dtype=float)
    start = np.array([0])
    alphas = np.array([0.1, 0.3])
    adida, imapa = aggregate_forecasts(y, start, np.array([10, 12]), 2, alphas=alphas)
    assert adida.mean[0, 1, 0] == pytest.approx(2.868 / 3)
    # k = 2: buckets [0, 3, 1, 0, 2, 4]; alpha 0.3 (SSE 20.36 vs 24.66 at 0.1):
    #   l = 0, 0.9, 0.93, 0.651, 1.0557, 1.93899 -> 0.969495 per week
    # k = 1: alpha 0.1 (SSE 26.52 vs 27.01 at 0.3): l = 0, 0, 0.3, 0.27, 0.343, 0.3087, 0.27783,
    #   0.250047, 0.2250423, 0.40253807, 0.36228426, 0.72605584
    assert imapa.mean[0, 1, 0] == pytest.approx((0.72605584 + 0.969495 + 2.868 / 3) / 3, abs=1e-6)
    # cut 10: demands at 2, 4, 9 -> mean interval 10/3 -> k = 3; 10 % 3 = 1 week dropped so the
    # buckets [1, 4), [4, 7), [7, 10) = [3, 1, 2] end at the cut; alpha 0.3 (SSE 4 + 0.4^2 = 4.16
    # vs 4 + 0.8^2 = 4.64 at 0.1): l = 3, 2.4, 2.28
    assert adida.mean[0, 0, 0] == pytest.approx(2.28 / 3)


def test_mean_method_by_hand_and_loop() -> None:
    y = np.array([[0, 4, 2, 6, 0, 3], [0, 0, 1, 0, 2, 0]], dtype=float)
    start = np.array([1, 2])
    fc = mean_forecasts(y, start, np.array([4, 6]), 2)
    # SKU 0: cut 4 -> mean(4, 2, 6) = 4; errors 2 - 4 = -2, 6 - 3 = 3 -> rmse sqrt(13 / 2)
    assert fc.mean[0, 0, 0] == pytest.approx(4.0)
    assert fc.insample_rmse[0, 0] == pytest.approx(np.sqrt(13 / 2))
    assert fc.mean[0, 1, 1] == pytest.approx(3.0)
    # SKU 1: cut 6 -> mean(1, 0, 2, 0) = 0.75
    assert fc.mean[1, 1, 0] == pytest.approx(0.75)
    rng = np.random.default_rng(7)
    y = rng.poisson(2.0, size=(6, 30)).astype(float)
    start = rng.integers(0, 10, size=6)
    y[np.arange(30)[None, :] < start[:, None]] = 0.0
    cuts = np.array([15, 22, 30])
    fc = mean_forecasts(y, start, cuts, 1)
    for i in range(6):
        for j, c in enumerate(cuts):
            series = y[i, start[i]:c]
            assert fc.mean[i, j, 0] == pytest.approx(series.mean())
            errors = [series[t] - series[:t].mean() for t in range(1, series.size)]
            assert fc.insample_rmse[i, j] == pytest.approx(np.sqrt(np.mean(np.square(errors))))


# ----------------------------------------------------------------------------- statsforecast

def test_matches_statsforecast_adida_imapa_at_final_cut() -> None:
    models = pytest.importorskip("statsforecast.models")
    y, start = random_panel(8, n=20, weeks=120)
    # max_level: statsforecast does not cap the level (the engine caps it at 52 weeks)
    adida, imapa = aggregate_forecasts(y, start, np.array([120]), 3, alphas=FINE_ALPHAS, max_level=1000)
    checked = 0
    for i in range(y.shape[0]):
        series = y[i, start[i]:]
        if not (series > 0).any() or round(series.size / (series > 0).sum()) > series.size / 3:
            # < 3 buckets at some level: the SSE does not depend on alpha (0 or 1 error), the
            # golden section and the grid (smallest alpha on ties) may stop anywhere in [0.1, 0.3]
            continue
        expected_adida = models.ADIDA().forecast(series, 3)["mean"][0]
        expected_imapa = models.IMAPA().forecast(series, 3)["mean"][0]
        # statsforecast optimises alpha by golden section on [0.1, 0.3]; here a 0.001 grid
        assert adida.mean[i, 0, 0] == pytest.approx(expected_adida, rel=1e-2, abs=1e-6)
        assert imapa.mean[i, 0, 0] == pytest.approx(expected_imapa, rel=1e-2, abs=1e-6)
        checked += 1
    assert checked >= 15


# ----------------------------------------------------------------------------- selection rules

def _scores(rmsse: np.ndarray, eligible: np.ndarray, per_origin: np.ndarray,
            final_valid: np.ndarray) -> Scores:
    names = ("ses", "combination", "adida")
    return Scores(names=names, rmsse=rmsse, mase=rmsse, wape=rmsse, bias=rmsse, eligible=eligible,
                  per_origin=per_origin, origin_used=eligible[:, :1].repeat(per_origin.shape[2], axis=1),
                  final_valid=final_valid)


def test_no_evidence_choice_uses_pooled_winner() -> None:
    rmsse = np.full((2, 3), np.nan)
    eligible = np.zeros((2, 3), dtype=bool)
    per_origin = np.full((2, 3, 4), np.nan)
    final_valid = np.array([[True, True, True], [True, True, False]])
    prior = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.7]])
    scores = _scores(rmsse, eligible, per_origin, final_valid)
    assert list(no_evidence_choice(scores, prior, "ses")) == [2, 1]
    # without a finite prior (no established SKU in the class): the group default
    assert list(no_evidence_choice(scores, np.full((2, 3), np.nan), "ses")) == [0, 0]


def test_pooled_reference_and_paired_evidence() -> None:
    per_origin = np.array([
        [[0.50, 0.40, 0.45, 0.42], [0.60, 0.61, 0.62, 0.63], [0.70, 0.71, 0.72, 0.73]],
        [[0.90, 0.91, 0.92, 0.93], [0.80, 0.81, 0.82, 0.83], [0.60, 0.61, 0.62, 0.63]],
    ])
    rmsse = per_origin.mean(axis=2)
    eligible = np.ones((2, 3), dtype=bool)
    scores = _scores(rmsse, eligible, per_origin, eligible)
    prior = np.array([[0.8, 0.75, 0.7], [0.8, 0.75, 0.7]])      # adida: the group's winner
    reference = pooled_reference(scores, prior, "ses")
    assert list(reference) == [2, 2]
    allowed = beats_reference(per_origin, reference, eligible, z=1.5)
    # SKU 0: ses and the combination beat adida consistently; SKU 1: nothing beats adida
    assert allowed[0].tolist() == [True, True, True]
    assert allowed[1].tolist() == [False, False, True]
