"""The demo generator's per-SKU generating parameters (shared by the data and the replenishment simulation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SkuParams:
    """Per-SKU generating parameters (arrays of length n_skus)."""

    demand_class: np.ndarray  # smooth | erratic | intermittent | lumpy | new | discontinued
    pattern: np.ndarray  # the demand process actually used (one of PATTERNS)
    rate: np.ndarray  # customer orders per day at trend/season level 1
    size_mean: np.ndarray
    size_shape: np.ndarray
    amp: np.ndarray
    phase: np.ndarray
    trend: np.ndarray
    shock_shape: np.ndarray
    start_day: np.ndarray  # first day with demand
    end_day: np.ndarray  # first day without demand (n_days when still selling)
