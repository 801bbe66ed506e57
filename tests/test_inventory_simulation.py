"""Monte Carlo of the (R, s, S) policy: achieved service within 2 points of target (fixed seed)."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.inventory.simulation import (
    discrete_lead_time_pmf,
    evaluate_policy,
    pmf_moments,
    sequential_lead_times,
    simulate_policy,
)

TOLERANCE = 0.02


@pytest.mark.parametrize("service_level_type, metric", [("cycle", "cycle_service"), ("fill_rate", "fill_rate")])
def test_achieved_service_within_tolerance_of_target(service_level_type: str, metric: str) -> None:
    summary = evaluate_policy(kinds=("normal", "negbin"), lead_time_cvs=(0.0, 0.25), targets=(0.90, 0.95),
                              service_level_type=service_level_type, skus_per_cell=150, weeks=312, seed=7)
    gap = (summary[metric] - summary["target"]).abs()
    assert (gap <= TOLERANCE).all(), summary[["demand", "lead_time_cv", "target", metric]].to_string()


def test_textbook_reorder_point_over_achieves() -> None:
    # s on demand over L + R ignores the undershoot: at least the target, and clearly above it
    summary = evaluate_policy(kinds=("normal",), lead_time_cvs=(0.0,), targets=(0.90,), skus_per_cell=150,
                              weeks=312, seed=7, undershoot_correction=False)
    assert summary.loc[0, "cycle_service"] > 0.90 + 2 * TOLERANCE


def test_simulation_mechanics_deterministic_case() -> None:
    # demand 10/week, L = 2, s = 25, S = 45, weekly review: orders of 20 every 2 weeks, never short
    demand = np.full((1, 60), 10.0)
    result = simulate_policy(np.array([25.0]), np.array([45.0]), demand, np.full((1, 60), 2), warmup_weeks=10)
    assert result.fill_rate[0] == 1.0 and result.cycle_service[0] == 1.0
    assert result.cycles[0] == 25  # one receipt every other week over 50 weeks
    # s too low for the lead time: every cycle ends short
    short = simulate_policy(np.array([5.0]), np.array([25.0]), demand, np.full((1, 60), 2), warmup_weeks=10)
    assert short.cycle_service[0] == 0.0 and short.fill_rate[0] < 1.0


def test_discrete_lead_time_moments() -> None:
    assert pmf_moments(discrete_lead_time_pmf(4.0, 0.0)) == (4.0, 0.0)
    mean, sd = pmf_moments(discrete_lead_time_pmf(4.0, 0.5))
    assert mean == pytest.approx(4.0, abs=0.1) and sd == pytest.approx(2.0, abs=0.15)


def _assert_in_order(arrivals: np.ndarray) -> None:
    for row in arrivals:
        placed = row[~np.isnan(row)]
        assert placed.size > 0 and (np.diff(placed) >= 0).all(), placed


def test_receipts_never_cross() -> None:
    # an order placed in week 0 with lead time 6, then week 1 with lead time 0: the second one
    # would arrive first; the simulator holds it to the first order's arrival (week 7)
    demand = np.full((1, 12), 10.0)
    leads = np.array([[6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    result = simulate_policy(np.array([125.0]), np.array([130.0]), demand, leads, warmup_weeks=0)
    arrivals = result.arrival_weeks[0]
    assert arrivals[0] == 7 and arrivals[1] == 7 and arrivals[7] == 8
    assert result.effective_lead_times[0, 1] == 5
    assert (arrivals[:7] == 7).all() and result.cycles[0] == 5  # weeks 0-6 arrive together: one receipt
    _assert_in_order(result.arrival_weeks)
    crossed = simulate_policy(np.array([125.0]), np.array([130.0]), demand, leads, warmup_weeks=0,
                              allow_crossover=True)
    assert crossed.arrival_weeks[0, 1] == 2 < crossed.arrival_weeks[0, 0]


def test_receipts_never_cross_random_lead_times() -> None:
    # i.i.d. lead times with CV 0.5 cross often; the simulator never lets them
    rng = np.random.default_rng(3)
    pmf = discrete_lead_time_pmf(4.0, 0.5)
    demand = rng.poisson(5.0, (300, 200)).astype(float)
    leads = rng.choice(len(pmf), size=(300, 200), p=pmf)
    reorder, order_up_to = np.full(300, 25.0), np.full(300, 35.0)
    _assert_in_order(simulate_policy(reorder, order_up_to, demand, leads).arrival_weeks)
    crossed = simulate_policy(reorder, order_up_to, demand, leads, allow_crossover=True).arrival_weeks
    assert any((np.diff(row[~np.isnan(row)]) < 0).any() for row in crossed)


@pytest.mark.parametrize("cv", [0.0, 0.25, 0.5])
def test_sequential_lead_times_in_order_with_stated_moments(cv: float) -> None:
    pmf = discrete_lead_time_pmf(4.0, cv)
    leads = sequential_lead_times(pmf, 4000, 80, np.random.default_rng(0))
    assert (np.diff(np.arange(80) + leads, axis=1) >= 0).all()  # arrival weeks never decrease
    # the marginal of every week is the stated distribution (week 0 included: stationary start)
    for week in (0, 40):
        frequencies = np.bincount(leads[:, week], minlength=len(pmf))[: len(pmf)] / 4000
        assert np.abs(frequencies - pmf).max() < 0.03
    mean, sd = pmf_moments(pmf)
    assert leads.mean() == pytest.approx(mean, abs=0.05) and leads.std() == pytest.approx(sd, abs=0.05)


def test_evaluate_policy_reports_effective_lead_time() -> None:
    summary = evaluate_policy(kinds=("normal",), lead_time_cvs=(0.5,), targets=(0.95,), skus_per_cell=100,
                              weeks=208, seed=1)
    row = summary.iloc[0]
    assert row["lead_time_model"] == "sequential"
    assert row["effective_lead_time_mean"] == pytest.approx(row["lead_time_mean"], rel=0.05)
    assert row["effective_lead_time_cv"] == pytest.approx(row["lead_time_cv_stated"], abs=0.05)
    capped = evaluate_policy(kinds=("normal",), lead_time_cvs=(0.5,), targets=(0.95,), skus_per_cell=100,
                             weeks=208, seed=1, lead_time_model="capped").iloc[0]
    assert capped["effective_lead_time_mean"] > row["lead_time_mean"] + 0.2  # delays lengthen lead times
