"""Compound (occurrences x sizes) interval demand: pmf, quantiles and loss against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.inventory import PolicyConfig
from safestock.models.inventory.compound import (
    compound_pmf,
    orders_seen,
    pmf_cdf,
    pmf_fill_rate_level,
    pmf_loss_curve,
    pmf_quantile,
    recent_sizes,
)
from safestock.models.inventory.policy import policy_levels


def _monte_carlo(lam: float, sizes: np.ndarray, c2: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    rate = rng.gamma(1.0 / c2, lam * c2, draws) if c2 > 0 else np.full(draws, lam)
    counts = rng.poisson(rate)
    picks = rng.choice(sizes, size=(draws, int(counts.max()) + 1))
    return np.where(np.arange(picks.shape[1])[None, :] < counts[:, None], picks, 0.0).sum(axis=1)


@pytest.mark.parametrize("sizes, lam, c2", [
    (np.array([1.0, 1, 2, 3]), 2.0, 0.0),                     # intermittent, small sizes
    (np.array([1.0, 2, 50, 120, 400]), 0.8, 0.25),            # lumpy: rare large orders, uncertain rate
    (np.array([5.0, 7, 9, 300, 2000, 15]), 3.0, 0.1),          # sizes that need a bucket width > 1
])
def test_compound_quantiles_match_monte_carlo(sizes: np.ndarray, lam: float, c2: float) -> None:
    rng = np.random.default_rng(7)
    sample = _monte_carlo(lam, sizes, c2, 200_000, rng)
    pmf, width = compound_pmf(np.array([lam * sizes.mean()]), sizes[None, :], np.array([c2]))
    grid = np.arange(pmf.shape[1]) * width[0]
    # sizes go to the bucket above: the mean is at most λ w high (exact when w = 1)
    slack = 0.0 if width[0] == 1 else lam * width[0]
    assert sample.mean() * 0.98 <= (pmf * grid).sum() <= sample.mean() * 1.02 + slack
    for p in (0.5, 0.8, 0.9, 0.95, 0.99):
        q = pmf_quantile(np.array([p]), pmf, width)[0]
        # the grid quantile sits where the MC cdf crosses p (bucketing rounds up by < width)
        assert (sample <= q).mean() >= p - 0.005
        assert (sample <= q - width[0] - 3 * slack - 1e-9).mean() <= p + 0.005 or q == 0
        if width[0] == 1:
            assert pmf_cdf(np.array([q]), pmf, width)[0] == pytest.approx((sample <= q).mean(), abs=0.01)
    loss0 = pmf_loss_curve(pmf, width)[0, 0]
    assert sample.mean() * 0.97 <= loss0 <= sample.mean() * 1.03 + slack


def test_compound_with_gamma_term_adds_its_moments() -> None:
    sizes = np.array([[2.0, 4.0, np.nan]])
    pmf, width = compound_pmf(np.array([6.0]), sizes, np.array([0.0]), np.array([3.0]), np.array([4.0]))
    grid = np.arange(pmf.shape[1]) * width[0]
    mean = (pmf * grid).sum()
    var = (pmf * grid**2).sum() - mean**2
    assert mean == pytest.approx(6.0 + 3.0, abs=0.6)          # gamma discretised upwards (≤ 1 unit)
    assert var == pytest.approx(2.0 * 10.0 + 4.0, rel=0.1)    # λ E[Z²] + Var U


def test_fill_rate_level_on_pmf_meets_its_definition() -> None:
    sizes = np.array([[1.0, 1, 3, 10]])
    pmf, width = compound_pmf(np.array([8.0]), sizes, np.array([0.2]))
    x = pmf_fill_rate_level(np.array([0.95]), np.array([12.0]), pmf, width)[0]
    curve = pmf_loss_curve(pmf, width)[0]
    short = lambda level: np.interp(level, np.arange(len(curve)) * width[0], curve) - np.interp(  # noqa: E731
        level + 12.0, np.arange(len(curve)) * width[0], curve)
    assert short(x) <= 0.05 * 12.0 + 1e-9 and short(x - 1) > 0.05 * 12.0


def test_sizes_and_orders_seen_respect_start() -> None:
    history = np.array([[5.0, 0, 3, 0, 0, 7], [9.0, 9, 0, 2, 0, 0]])
    sizes = recent_sizes(history, np.array([0, 2]), size_window=5)
    assert np.array_equal(np.sort(sizes[0][np.isfinite(sizes[0])]), [3.0, 7.0])
    assert np.array_equal(sizes[1][np.isfinite(sizes[1])], [2.0])
    assert orders_seen(history, np.array([0, 2]), weeks=6).tolist() == [3, 1]


def test_policy_levels_compound_is_opt_in_and_protects_lumpy_tail() -> None:
    n, h = 2, 26
    mean, var = np.full((n, h), 2.0), np.full((n, h), 2.0 * 40.0)
    args = (np.ones(n, bool), np.full(n, 4.0), np.zeros(n), np.ones(n), np.full(n, 0.95), np.full(n, np.nan),
            PolicyConfig())
    weekly = policy_levels(mean, var, *args)
    assert not weekly["compound"].any()
    sizes = np.array([[1.0, 1.0, 2.0, 36.0], [20.0, 20.0, 20.0, 20.0]])
    compound = policy_levels(mean, var, *args, sizes=sizes, rate_rel_var=np.zeros(n), compound=np.ones(n, bool))
    assert compound["compound"].all()
    # one order of 20 every 10 weeks: over 4 weeks + undershoot the 95 % level is a multiple of 20-ish
    assert compound["reorder_point"][1] >= 20.0
    assert np.all(np.isfinite(compound["reorder_point"]))


def test_level_error_widens_only_when_asked() -> None:
    n, h = 1, 26
    args = (np.zeros(n, bool), np.full(n, 6.0), np.zeros(n), np.ones(n), np.full(n, 0.95), np.full(n, np.nan),
            PolicyConfig())
    base = policy_levels(np.full((n, h), 10.0), np.full((n, h), 9.0), *args)
    wider = policy_levels(np.full((n, h), 10.0), np.full((n, h), 9.0), *args, level_error_weeks=13.0)
    assert wider["protection_var"][0] == pytest.approx(base["protection_var"][0] + (49 - 7) * 9.0 / 13.0)
    assert wider["reorder_point"][0] > base["reorder_point"][0]
