"""Point-forecast accuracy measures, vectorised over SKUs and backtest origins.

M5 guidelines (Makridakis, Spiliotis & Assimakopoulos 2022, "M5 accuracy competition",
IJF 38): RMSSE = sqrt( mean_h (y - f)^2 / scale ), scale = mean over the training window of
the squared one-step naive differences ``(y_t - y_{t-1})^2``. MASE (Hyndman & Koehler 2006)
uses the mean absolute one-step naive difference. When a scale is 0 (constant training
window) it falls back to the mean of ``y^2`` (resp. ``|y|``) in the window, then to 1.

WAPE = sum |y - f| / sum y per origin (NaN when no demand in the window).
Bias = mean_h (f - y) / (mean training demand): positive = over-forecast, in units of the
SKU's own mean demand so it is comparable across SKUs (NaN when the training mean is 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainingScales:
    """(n, n_cuts) per-SKU scales over the training window [start, c)."""

    squared: np.ndarray     # RMSSE denominator
    absolute: np.ndarray    # MASE denominator
    mean_demand: np.ndarray  # bias denominator


def training_scales(y: np.ndarray, start: np.ndarray, cuts: np.ndarray) -> TrainingScales:
    """Naive-difference scales for every SKU and cut (see module docstring)."""
    n, n_columns = y.shape
    cuts = np.asarray(cuts, dtype=np.int64)
    cols = np.arange(n_columns)[None, :]
    diff = np.zeros_like(y)
    diff[:, 1:] = np.diff(y, axis=1)
    diff[cols <= start[:, None]] = 0.0
    in_history = cols >= start[:, None]
    level = np.where(in_history, y, 0.0)

    def before(values: np.ndarray) -> np.ndarray:
        csum = np.concatenate([np.zeros((n, 1)), np.cumsum(values, axis=1)], axis=1)
        return csum[:, cuts]

    n_diff = np.maximum(cuts[None, :] - start[:, None] - 1, 0)
    n_obs = np.maximum(cuts[None, :] - start[:, None], 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = before(diff * diff) / np.maximum(n_diff, 1)
        absolute = before(np.abs(diff)) / np.maximum(n_diff, 1)
        mean_demand = before(level) / np.maximum(n_obs, 1)
        mean_square = before(level * level) / np.maximum(n_obs, 1)
    squared = np.where(squared > 0, squared, np.where(mean_square > 0, mean_square, 1.0))
    absolute = np.where(absolute > 0, absolute, np.where(mean_demand > 0, mean_demand, 1.0))
    return TrainingScales(squared=squared, absolute=absolute, mean_demand=mean_demand)


@dataclass(frozen=True)
class OriginAccuracy:
    """(n, n_origins) accuracy of one model at each backtest origin."""

    rmsse: np.ndarray
    mase: np.ndarray
    wape: np.ndarray
    bias: np.ndarray


def origin_accuracy(actual: np.ndarray, forecast: np.ndarray, scales: TrainingScales) -> OriginAccuracy:
    """Accuracy per SKU and origin. actual, forecast: (n, K, h); scales fields: (n, K)."""
    err = forecast - actual
    with np.errstate(divide="ignore", invalid="ignore"):
        rmsse = np.sqrt(np.mean(err * err, axis=2) / scales.squared)
        abs_err = np.abs(err)
        mase = abs_err.mean(axis=2) / scales.absolute
        total = actual.sum(axis=2)
        wape = np.where(total > 0, abs_err.sum(axis=2) / np.where(total > 0, total, 1.0), np.nan)
        md = scales.mean_demand
        bias = np.where(md > 0, err.mean(axis=2) / np.where(md > 0, md, 1.0), np.nan)
    return OriginAccuracy(rmsse=rmsse, mase=mase, wape=wape, bias=bias)


def mean_over_origins(values: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Mean over axis 1 of ``values`` where ``use`` and finite; NaN when nothing is used."""
    ok = use & np.isfinite(values)
    count = ok.sum(axis=1)
    total = np.where(ok, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
