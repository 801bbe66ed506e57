"""``forecast_demand``: classification, backtest selection, final forecasts and intervals.

Flow (all vectorised over SKUs; model passes run over chunks of ``CHUNK_SKUS`` SKUs):

1. Columns before ``start[i]`` are zeroed and ignored; negative/NaN demand is treated as 0.
2. :func:`classify_demand` -> smooth / erratic / intermittent / lumpy / new / inactive, ABC, XYZ.
3. Smooth + erratic SKUs: candidates naive, seasonal naive, SES, robust SES, SES on demand
   adjusted for calendar events (when the weeks' dates are given, :mod:`.events`), damped Holt,
   seasonal SES (seasonal ones only with >= 2 full seasons before the last backtest origin,
   :func:`.candidates.seasonal_allowed`) and the equal-weight combination of
   SES, damped Holt and seasonal SES; intermittent + lumpy SKUs: Croston, SBA, TSB, SES,
   ADIDA, the mean, and the combination of SBA, TSB and SES. Selection by rolling-origin RMSSE
   against the class's pooled backtest winner as reference (:mod:`.backtest`). With
   ``global_model=True`` smooth/erratic SKUs are also offered ``global_gbm``, one gradient-boosted
   model per cut trained across them on weeks before the cut (:mod:`.global_model`; in the policy
   replay the fits are shared between its forecasts, :mod:`.global_fits`).
4. Intervals (:mod:`.intervals`): empirical pooled shapes x per-SKU (for the calendar model
   per-step) scale for smooth/erratic ('normal' family); the hurdle (occurrence x shifted count size) model for intermittent/lumpy
   (:mod:`.hurdle`), Poisson / negative binomial where it does not apply.
5. New SKUs (< 13 weeks): rate from the weeks after the first sale, shrunk toward a pooled
   first-week-based guess (:func:`.new_skus.new_sku_rate`; the first week is a sale by definition and
   would bias the plain mean upward), sd = max(sample sd, rate x pooled CV of
   established smooth/erratic forecasts); 'normal' family if no zero week was seen, else a
   count family with that variance. Inactive SKUs: 0 with sd 0 ('poisson' with mean 0).
6. Calibration per class (:mod:`.coverage`): the weekly bands re-built at each backtest origin
   (empirical shapes cross-fitted from the *other* origins), share of actuals inside, plain and
   by the PIT; the shared-error share of the window model (:mod:`.windows`) fitted on the
   backtest's multi-week totals, per class, giving ``level_error_weeks`` per SKU (new SKUs: the
   fit over all classes; inactive: none), and the cross-fitted coverage of window totals.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .backtest import (
    Scores,
    candidate_rows,
    choose,
    prior_table,
    reference_mask,
    score_candidates,
)
from .calendar import US_RETAIL_EVENTS, Event
from .candidates import (
    INTERMITTENT_CANDIDATES,
    SMOOTH_CANDIDATES,
    backtest_cuts,
    run_candidates,
    seasonal_allowed,
)
from .classify import (
    ERRATIC,
    INACTIVE,
    INTERMITTENT,
    LUMPY,
    NEW,
    SMOOTH,
    classify_demand,
)
from .coverage import (
    CoverageTally,
    add_weekly_coverage,
    calibrate_windows,
    coverage_frame,
)
from .events import calendar_factors
from .forecast_types import CutForecasts
from .global_fits import GlobalFitCache
from .global_model import GLOBAL_MODEL, global_forecasts
from .hurdle import count_class_bands, count_class_pit, count_class_var, size_moments
from .intervals import (
    Bands,
    count_bands,
    count_family,
    empirical_bands,
    shocks_per_group,
    table_per_sku,
    training_dispersion,
)
from .metrics import TrainingScales, training_scales
from .new_skus import new_sku_rate
from .seasonal import seasonal_indices
from .trend_test import trend_groups
from .windows import level_error_weeks as _level_error_weeks

CHUNK_SKUS: int = 4096
WORKER_THREADS: int = 2
DEFAULT_CV: float = 0.5


@dataclass(frozen=True)
class ForecastResult:
    """Forecasts for n SKUs over ``horizon`` weeks; see the project brief for column contracts."""

    mean: np.ndarray
    sd: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    model: np.ndarray
    family: np.ndarray
    classes: pd.DataFrame
    accuracy: pd.DataFrame          # sku x candidate: rmsse, mase, wape, bias, eligible, selected
    coverage: pd.DataFrame
    level_error_weeks: np.ndarray   # (n,) n_e of the window model (inf: no shared error), :mod:`.windows`


@dataclass
class _Selected:
    """Selected-model arrays for all SKUs, filled group by group."""

    mean: np.ndarray            # (n, n_cuts, H)
    insample_rmse: np.ndarray   # (n, n_cuts)
    origin_used: np.ndarray     # (n, K)
    model: np.ndarray           # (n,) object
    accuracy_parts: list[pd.DataFrame]
    step_scale: dict[str, np.ndarray] = field(default_factory=dict)   # model -> (n_cuts, H), see CutForecasts

    def interval_scale(self, rows: np.ndarray) -> np.ndarray:
        """(rows, n_cuts, H) interval scale per step: in-sample RMSE x the model's step scale."""
        scale = np.repeat(self.insample_rmse[rows][:, :, None], self.mean.shape[2], axis=2)
        for name, factor in self.step_scale.items():
            scale[self.model[rows] == name] *= factor[None, :, :]
        return scale


def _select_group(y: np.ndarray, start: np.ndarray, skus: np.ndarray, rows: np.ndarray,
                  cuts: np.ndarray, horizon: int, backtest_horizon: int, season_length: int,
                  names: tuple[str, ...], default: str, scales: TrainingScales,
                  seasonal: tuple[np.ndarray, np.ndarray] | None, groups: np.ndarray,
                  out: _Selected, events: np.ndarray | None = None,
                  extra: dict[str, CutForecasts] | None = None) -> None:
    """Backtest and select for the SKUs ``rows`` of one group into ``out``.

    ``groups`` (n,) labels the SKUs whose backtest scores form the selection prior (classes).
    ``events``: calendar-event factors per cut shared by the group (:func:`.events.event_factors`).
    ``extra``: forecasts of further candidates for all n SKUs (the global model), offered after
    the group's own candidates (so ties go to the statistical ones).

    Pass 1 runs the candidates chunk by chunk (``CHUNK_SKUS`` SKUs, on ``WORKER_THREADS``
    threads; numpy releases the GIL inside array operations) and keeps each SKU's scores plus
    the forecasts of the candidates it can still choose. The selection prior is then computed
    once over *all* SKUs of the group (:func:`prior_table`), and pass 2 makes the choice, so the
    result does not depend on the chunk size.
    """
    def run_chunk(lo: int) -> tuple[np.ndarray, Scores, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        part = rows[lo:lo + CHUNK_SKUS]
        local = slice(lo, lo + part.size)
        season = None if seasonal is None else (seasonal[0][local], seasonal[1][local])
        candidates = run_candidates(names, y[part], start[part], cuts, horizon, season_length, season, events)
        for name, forecasts in (extra or {}).items():
            candidates[name] = CutForecasts(mean=forecasts.mean[part], insample_rmse=forecasts.insample_rmse[part],
                                            valid=forecasts.valid[part])
        part_scales = TrainingScales(scales.squared[part], scales.absolute[part], scales.mean_demand[part])
        scores = score_candidates(y[part], start[part], cuts, backtest_horizon, candidates, part_scales)
        kept = {name: (idx, candidates[name].mean[idx], candidates[name].insample_rmse[idx])
                for name, idx in candidate_rows(scores, default).items() if idx.size}
        out.step_scale.update({name: c.step_scale for name, c in candidates.items() if c.step_scale is not None})
        return part, scores, kept

    if not rows.size:
        return
    offsets = range(0, rows.size, CHUNK_SKUS)
    if WORKER_THREADS > 1 and len(offsets) > 1:
        with ThreadPoolExecutor(max_workers=WORKER_THREADS) as pool:
            results = list(pool.map(run_chunk, offsets))
    else:
        results = [run_chunk(lo) for lo in offsets]
    names = results[0][1].names
    rmsse = np.concatenate([r[1].rmsse for r in results])
    eligible = np.concatenate([r[1].eligible for r in results])
    prior = prior_table(rmsse, eligible, groups[rows])
    reference_ok = reference_mask(np.concatenate([r[1].per_origin for r in results]), eligible, prior,
                                  groups[rows], names)
    position = 0
    for part, scores, kept in results:
        chosen = choose(scores, prior[position:position + part.size], default,
                        reference_ok[position:position + part.size])
        position += part.size
        for m, name in enumerate(names):
            pick = np.flatnonzero(chosen == m)
            if not pick.size:
                continue
            idx, mean, rmse = kept[name]
            where = np.searchsorted(idx, pick)
            out.mean[part[pick]] = mean[where]
            out.insample_rmse[part[pick]] = rmse[where]
        out.origin_used[part] = scores.origin_used
        out.model[part] = np.asarray(names, dtype=object)[chosen]
        n_models = len(names)
        out.accuracy_parts.append(pd.DataFrame({
            "sku": np.repeat(skus[part], n_models),
            "model": np.tile(np.asarray(names, dtype=object), part.size),
            "rmsse": scores.rmsse.ravel(), "mase": scores.mase.ravel(),
            "wape": scores.wape.ravel(), "bias": scores.bias.ravel(), "eligible": scores.eligible.ravel(),
            "selected": (np.arange(n_models)[None, :] == chosen[:, None]).ravel(),
        }))


def _empty_bands(n: int, horizon: int) -> Bands:
    zeros = np.zeros((n, horizon))
    return Bands(sd=zeros, lo80=zeros.copy(), hi80=zeros.copy(), lo95=zeros.copy(), hi95=zeros.copy())


def _put(target: Bands, rows: np.ndarray, source: Bands) -> None:
    for name in ("sd", "lo80", "hi80", "lo95", "hi95"):
        getattr(target, name)[rows] = getattr(source, name)


def forecast_demand(skus: np.ndarray, history: np.ndarray, start: np.ndarray, horizon: int,
                    unit_value: np.ndarray | None = None, *, season_length: int = 52,
                    backtest_origins: int = 4, backtest_horizon: int = 13,
                    week_starts: np.ndarray | None = None,
                    events: tuple[Event, ...] = US_RETAIL_EVENTS,
                    global_model: bool = False, prices: np.ndarray | None = None,
                    global_fits: GlobalFitCache | None = None) -> ForecastResult:
    """Classify, select a model per SKU by rolling-origin RMSSE, forecast ``horizon`` weeks.

    ``week_starts`` (T,) first day of each history column (``datetime64``; weeks are 7 days
    apart, the forecast weeks follow the last one): with it, smooth/erratic SKUs are also offered
    ``ses_events``, SES on demand adjusted for the calendar ``events`` (:mod:`.events`).
    ``global_model``: also offer ``global_gbm`` to smooth, erratic, intermittent and lumpy SKUs,
    a gradient-boosted model trained across them at every cut (:mod:`.global_model`), chosen
    only where it wins the backtest like any other candidate. ``prices``: (n, T) weekly selling
    price per SKU and history week (forward-filled, NaN = unknown; :mod:`.prices`), or (n, T + k)
    with k planned weeks after the history (NaN = regular price), used as features by the global
    model only; None = no price input. ``global_fits``: the global model's fits shared by repeated
    forecasts of one history (the policy replay; :mod:`.global_fits`), None = fitted per cut.
    """
    y = np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=np.float64)), nan=0.0)
    n, n_columns = y.shape
    skus = np.asarray(skus).astype(str).reshape(-1)
    start = np.clip(np.asarray(start, dtype=np.int64).reshape(-1), 0, n_columns)
    if skus.size != n or start.size != n:
        raise ValueError(f"skus ({skus.size}) and start ({start.size}) must have {n} entries")
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    y = np.where(np.arange(n_columns)[None, :] >= start[:, None], np.maximum(y, 0.0), 0.0)
    classes = classify_demand(y, start, unit_value)
    demand_class = classes.demand_class
    cuts = backtest_cuts(n_columns, backtest_origins, backtest_horizon)
    n_origins = cuts.size - 1
    steps = max(horizon, backtest_horizon)
    scales = training_scales(y, start, cuts)

    sel = _Selected(mean=np.zeros((n, cuts.size, steps)), insample_rmse=np.full((n, cuts.size), np.nan),
                    origin_used=np.zeros((n, n_origins), dtype=bool),
                    model=np.full(n, "", dtype=object), accuracy_parts=[])
    smooth_rows = np.flatnonzero(np.isin(demand_class, (SMOOTH, ERRATIC)))
    count_rows = np.flatnonzero(np.isin(demand_class, (INTERMITTENT, LUMPY)))
    seasonal = None
    if smooth_rows.size and seasonal_allowed(start[smooth_rows], cuts, season_length).any():
        seasonal = seasonal_indices(y[smooth_rows], start[smooth_rows], cuts, season_length)
    event_index = None
    if smooth_rows.size and week_starts is not None:
        event_index = calendar_factors(y[smooth_rows], start[smooth_rows], cuts, steps, week_starts, events)
    extra = None
    if global_model and n_origins and smooth_rows.size:       # smooth/erratic only (docs/forecasting.md §2.2)
        modelled = smooth_rows
        found = global_forecasts(y[modelled], start[modelled], cuts, steps, week_starts, events,
                                 origin_steps=backtest_horizon,
                                 prices=None if prices is None else np.asarray(prices, dtype=np.float64)[modelled],
                                 fit_cache=global_fits,
                                 panel=(y, start, None if prices is None else np.asarray(prices, dtype=np.float64)))
        full = CutForecasts(mean=np.full((n, cuts.size, steps), np.nan), insample_rmse=np.full((n, cuts.size), np.nan),
                            valid=np.zeros((n, cuts.size), dtype=bool))
        full.mean[modelled], full.insample_rmse[modelled], full.valid[modelled] = (
            found.mean, found.insample_rmse, found.valid)
        extra = {GLOBAL_MODEL: full}
    _select_group(y, start, skus, smooth_rows, cuts, steps, backtest_horizon, season_length,
                  SMOOTH_CANDIDATES, "ses", scales, seasonal, trend_groups(y, start, demand_class, season_length),
                  sel, events=event_index, extra=extra)
    _select_group(y, start, skus, count_rows, cuts, steps, backtest_horizon, season_length,
                  INTERMITTENT_CANDIDATES, "sba", scales, None, demand_class, sel)

    mean = np.maximum(np.nan_to_num(sel.mean[:, -1, :horizon], nan=0.0), 0.0)
    bands = _empty_bands(n, horizon)
    family = np.full(n, "normal", dtype=object)
    tally = CoverageTally()
    backtest_var = np.zeros((n, n_origins, backtest_horizon))
    if n_origins:
        window = cuts[:-1, None] + np.arange(backtest_horizon)[None, :]
        actual = y[:, window]                                           # (n, K, h)
        backtest_mean = np.maximum(np.nan_to_num(sel.mean[:, :-1, :backtest_horizon], nan=0.0), 0.0)

    # smooth / erratic: empirical pooled shapes x per-SKU scale
    if smooth_rows.size:
        rows = smooth_rows
        sigma = sel.insample_rmse[rows]
        sigma_steps = sel.interval_scale(rows)                          # (rows, cuts, steps)
        fine = np.char.add(demand_class[rows].astype(str), np.asarray(sel.model[rows], dtype=str))
        coarse = demand_class[rows].astype(str)
        tau2 = np.zeros((rows.size, n_origins + 1))
        if n_origins:
            use = sel.origin_used[rows] & (sigma[:, :-1] > 0)
            error = actual[rows] - backtest_mean[rows]
            shock, tau2 = shocks_per_group(error, backtest_mean[rows], use, coarse)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (error - backtest_mean[rows] * shock) / sigma_steps[:, :-1, :backtest_horizon]
        else:
            z, use = np.zeros((rows.size, 0, backtest_horizon)), np.zeros((rows.size, 0), dtype=bool)
        tables, which = table_per_sku(z, use, fine, coarse, horizon)
        _put(bands, rows, empirical_bands(mean[rows], sigma_steps[:, -1, :horizon], tables, which,
                                          common_sd=mean[rows] * np.sqrt(tau2[:, -1:])))
        for k in range(n_origins):   # cross-fitted coverage: shapes and shared shock from the other origins
            others = use.copy()
            others[:, k] = False
            t_k, w_k = table_per_sku(z, others, fine, coarse, backtest_horizon)
            b_k = empirical_bands(backtest_mean[rows, k], sigma_steps[:, k, :backtest_horizon], t_k, w_k,
                                  common_sd=backtest_mean[rows, k] * np.sqrt(tau2[:, k:k + 1]))
            backtest_var[rows, k] = b_k.sd ** 2
            add_weekly_coverage(tally, coarse, actual[rows, k], use[:, k], bands=b_k)

    # intermittent / lumpy: hurdle (occurrence x shifted count size) or count distributions
    if count_rows.size:
        rows = count_rows
        dispersion = training_dispersion(y[rows], start[rows], cuts)
        sizes = size_moments(y[rows], start[rows], cuts)
        final, _ = count_class_bands(mean[rows], sizes, cuts.size - 1, dispersion[:, -1])
        _put(bands, rows, final)
        with np.errstate(divide="ignore", invalid="ignore"):
            weekly_dispersion = np.where(mean[rows, 0] > 0, final.sd[:, 0] ** 2 / mean[rows, 0], dispersion[:, -1])
        family[rows] = count_family(weekly_dispersion)
        for k in range(n_origins):
            backtest_var[rows, k], hurdle_k = count_class_var(backtest_mean[rows, k], sizes, k, dispersion[:, k])
            pit_bounds = count_class_pit(actual[rows, k], backtest_mean[rows, k], backtest_var[rows, k],
                                         sizes, k, hurdle_k)
            add_weekly_coverage(tally, demand_class[rows].astype(str), actual[rows, k], sel.origin_used[rows, k],
                                pit_bounds=pit_bounds)

    # window (multi-week) totals: shared-error share fitted per class on the backtest
    thetas: dict[str, float] = {}
    theta_all = 0.0
    tested = np.concatenate([smooth_rows, count_rows])
    if n_origins and tested.size:
        is_count = np.isin(demand_class[tested], (INTERMITTENT, LUMPY))
        thetas, theta_all = calibrate_windows(
            actual[tested], backtest_mean[tested], backtest_var[tested], sel.origin_used[tested] & (
                backtest_var[tested, :, 0] > 0), is_count, demand_class[tested].astype(str), tally)
    theta = np.array([thetas.get(str(c), theta_all) for c in demand_class], dtype=np.float64)

    _new_sku_forecasts(y, start, demand_class, mean, bands, family, sel, smooth_rows)
    inactive = demand_class == INACTIVE
    sel.model[inactive] = "zero"
    family[inactive] = "poisson"
    mean[inactive] = 0.0
    theta[inactive] = 0.0
    _put(bands, np.flatnonzero(inactive), _empty_bands(int(inactive.sum()), horizon))

    other = np.flatnonzero(np.isin(demand_class, (NEW, INACTIVE)))
    accuracy_parts = sel.accuracy_parts + [pd.DataFrame({
        "sku": skus[other], "model": sel.model[other], "rmsse": np.nan, "mase": np.nan,
        "wape": np.nan, "bias": np.nan, "eligible": False, "selected": True})]
    accuracy = pd.concat([p for p in accuracy_parts if len(p)], ignore_index=True) if any(
        len(p) for p in accuracy_parts) else pd.DataFrame(
        columns=["sku", "model", "rmsse", "mase", "wape", "bias", "eligible", "selected"])
    accuracy["selected"] = accuracy["selected"].astype(bool)
    return ForecastResult(
        mean=mean, sd=bands.sd, lo80=bands.lo80, hi80=bands.hi80, lo95=bands.lo95, hi95=bands.hi95,
        model=sel.model.astype(str), family=family.astype(str), classes=classes.to_frame(skus),
        accuracy=accuracy, coverage=coverage_frame(tally, demand_class, sel.origin_used, thetas),
        level_error_weeks=_level_error_weeks(theta),
    )


def _new_sku_forecasts(y: np.ndarray, start: np.ndarray, demand_class: np.ndarray, mean: np.ndarray,
                       bands: Bands, family: np.ndarray, sel: _Selected, smooth_rows: np.ndarray) -> None:
    """Fallback for SKUs with < 13 weeks of history (see module docstring, step 5)."""
    rows = np.flatnonzero(demand_class == NEW)
    if not rows.size:
        return
    horizon = mean.shape[1]
    level, sample_sd = new_sku_rate(y, start, rows)
    n_columns = y.shape[1]
    seen = np.arange(n_columns)[None, :] >= start[rows, None]
    cv = DEFAULT_CV
    if smooth_rows.size:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = sel.insample_rmse[smooth_rows, -1] / mean[smooth_rows, 0]
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        cv = float(np.median(ratio)) if ratio.size else DEFAULT_CV
    sd = np.maximum(sample_sd, level * cv)
    mean[rows] = level[:, None]
    sel.model[rows] = "new_mean"
    has_zero = (seen & (y[rows] <= 0)).any(axis=1)
    normal_rows = rows[~has_zero]
    z = stats.norm.ppf([0.025, 0.10, 0.90, 0.975])
    mu = level[~has_zero][:, None] * np.ones((1, horizon))
    s = sd[~has_zero][:, None] * np.ones((1, horizon))
    _put(bands, normal_rows, Bands(sd=s, lo95=np.maximum(mu + z[0] * s, 0), lo80=np.maximum(mu + z[1] * s, 0),
                                   hi80=np.maximum(mu + z[2] * s, 0), hi95=np.maximum(mu + z[3] * s, 0)))
    family[normal_rows] = "normal"
    count_rows = rows[has_zero]
    if count_rows.size:
        lvl = level[has_zero]
        with np.errstate(divide="ignore", invalid="ignore"):
            dispersion = np.where(lvl > 0, sd[has_zero] ** 2 / np.where(lvl > 0, lvl, 1.0), 1.0)
        dispersion = np.maximum(dispersion, 1.0)
        _put(bands, count_rows, count_bands(mean[count_rows], dispersion))
        family[count_rows] = count_family(dispersion)
