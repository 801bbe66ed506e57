"""Shared containers and step masks for the vectorised forecasting recursions.

Conventions used by every model module
--------------------------------------
* ``y`` is an ``(n, T)`` float array of weekly demand; columns ``t < start[i]`` are not history
  for SKU ``i`` and are ignored (every recursion is masked there).
* A *cut* ``c`` is an exclusive end of training data: the model sees columns ``[start[i], c)``
  and forecasts columns ``c, c + 1, ...``. ``cuts`` holds the backtest origins followed by
  ``T`` (the final forecast). One pass over time serves every cut: the recursion states and
  the cumulative one-step squared errors are snapshotted at each cut, and the smoothing
  parameters are chosen per SKU *and per cut* from the grid by the in-sample one-step SSE up
  to that cut only. The rolling-origin backtest therefore re-fits parameters at every origin
  without leaking later data, at the cost of a single pass.
* Running-mean warm-up: the smoothing weight used at the k-th observation is
  ``max(alpha, 1/k)``. With ``k = 1`` the state is initialised to the first observation, and
  until ``1/k < alpha`` the state equals the running mean of what was seen — a data-driven
  initialisation (cf. FPP3 section 8.1 on choosing the initial level) that avoids the large
  early errors of initialising with a single observation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CutForecasts:
    """Forecasts of one model from every cut.

    mean:          (n, n_cuts, H) point forecasts for steps 1..H after each cut.
    insample_rmse: (n, n_cuts) root mean one-step in-sample squared error of the parameters
                   chosen at that cut (the scale used for prediction intervals).
    valid:         (n, n_cuts) whether the model could be fitted at that cut (enough history).
    step_scale:    (n_cuts, H) factor on the interval scale per step after each cut, shared by
                   all SKUs (a multiplicative model's adjusted-scale RMSE times its calendar
                   factor), or None for 1.
    """

    mean: np.ndarray
    insample_rmse: np.ndarray
    valid: np.ndarray
    step_scale: np.ndarray | None = None


def masked_by_start(y: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Time-major copy ``(T, n)`` of ``y`` with columns before ``start`` zeroed.

    With zero demand before ``start`` and all states starting at 0, every recursion is a no-op
    before the SKU's first observation, so the loops need no per-step masks.
    """
    keep = np.arange(y.shape[1])[:, None] >= np.asarray(start)[None, :]
    return np.ascontiguousarray(np.where(keep, y.T, 0.0), dtype=np.float64)


def first_error_squared(y_time_major: np.ndarray, start: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """(n, n_cuts) square of the error at the first observation, ``(y_start - 0)^2``.

    The loops accumulate it (all states are 0 before the first observation); it is not a
    forecast error and is subtracted from the SSE. It is the same for every grid point, so it
    does not affect the choice of parameters.
    """
    n_columns, n = y_time_major.shape
    first = y_time_major[np.minimum(start, n_columns - 1), np.arange(n)]
    first = np.where(start < n_columns, first, 0.0)
    return (first * first)[:, None] * (np.asarray(cuts)[None, :] > start[:, None])


class WarmupWeights:
    """Per-step smoothing weights ``max(alpha, 1/k)``, (G, n), with a fast path (G, 1).

    Before ``start`` the weight is irrelevant (states and demand are 0 there) and is 1.
    Once every SKU has ``1/k <= min(alpha)`` the weight is just ``alpha`` (no allocation).
    """

    def __init__(self, alphas: np.ndarray, start: np.ndarray) -> None:
        self.alpha_col = np.asarray(alphas, dtype=np.float64)[:, None]
        self.start = np.asarray(start, dtype=np.int64)
        self.warm_until = int(self.start.max()) + int(np.ceil(1.0 / float(self.alpha_col.min()))) + 1
        self.buffer = np.empty((self.alpha_col.size, self.start.size))

    def at(self, t: int) -> np.ndarray:
        """Weights at column t."""
        if t >= self.warm_until:
            return self.alpha_col
        inv_k = 1.0 / np.maximum(t - self.start + 1, 1)
        return np.maximum(self.alpha_col, inv_k[None, :], out=self.buffer)


def choose_by_sse(sse: np.ndarray) -> np.ndarray:
    """Index of the grid point with the smallest SSE. sse: (G, n) -> (n,) int.

    Ties (e.g. a constant series) resolve to the first grid point.
    """
    return np.argmin(np.where(np.isfinite(sse), sse, np.inf), axis=0)


def cut_error_counts(start: np.ndarray, cuts: np.ndarray, first_error_offset: int = 1) -> np.ndarray:
    """(n, n_cuts) number of one-step errors in ``[start + offset, c)``, at least 0."""
    return np.maximum(cuts[None, :] - start[:, None] - first_error_offset, 0)


def rmse_from_sse(sse: np.ndarray, count: np.ndarray) -> np.ndarray:
    """sqrt(sse / count), NaN where count == 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.sqrt(np.maximum(sse, 0.0) / np.maximum(count, 1)), np.nan)


def forecasts_from_grid(sse_at: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int, min_train: int,
                        forecast: Callable[[int, np.ndarray, np.ndarray], np.ndarray]) -> CutForecasts:
    """Per SKU and cut, the grid point with the smallest in-sample one-step SSE and its forecasts.

    ``sse_at`` (n_cuts, G, n) SSE of every grid point up to each cut; ``forecast(j, best, rows)``
    gives the forecasts of grid points ``best`` (n,) for SKUs ``rows`` from cut ``j``: (n,) for a
    flat forecast or (n, horizon). The in-sample RMSE is that of the chosen grid point; a cut is
    valid for a SKU with at least ``min_train`` weeks of history before it.
    """
    n = sse_at.shape[2]
    rows = np.arange(n)
    mean = np.empty((n, cuts.size, horizon))
    sse_best = np.empty((n, cuts.size))
    for j in range(cuts.size):
        best = choose_by_sse(sse_at[j])
        value = forecast(j, best, rows)
        mean[:, j, :] = value[:, None] if value.ndim == 1 else value
        sse_best[:, j] = sse_at[j][best, rows]
    rmse = rmse_from_sse(sse_best, cut_error_counts(start, cuts))
    valid = (cuts[None, :] - start[:, None]) >= min_train
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)
