"""Gamma-Poisson shrunk occurrence rate (issue 14 (b), docs/forecasting.md round 11; not a default candidate)."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.forecasting.candidates import INTERMITTENT_CANDIDATES, run_candidates
from safestock.models.forecasting.rate_shrinkage import shrunk_rate_forecasts


def test_posterior_rate_worked_by_hand() -> None:
    # a sale of 4 every 4th week in weeks 0..36 (10 sales), then quiet: at the cut 52 the last 26
    # weeks (26..51) hold 3 sales (28, 32, 36). p_L = 10/52, z_L = 4, k0 = 2: evidence
    # n_W p_L = 26 * 10/52 = 5, Z = 5/7, p_hat = 5/7 * 3/26 + 2/7 * 10/52 = 0.137363, forecast 0.549451
    y = np.zeros((1, 52))
    y[0, 0:40:4] = 4.0
    fc = shrunk_rate_forecasts(y, np.array([0]), np.array([39, 52]), 3, prior_occurrences=np.array([2.0]))
    assert fc.mean[0, 1] == pytest.approx(np.full(3, (5 / 7 * 3 / 26 + 2 / 7 * 10 / 52) * 4), rel=1e-12)
    # at the cut 39 (weeks 13..38 hold 6 sales: 16, ..., 36; p_L = 10/39): evidence 26 * 10/39 = 6.667,
    # Z = 6.667 / 8.667, p_hat = Z * 6/26 + (1 - Z) * 10/39 = 0.236686, forecast 0.946746
    evidence = 26 * 10 / 39
    weight = evidence / (evidence + 2)
    assert fc.mean[0, 0, 0] == pytest.approx((weight * 6 / 26 + (1 - weight) * 10 / 39) * 4, rel=1e-12)
    assert fc.valid.all()


def test_after_a_quiet_spell_the_prior_pulls_toward_the_long_run_rate() -> None:
    """A SKU that sold 1 unit every 4th week for 2.5 years, then once in the last 26 weeks: the
    forecast lies between the recent rate (1/26) and the long-run rate (34/156) and moves toward the
    long-run rate as the prior weighs more occurrences (k0)."""
    y = np.zeros((1, 156))
    y[0, 0:130:4] = 1.0
    y[0, 140] = 1.0
    start, cuts = np.array([0]), np.array([156])
    by_prior = [shrunk_rate_forecasts(y, start, cuts, 1, prior_occurrences=np.array([k0])).mean[0, 0, 0]
                for k0 in (0.5, 2.0, 8.0, 1000.0)]
    assert 1 / 26 < by_prior[0] < by_prior[1] < by_prior[2] < by_prior[3] < 34 / 156
    assert by_prior[3] == pytest.approx(34 / 156, rel=0.01)
    # k0 = 8: evidence 26 * 34/156 = 5.667, Z = 5.667 / 13.667, p_hat = Z / 26 + (1 - Z) 34/156
    weight = 26 * 34 / 156 / (26 * 34 / 156 + 8)
    assert by_prior[2] == pytest.approx(weight / 26 + (1 - weight) * 34 / 156, rel=1e-12)


def test_not_offered_by_default_but_runnable_by_name() -> None:
    assert "shrunk_rate" not in INTERMITTENT_CANDIDATES
    y = np.zeros((2, 60))
    y[:, ::3] = 2.0
    out = run_candidates(("shrunk_rate",), y, np.array([0, 30]), np.array([47, 60]), 4, 52, None)
    # p_L = 1/3 (both SKUs), last 26 weeks 8 sales: the rate lies between 8/26 and 1/3, size 2
    got = out["shrunk_rate"].mean[:, -1, 0]
    assert np.all((got > 2 * 8 / 26) & (got < 2 / 3))
    assert not np.isnan(out["shrunk_rate"].insample_rmse[:, -1]).any()
