"""Rolling-origin backtest and per-SKU model selection by RMSSE.

Origins are non-overlapping: ``T - H_b, T - 2 H_b, ...`` (``H_b`` = backtest horizon), oldest
first; each origin re-fits every model's parameters on data before it (see
:mod:`models.forecasting.forecast_types`). An origin counts for a SKU only if the SKU has at
least ``min_train`` weeks of history before it. A candidate is eligible for a SKU only if it is
valid at every counted origin and at the final cut, so all eligible candidates are compared on
the same origins. Selection = smallest mean RMSSE over origins (M5 measure; never MASE, which
favours zero forecasts on intermittent series — Kolassa 2016, IJF 32). Ties go to the first
candidate in the preference order. Without any counted origin the class default is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forecast_types import CutForecasts
from .intermittent import croston_sba_forecasts, tsb_forecasts
from .metrics import TrainingScales, mean_over_origins, origin_accuracy
from .seasonal import seasonal_ses_forecasts
from .smoothing import holt_damped_forecasts, naive_forecasts, seasonal_naive_forecasts, ses_forecasts

SMOOTH_CANDIDATES: tuple[str, ...] = ("ses", "seasonal_ses", "holt_damped", "seasonal_naive", "naive")
INTERMITTENT_CANDIDATES: tuple[str, ...] = ("sba", "tsb", "croston", "ses")
MIN_TRAIN_WEEKS: int = 13


def backtest_cuts(n_columns: int, origins: int, horizon: int, min_origin: int = 2) -> np.ndarray:
    """Backtest origins (oldest first) followed by ``n_columns`` (the final forecast cut)."""
    candidates = [n_columns - horizon * (origins - i) for i in range(origins)] if horizon > 0 else []
    kept = [c for c in candidates if c >= min_origin]
    return np.asarray(kept + [n_columns], dtype=np.int64)


def run_candidates(names: tuple[str, ...], y: np.ndarray, start: np.ndarray, cuts: np.ndarray,
                   horizon: int, season_length: int,
                   seasonal: tuple[np.ndarray, np.ndarray] | None) -> dict[str, CutForecasts]:
    """Forecasts of the named models from every cut. ``seasonal`` = (indices, valid) or None."""
    out: dict[str, CutForecasts] = {}
    wanted = set(names)
    if "naive" in wanted:
        out["naive"] = naive_forecasts(y, start, cuts, horizon)
    if "seasonal_naive" in wanted and y.shape[1] >= season_length:
        out["seasonal_naive"] = seasonal_naive_forecasts(y, start, cuts, horizon, season_length)
    if "ses" in wanted:
        out["ses"] = ses_forecasts(y, start, cuts, horizon)
    if "holt_damped" in wanted:
        out["holt_damped"] = holt_damped_forecasts(y, start, cuts, horizon)
    if "seasonal_ses" in wanted and seasonal is not None and seasonal[1].any():
        out["seasonal_ses"] = seasonal_ses_forecasts(y, start, cuts, horizon, seasonal[0], seasonal[1])
    if wanted & {"croston", "sba"}:
        out["croston"], out["sba"] = croston_sba_forecasts(y, start, cuts, horizon)
    if "tsb" in wanted:
        out["tsb"] = tsb_forecasts(y, start, cuts, horizon)
    return {name: out[name] for name in names if name in out}


@dataclass(frozen=True)
class Selection:
    """Backtest scores of every candidate and the selected model's forecasts, for n SKUs.

    names: candidate names (M); rmsse/mase/wape/bias/eligible: (n, M) means over used origins;
    chosen: (n,) index into names; mean: (n, n_cuts, H) forecasts of the chosen model from
    every cut; insample_rmse: (n, n_cuts); origin_used: (n, K) origins used in the scores.
    """

    names: tuple[str, ...]
    rmsse: np.ndarray
    mase: np.ndarray
    wape: np.ndarray
    bias: np.ndarray
    eligible: np.ndarray
    chosen: np.ndarray
    mean: np.ndarray
    insample_rmse: np.ndarray
    origin_used: np.ndarray


def select_by_backtest(y: np.ndarray, start: np.ndarray, cuts: np.ndarray,
                       backtest_horizon: int, candidates: dict[str, CutForecasts],
                       scales: TrainingScales, default: str,
                       min_train: int = MIN_TRAIN_WEEKS) -> Selection:
    """Score every candidate at the backtest origins and pick the smallest mean RMSSE."""
    names = tuple(candidates)
    n = y.shape[0]
    origins = cuts[:-1]
    n_origins = origins.size
    origin_used = (origins[None, :] - start[:, None]) >= min_train
    any_origin = origin_used.any(axis=1)
    if n_origins:
        window = origins[:, None] + np.arange(backtest_horizon)[None, :]
        actual = y[:, window]                                           # (n, K, h)
    shape = (n, len(names))
    rmsse, mase, wape, bias = (np.full(shape, np.nan) for _ in range(4))
    eligible = np.zeros(shape, dtype=bool)
    head = TrainingScales(*(s[:, :n_origins] for s in (scales.squared, scales.absolute, scales.mean_demand)))
    for m, name in enumerate(names):
        fc = candidates[name]
        ok = any_origin & fc.valid[:, -1]
        if n_origins:
            ok &= np.all(fc.valid[:, :n_origins] | ~origin_used, axis=1)
            acc = origin_accuracy(actual, fc.mean[:, :n_origins, :backtest_horizon], head)
            rmsse[:, m] = mean_over_origins(acc.rmsse, origin_used)
            mase[:, m] = mean_over_origins(acc.mase, origin_used)
            wape[:, m] = mean_over_origins(acc.wape, origin_used)
            bias[:, m] = mean_over_origins(acc.bias, origin_used)
        eligible[:, m] = ok & np.isfinite(rmsse[:, m])
    score = np.where(eligible, rmsse, np.inf)
    chosen = np.argmin(score, axis=1)
    chosen = np.where(eligible.any(axis=1), chosen, names.index(default))
    first = candidates[names[0]]
    mean = np.empty_like(first.mean)
    insample_rmse = np.empty_like(first.insample_rmse)
    for m, name in enumerate(names):
        pick = chosen == m
        if pick.any():
            mean[pick] = candidates[name].mean[pick]
            insample_rmse[pick] = candidates[name].insample_rmse[pick]
    return Selection(names=names, rmsse=rmsse, mase=mase, wape=wape, bias=bias, eligible=eligible,
                     chosen=chosen, mean=mean, insample_rmse=insample_rmse, origin_used=origin_used)
