"""Candidate forecasts from every cut: which models a demand group is offered, the backtest
cuts, and one pass per model over all SKUs (:func:`run_candidates`), plus the equal-weight
combination (:func:`combine_forecasts`). Scoring and the choice per SKU: :mod:`.backtest`.

Each model is re-fitted at every cut on data before it (see
:mod:`safestock.models.forecasting.forecast_types`); seasonal models are offered only with enough seasons
(:func:`seasonal_allowed`).
"""

from __future__ import annotations

import numpy as np

from .events import event_ses_forecasts
from .forecast_types import CutForecasts
from .intermittent import (
    adida_forecasts,
    aggregate_forecasts,
    croston_sba_forecasts,
    tsb_forecasts,
)
from .rate_shrinkage import shrunk_rate_forecasts
from .seasonal import seasonal_ses_forecasts
from .smoothing import (
    holt_damped_forecasts,
    holt_forecasts,
    mean_forecasts,
    naive_forecasts,
    robust_ses_forecasts,
    seasonal_naive_forecasts,
    ses_forecasts,
)

SMOOTH_CANDIDATES: tuple[str, ...] = ("ses", "ses_robust", "ses_events", "seasonal_ses", "holt_damped", "combination",
                                       "holt", "seasonal_naive", "naive")
INTERMITTENT_CANDIDATES: tuple[str, ...] = ("sba", "tsb", "croston", "ses", "combination", "adida", "mean")
# implemented and tested, not offered (their holdout / closed-loop rounds, docs/forecasting.md §6.2, §6.9):
# "imapa", "adida_overlapping", "shrunk_rate"; nor "holt" for trend-flagged count SKUs (``trend_only``, §6.10)
COMBINED_SMOOTH: tuple[str, ...] = ("ses", "holt_damped", "seasonal_ses")
COMBINED_INTERMITTENT: tuple[str, ...] = ("sba", "tsb", "ses")
# What each model name in the ``model`` columns does, in a planner's words (the planner report's legend).
MODEL_DESCRIPTIONS: dict[str, str] = {
    "naive": "last week's demand, carried forward",
    "seasonal_naive": "demand of the same week a year earlier",
    "mean": "mean weekly demand over the SKU's whole history",
    "ses": "exponential smoothing: a weighted average of past weeks, recent weeks weighing more",
    "ses_robust": "exponential smoothing that limits how far one spike week (a promotion, a holiday) moves "
                  "the level",
    "ses_events": "exponential smoothing of demand with calendar events taken out (Christmas, Valentine's "
                  "Day, Easter, Mother's and Father's Day, on their real dates each year); each event's "
                  "effect, learned across SKUs, is put back into the weeks it falls on",
    "holt_damped": "exponential smoothing with a trend that flattens out",
    "holt": "exponential smoothing with a trend that keeps going (at most a doubling or halving a year)",
    "seasonal_ses": "exponential smoothing of the level times a yearly seasonal profile (the SKU's own, "
                    "shrunk toward its group's)",
    "combination": "the average of several models: smoothing, damped trend and seasonal (smooth demand) or "
                   "SBA, TSB and smoothing (intermittent demand)",
    "croston": "Croston: demand size and the weeks between demands smoothed separately",
    "sba": "Croston with the Syntetos-Boylan bias correction",
    "tsb": "chance of a demand week and demand size smoothed separately (Teunter-Syntetos-Babai); follows a "
           "SKU that stops selling",
    "adida": "exponential smoothing of demand summed over blocks of weeks, spread back evenly",
    "global_gbm": "gradient-boosted trees trained across all SKUs at once on their recent weeks, the same "
                  "week a year before, the calendar and the SKU's demand pattern (offered when [forecast] "
                  "global_model = true)",
    "new_mean": "new SKU (under 13 weeks of history): the rate of the weeks after its first sale, shrunk "
                "toward a guess pooled over launches",
    "zero": "inactive SKU: no demand in the recent past, forecast 0",
}
MIN_TRAIN_WEEKS: int = 13
SEASONAL_MODELS: tuple[str, ...] = ("seasonal_ses", "seasonal_naive")
MIN_SEASONS: float = 2.0


def seasonal_allowed(start: np.ndarray, cuts: np.ndarray, season_length: int,
                     min_seasons: float | None = None) -> np.ndarray:
    """(n,) SKUs for which seasonal candidates are offered: at least ``min_seasons`` (default
    :data:`MIN_SEASONS`) full seasons of history before the last backtest origin (the final cut
    when there is no origin), so a seasonal model is chosen only after it was backtested at
    least once with that much data. With ~1 season a seasonal index is one noisy year copied
    forward, and the backtest cannot tell it from noise (FPP3 3.4 / 12.1: a decomposition needs
    several seasons). Counting at the final cut or at the first counted origin instead lost the
    holdout benchmark (docs/forecasting.md §6.1)."""
    min_seasons = MIN_SEASONS if min_seasons is None else min_seasons
    start = np.asarray(start, dtype=np.int64)
    cuts = np.asarray(cuts, dtype=np.int64)
    counted_before = int(cuts[-2]) if cuts.size > 1 else int(cuts[-1])   # last origin, else the final cut
    return (counted_before - start) >= min_seasons * season_length


def backtest_cuts(n_columns: int, origins: int, horizon: int, min_origin: int = 2) -> np.ndarray:
    """Backtest origins (oldest first) followed by ``n_columns`` (the final forecast cut)."""
    candidates = [n_columns - horizon * (origins - i) for i in range(origins)] if horizon > 0 else []
    kept = [c for c in candidates if c >= min_origin]
    return np.asarray(kept + [n_columns], dtype=np.int64)


def run_candidates(names: tuple[str, ...], y: np.ndarray, start: np.ndarray, cuts: np.ndarray,
                   horizon: int, season_length: int,
                   seasonal: tuple[np.ndarray, np.ndarray] | None,
                   events: np.ndarray | None = None,
                   trend_only: np.ndarray | None = None) -> dict[str, CutForecasts]:
    """Forecasts of the named models from every cut. ``seasonal`` = (indices, valid) or None;
    ``events`` = (n_cuts, >= T + horizon) calendar-event factors (:func:`.events.event_factors`)
    or None (``ses_events`` is then not offered). ``trend_only`` (n,) bool or None: ``holt`` is
    fitted and valid only for these SKUs (the count classes' trend-flagged SKUs,
    :func:`.trend_test.slope_t`), not offered when none is flagged; None = for every SKU.

    Seasonal candidates are valid only for SKUs with :func:`seasonal_allowed` (they are not
    offered at all when no SKU qualifies).
    """
    out: dict[str, CutForecasts] = {}
    wanted = set(names)
    if wanted & set(SEASONAL_MODELS):
        allowed = seasonal_allowed(start, cuts, season_length)
        if not allowed.any():
            wanted -= set(SEASONAL_MODELS)
        elif seasonal is not None:
            seasonal = (seasonal[0], seasonal[1] & allowed[:, None])
    if "naive" in wanted:
        out["naive"] = naive_forecasts(y, start, cuts, horizon)
    if "mean" in wanted:
        out["mean"] = mean_forecasts(y, start, cuts, horizon)
    if "shrunk_rate" in wanted:
        out["shrunk_rate"] = shrunk_rate_forecasts(y, start, cuts, horizon)
    if "seasonal_naive" in wanted and y.shape[1] >= season_length:
        snaive = seasonal_naive_forecasts(y, start, cuts, horizon, season_length)
        keep = snaive.valid & allowed[:, None]
        out["seasonal_naive"] = CutForecasts(mean=np.where(keep[:, :, None], snaive.mean, np.nan),
                                             insample_rmse=snaive.insample_rmse, valid=keep)
    if "ses" in wanted:
        out["ses"] = ses_forecasts(y, start, cuts, horizon)
    if "ses_robust" in wanted:
        out["ses_robust"] = robust_ses_forecasts(y, start, cuts, horizon)
    if "ses_events" in wanted and events is not None:
        out["ses_events"] = event_ses_forecasts(y, start, cuts, horizon, events)
    if "holt_damped" in wanted:
        out["holt_damped"] = holt_damped_forecasts(y, start, cuts, horizon)
    if "holt" in wanted and trend_only is None:
        out["holt"] = holt_forecasts(y, start, cuts, horizon)
    elif "holt" in wanted and np.any(trend_only):
        out["holt"] = _only_for(np.flatnonzero(trend_only), y.shape[0],
                                holt_forecasts(y[trend_only], start[trend_only], cuts, horizon))
    if "seasonal_ses" in wanted and seasonal is not None and seasonal[1].any():
        out["seasonal_ses"] = seasonal_ses_forecasts(y, start, cuts, horizon, seasonal[0], seasonal[1])
    if wanted & {"croston", "sba"}:
        out["croston"], out["sba"] = croston_sba_forecasts(y, start, cuts, horizon)
    if "tsb" in wanted:
        out["tsb"] = tsb_forecasts(y, start, cuts, horizon)
    if wanted & {"adida", "imapa"}:
        adida, imapa = aggregate_forecasts(y, start, cuts, horizon, imapa="imapa" in wanted)
        out["adida"] = adida
        if imapa is not None:
            out["imapa"] = imapa
    if "adida_overlapping" in wanted:
        out["adida_overlapping"] = adida_forecasts(y, start, cuts, horizon)
    if "combination" in wanted:
        parts = COMBINED_INTERMITTENT if "sba" in wanted else COMBINED_SMOOTH
        out["combination"] = combine_forecasts([out[p] for p in parts if p in out])
    return {name: out[name] for name in names if name in out}


def _only_for(rows: np.ndarray, n: int, part: CutForecasts) -> CutForecasts:
    """``part`` (forecasts of the SKUs ``rows``) placed in an n-SKU result, not valid elsewhere."""
    mean = np.full((n, *part.mean.shape[1:]), np.nan)
    rmse = np.full((n, part.insample_rmse.shape[1]), np.nan)
    valid = np.zeros((n, part.valid.shape[1]), dtype=bool)
    mean[rows], rmse[rows], valid[rows] = part.mean, part.insample_rmse, part.valid
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid, step_scale=part.step_scale)


def combine_forecasts(parts: list[CutForecasts]) -> CutForecasts:
    """Equal-weight combination of the valid members at each cut (at least two members).

    Combining SES, damped trend and a seasonal model is a strong benchmark that is rarely beaten
    by per-series selection (Makridakis et al. 2020, M4, IJF 36; FPP3 13.4). Its one-step scale
    for intervals is the mean of the members' in-sample RMSE (an upper bound for the RMSE of
    the combined one-step forecasts by the triangle inequality).
    """
    valid = np.stack([p.valid for p in parts])                          # (P, n, cuts)
    means = np.stack([np.where(p.valid[:, :, None], p.mean, 0.0) for p in parts])
    rmse = np.stack([np.where(p.valid, p.insample_rmse, 0.0) for p in parts])
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = means.sum(axis=0) / count[:, :, None]
        insample_rmse = rmse.sum(axis=0) / count
    ok = count >= 2
    return CutForecasts(mean=np.where(ok[:, :, None], mean, np.nan),
                        insample_rmse=np.where(ok, insample_rmse, np.nan), valid=ok)
