"""Calendar-event effects pooled over SKUs, and SES on event-adjusted demand (``ses_events``).

Retail demand has a few weeks a year that no level method forecasts: the weeks before
Christmas (3-5x a normal week on the real jewelry set), the week before Valentine's Day or
Mother's Day (1.6-2x), and the January slump after Christmas. Their dates move against a fixed
week-of-year grid (:mod:`.calendar`), and 1-3 years of weekly history hold one or two of each,
too few for a SKU's own estimate. The effect of each (event, offset) week is therefore pooled
over the SKUs of a group, from data before each cut only:

1. ``A_t``: total demand of the group in week t (columns before a SKU's start are 0).
2. Baseline ``B_t``: mean of ``A`` over the *plain* weeks (no event) within
   ``BASELINE_WEEKS`` weeks of t, before the cut (at least ``MIN_BASELINE_WEEKS`` of them).
3. Effect of event-offset e: the log ratios ``log(A_t / B_t)`` over its n occurrences before the
   cut, averaged with a prior of ``PRIOR_OCCURRENCES`` occurrences at 0 (no effect):
   ``beta_e = sum log(A_t / B_t) / (n + kappa)`` — the posterior mean of a normal mean with a
   zero-centred prior worth kappa observations (Gelman et al., *Bayesian Data Analysis*, 3rd
   ed., 2.5), so one Christmas seen moves the factor 2/3 of the way and two 4/5.
4. Factor ``f_t = exp(beta_e)`` on event weeks, 1 elsewhere (multiplicative regressors with
   lead/lag dummies, FPP3 7.4; the same form as multiplicative seasonal indices, FPP3 8.3).

Forecast (``ses_events``): SES (:func:`.smoothing.ses_forecasts`) on the event-adjusted
demand ``y_t / f_t`` — the "forecast the adjusted series, then re-apply the
calendar" scheme of STL/X-13 forecasting (FPP3 5.7 / 13.5) — so ``yhat_{c+h} = l_c f_{c+h}``;
alpha is chosen per SKU and cut by the one-step SSE of the adjusted series, whose RMSE times
``f_{c+h}`` is the interval scale of step h (errors scale with the event, as in a multiplicative
error model, FPP3 8.5). The backtest decides per SKU whether the calendar helps (:mod:`.backtest`).
Plain, not robust, SES: once the events are taken out, the two are within 0.007 RMSSE at every
backtest origin of the jewelry set (0.001 on its holdout), and robust SES costs ~5x the time.
One pass over time serves every cut (:func:`adjustment_factors`).
"""

from __future__ import annotations

import numpy as np

from .calendar import Event, event_weeks
from .forecast_types import CutForecasts
from .smoothing import SES_ALPHAS, ses_forecasts

BASELINE_WEEKS: int = 13
MIN_BASELINE_WEEKS: int = 4
PRIOR_OCCURRENCES: float = 0.5


def event_factors(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, key: np.ndarray, n_events: int,
                  baseline_weeks: int = BASELINE_WEEKS, prior_occurrences: float = PRIOR_OCCURRENCES
                  ) -> np.ndarray:
    """(n_cuts, len(key)) multiplicative event factors per cut, pooled over the rows of ``y``.

    ``key`` (>= T columns of ``y``, typically T + horizon) labels each week with its event-offset
    index in ``[0, n_events)`` or -1 (:func:`.calendar.event_weeks`). See the module docstring
    for the estimator; effects at cut c use columns before c only.
    """
    cuts = np.asarray(cuts, dtype=np.int64)
    key = np.asarray(key, dtype=np.int64)
    n_columns = y.shape[1]
    keep = np.arange(n_columns)[None, :] >= np.asarray(start)[:, None]
    total = np.where(keep, y, 0.0).sum(axis=0)                       # A_t
    factors = np.ones((cuts.size, key.size))
    if n_events == 0:
        return factors
    for j, cut in enumerate(cuts):
        cut = int(min(cut, n_columns))
        demand = total[:cut]
        event = key[:cut]
        plain = event < 0
        plain_sum = np.concatenate([[0.0], np.cumsum(np.where(plain, demand, 0.0))])
        plain_count = np.concatenate([[0], np.cumsum(plain)])
        t = np.arange(cut)
        lo = np.maximum(t - baseline_weeks, 0)
        hi = np.minimum(t + baseline_weeks + 1, cut)
        count = plain_count[hi] - plain_count[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            baseline = (plain_sum[hi] - plain_sum[lo]) / count
            log_ratio = np.log(demand / baseline)
        use = (~plain) & (count >= MIN_BASELINE_WEEKS) & (demand > 0) & (baseline > 0)
        sums = np.bincount(event[use], weights=log_ratio[use], minlength=n_events)
        seen = np.bincount(event[use], minlength=n_events)
        effect = sums / (seen + prior_occurrences)
        factors[j] = np.where(key >= 0, np.exp(effect[np.maximum(key, 0)]), 1.0)
    return factors


def calendar_factors(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, steps: int, week_starts: np.ndarray,
                     events: tuple[Event, ...]) -> np.ndarray | None:
    """:func:`event_factors` per cut over the history columns of ``y`` (first days ``week_starts``,
    ``datetime64``) and ``steps`` weeks after them (7 days apart), pooled over the rows of ``y``.
    None when no event week falls in the history (``ses_events`` would be plain SES)."""
    history_weeks = np.asarray(week_starts, dtype="datetime64[D]").reshape(-1)
    if history_weeks.size != y.shape[1]:
        raise ValueError(f"week_starts has {history_weeks.size} entries for {y.shape[1]} history columns")
    future = history_weeks[-1] + np.timedelta64(7, "D") * np.arange(1, steps + 1)
    weeks = event_weeks(np.concatenate([history_weeks, future]), events)
    if not (weeks.key[:y.shape[1]] >= 0).any():
        return None
    return event_factors(y, start, cuts, weeks.key, len(weeks.labels))


def adjustment_factors(factors: np.ndarray, cuts: np.ndarray, n_columns: int) -> np.ndarray:
    """(n_columns,) the factor each history week is adjusted by in the single pass of
    :func:`event_ses_forecasts`: weeks before the first cut use that cut's factors, weeks in
    ``[c_{j-1}, c_j)`` those of cut ``c_j`` — the latest estimate the forecast from ``c_j`` may
    know, so no cut sees factors estimated from data after it."""
    segment = np.searchsorted(np.asarray(cuts), np.arange(n_columns), side="right")
    segment = np.minimum(segment, len(cuts) - 1)
    return factors[segment, np.arange(n_columns)]


def event_ses_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                        factors: np.ndarray, alphas: np.ndarray = SES_ALPHAS) -> CutForecasts:
    """SES on ``y_t / f_t`` with ``yhat_{c+h} = l_c f_{c+h}`` (module docstring).

    ``factors`` (n_cuts, >= max(cuts) + horizon) from :func:`event_factors`. One pass over time
    serves every cut, as for the other models: week t is adjusted by :func:`adjustment_factors`
    (the factors of the first cut after it), and the forecast from cut ``c_j`` re-applies cut
    ``c_j``'s factors.
    """
    cuts = np.asarray(cuts, dtype=np.int64)
    n_columns = int(cuts.max())
    adjusted = y[:, :n_columns] / adjustment_factors(factors, cuts, n_columns)[None, :]
    fitted = ses_forecasts(adjusted, start, cuts, horizon, alphas)
    step_scale = np.stack([factors[j, int(cut):int(cut) + horizon] for j, cut in enumerate(cuts)])
    return CutForecasts(mean=fitted.mean * step_scale[None, :, :], insample_rmse=fitted.insample_rmse,
                        valid=fitted.valid, step_scale=step_scale)
