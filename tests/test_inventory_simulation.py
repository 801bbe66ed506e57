"""Monte Carlo of the (R, s, S) policy: achieved service within 2 points of target (fixed seed)."""

from __future__ import annotations

import numpy as np
import pytest

from models.inventory.simulation import (discrete_lead_time_pmf, evaluate_policy, pmf_moments, simulate_policy)

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
