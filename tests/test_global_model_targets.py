"""Issue 17 targets for the global model (models/forecasting/global_model.py, backtest.py):
the sampled training rows are deterministic and lie before the cut, prediction in bounded
chunks changes nothing, the global model becomes a group's pooled reference only where its lead
holds over the backtest origins (elsewhere it replaces the reference only on a SKU's own paired
evidence) and it is offered to smooth/erratic SKUs only."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting import global_model as gm
from safestock.models.forecasting.backtest import (
    Scores,
    choose,
    no_evidence_choice,
    pooled_reference,
    reference_mask,
)
from safestock.models.forecasting.candidates import backtest_cuts


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer rows and trees: the behaviour under test does not depend on the model's size."""
    monkeypatch.setattr(gm, "TRAIN_ROWS", 6000)
    monkeypatch.setitem(gm.BOOSTING_PARAMS, "max_iter", 40)


def test_all_training_rows_when_few_worked_by_hand() -> None:
    # start 0, cut 16, 2 steps, 13 weeks of history needed: step 1 origins 13, 14, 15 (target
    # o < 16), step 2 origins 13, 14 (target o + 1 < 16); SKU 1 starts at 2: step 1 origin 15 only
    sku, origin, step = gm.training_rows(np.array([0, 2]), cut=16, steps=2, max_rows=100)
    rows = sorted(zip(sku.tolist(), origin.tolist(), step.tolist()))
    assert rows == [(0, 13, 1), (0, 13, 2), (0, 14, 1), (0, 14, 2), (0, 15, 1), (1, 15, 1)]


def test_sampled_training_rows_are_deterministic_and_before_the_cut() -> None:
    rng = np.random.default_rng(5)
    start = rng.integers(0, 80, 3000)
    first = gm.training_rows(start, cut=130, steps=26, max_rows=20_000)
    again = gm.training_rows(start.copy(), cut=130, steps=26, max_rows=20_000)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)                      # same starts and cut: same sample
    sku, origin, step = first
    assert sku.size == 20_000                                    # the stated number of rows
    assert np.all(origin + step - 1 < 130)                       # every target before the cut
    assert np.all(origin >= start[sku] + gm.MIN_HISTORY_WEEKS)   # 13 weeks of history at the origin
    assert np.all((step >= 1) & (step <= 26))
    other_cut = gm.training_rows(start, cut=117, steps=26, max_rows=20_000)
    assert not np.array_equal(other_cut[1], origin)              # each cut draws its own sample
    # uniform over SKUs and steps: every step drawn about 20,000 / 26 = 769 times
    counts = np.bincount(step, minlength=27)[1:]
    assert counts.min() > 600 and counts.max() < 950


def test_prediction_in_chunks_equals_one_pass(small_model: None, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    n, weeks = 90, 80
    y = rng.poisson(rng.uniform(1.0, 20.0, (n, 1)), (n, weeks)).astype(float)
    start = rng.integers(0, 20, n)
    cuts = backtest_cuts(weeks, 4, 13)
    whole = gm.global_forecasts(y, start, cuts, 26, origin_steps=13)
    monkeypatch.setattr(gm, "PREDICT_ROWS", 100)                 # 7 SKUs x 13 steps per chunk, 3 x 26
    chunked = gm.global_forecasts(y, start, cuts, 26, origin_steps=13)
    np.testing.assert_array_equal(chunked.mean, whole.mean)
    np.testing.assert_array_equal(chunked.valid, whole.valid)


def _scores(per_origin: np.ndarray, names: tuple[str, ...]) -> Scores:
    n, m, k = per_origin.shape
    eligible = np.ones((n, m), dtype=bool)
    return Scores(names=names, rmsse=per_origin.mean(axis=2), mase=per_origin.mean(axis=2),
                  wape=per_origin.mean(axis=2), bias=np.zeros((n, m)), eligible=eligible,
                  per_origin=per_origin, origin_used=np.ones((n, k), dtype=bool),
                  final_valid=eligible.copy())


def test_the_global_model_is_a_reference_only_where_its_lead_holds_over_the_origins() -> None:
    """Jewelry's case: in group A the global model has the smallest mean backtest RMSSE only
    through one origin (a Christmas origin: -0.45 there, +0.15 / -0.10 / +0.30 at the others), so
    it must not become the reference that A's SKUs keep without evidence; one SKU of A gains at
    every origin and takes it on its own paired evidence. In group B it leads at every origin
    and is the reference."""
    names = ("ses", "combination", gm.GLOBAL_MODEL)
    ses = np.ones(4)
    one_origin = np.stack([ses, ses + 0.05, ses + np.array([0.15, -0.10, -0.45, 0.30])])
    steady = np.stack([ses, ses + 0.05, ses - np.array([0.20, 0.22, 0.18, 0.21])])
    per_origin = np.stack([one_origin] * 30 + [steady] + [steady] * 30)      # A: rows 0-30, B: rows 31-60
    groups = np.array(["A"] * 31 + ["B"] * 30)
    scores = _scores(per_origin, names)
    prior = np.tile([1.0, 1.05, 0.99], (61, 1))                 # global has the smallest class mean
    allowed = reference_mask(per_origin, scores.eligible, prior, groups, names)
    # A: lead per origin (30 x one_origin + steady) / 31 = 0.139, -0.104, -0.441, 0.284: mean -0.031,
    # sd 0.32, 1.5 se = 0.24 -> not strong. B: -0.2025 with sd 0.017 (1.5 se = 0.013) -> strong.
    assert not allowed[:31, 2].any() and allowed[31:, 2].all()
    assert allowed[:, :2].all()                                  # the statistical models are unaffected
    reference = pooled_reference(scores, prior, "ses", allowed)
    assert (reference[:31] == 0).all() and (reference[31:] == 2).all()
    assert (no_evidence_choice(scores, prior, "ses", allowed) == reference).all()
    # per SKU in A: one_origin's paired diff -0.025 with se 0.16 keeps ses; the steady SKU
    # (-0.2025, se 0.0085) is replaced by the global model; B keeps its reference
    chosen = np.asarray(names)[choose(scores, prior, "ses", allowed)]
    assert (chosen[:30] == "ses").all() and chosen[30] == gm.GLOBAL_MODEL and (chosen[31:] == gm.GLOBAL_MODEL).all()
    # without the mask (before this rule) group A's SKUs all kept the global model as reference
    assert (np.asarray(names)[choose(scores, prior, "ses")][:30] == gm.GLOBAL_MODEL).all()


def test_engine_offers_the_global_model_to_smooth_and_erratic_skus_only(small_model: None) -> None:
    rng = np.random.default_rng(4)
    n, weeks = 80, 91
    level = rng.uniform(10.0, 40.0, (n, 1))
    y = rng.poisson(level, (n, weeks)).astype(float)
    y[60:] = (rng.random((20, weeks)) < 0.2) * rng.poisson(3.0, (20, weeks))      # intermittent SKUs
    skus = np.array([f"S{i}" for i in range(n)])
    result = forecast_demand(skus, y, np.zeros(n, dtype=np.int64), 13, global_model=True)
    classes = result.classes.set_index("sku")["demand_class"]
    offered = set(result.accuracy.loc[result.accuracy["model"] == gm.GLOBAL_MODEL, "sku"])
    assert offered and {classes[s] for s in offered} <= {"smooth", "erratic"}
    counted = set(classes[classes.isin(["intermittent", "lumpy"])].index)
    assert len(counted) >= 15 and not offered & counted


def test_choice_with_the_global_model_does_not_depend_on_the_chunk_size(
        small_model: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference rule, like the prior, is computed over all SKUs of a group, never per chunk."""
    from safestock.models.forecasting import engine

    rng = np.random.default_rng(6)
    n, weeks = 70, 117
    pulse = np.isin(np.arange(weeks) % 13, (0, 1))
    y = rng.poisson(rng.uniform(5.0, 30.0, (n, 1)) * np.where(pulse, 2.0, 1.0)).astype(float)
    y[::3] = rng.poisson(rng.uniform(5.0, 30.0, (24, 1)), (24, weeks))          # a third without the pulse
    skus = np.array([f"S{i}" for i in range(n)])
    start = np.zeros(n, dtype=np.int64)
    whole = forecast_demand(skus, y, start, 13, global_model=True)
    monkeypatch.setattr(engine, "CHUNK_SKUS", 9)
    chunked = forecast_demand(skus, y, start, 13, global_model=True)
    assert (whole.model == gm.GLOBAL_MODEL).any() and (whole.model != gm.GLOBAL_MODEL).any()
    np.testing.assert_array_equal(chunked.model, whole.model)
    np.testing.assert_array_equal(chunked.mean, whole.mean)
