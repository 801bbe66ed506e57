"""Paired bootstrap comparison of benchmarks/forecast_accuracy.py (engine vs the best peer per class)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmark_scripts import benchmark_module

fa = benchmark_module("forecast_accuracy")


def test_constant_difference_gives_a_point_interval() -> None:
    assert fa.paired_bootstrap_ci(np.full(50, 0.5)) == (pytest.approx(0.5), pytest.approx(0.5))


def test_interval_matches_the_normal_approximation() -> None:
    sample = np.random.default_rng(42).normal(1.0, 1.0, size=400)
    lo, hi = fa.paired_bootstrap_ci(sample, draws=2000, seed=0)
    assert lo < 1.0 < hi
    assert hi - lo == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.25)
    assert fa.paired_bootstrap_ci(sample) == (lo, hi)   # fixed seed: reproducible


def test_verdicts() -> None:
    half = np.random.default_rng(1).normal(0.0, 1.0, size=100)
    mean, lo, hi, verdict = fa.paired_comparison(np.concatenate([half, -half]))   # symmetric about 0
    assert verdict == "tie" and lo < 0 < hi and mean == pytest.approx(0.0, abs=1e-12)
    assert fa.paired_comparison(np.random.default_rng(2).normal(0.3, 0.1, size=100))[3] == "worse"
    assert fa.paired_comparison(np.random.default_rng(3).normal(-0.3, 0.1, size=100))[3] == "better"
    assert fa.paired_comparison(np.full(5, 1.0))[3] == "too few SKUs"
    assert fa.paired_comparison(np.array([]))[3] == "too few SKUs"
