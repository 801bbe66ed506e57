"""Recent demand-occurrence rate shrunk toward the SKU's long-run rate (gamma-Poisson posterior).

For intermittent / lumpy demand the recent rate of demand occurrences is estimated from few
events: after a quiet spell SES-type rates (TSB's probability, SES on the weekly series) fall
although the long-run rate has not changed, and the forecast runs low (docs/forecasting.md,
round 11). Treating the weekly occurrences of the last ``W`` weeks as Poisson with rate ``p`` and
putting a gamma prior on ``p`` centred at the SKU's long-run occurrence rate ``p_L`` (all weeks
before the cut since its first week) and worth ``k0`` occurrences (shape ``k0``, rate
``k0 / p_L``), the posterior mean is (conjugate gamma-Poisson, Gelman et al., *Bayesian Data
Analysis* 3rd ed. §2.6)

    p_hat = (k0 + k_W) / (k0 / p_L + n_W)  =  Z k_W / n_W + (1 - Z) p_L,   Z = n_W p_L / (n_W p_L + k0),

with ``k_W`` the weeks with demand among the last ``n_W = min(W, weeks seen)``: the recent rate
gets weight in proportion to the evidence, the occurrences expected in the window (``n_W p_L``),
as in Bühlmann credibility. The forecast is ``p_hat × z_L`` with ``z_L`` the SKU's mean
non-zero size before the cut (sizes are estimated from all events; the rate is what collapses
after a quiet spell). ``k0`` is chosen per SKU and cut from :data:`PRIOR_OCCURRENCES` by
in-sample one-step SSE, like every other candidate's parameters; the backtest then decides
whether the candidate is used at all. Compare SBA (Syntetos & Boylan 2005, IJF 21) and TSB
(Teunter, Syntetos & Babai 2011, EJOR 214), whose rates are exponentially weighted without
regard to how many events they rest on.
"""

from __future__ import annotations

import numpy as np

from .forecast_types import CutForecasts, cut_error_counts, rmse_from_sse

RECENT_WEEKS: int = 26
PRIOR_OCCURRENCES: np.ndarray = np.array([0.5, 1.0, 2.0, 4.0, 8.0])


def _posterior_forecast(k_recent: np.ndarray, n_recent: np.ndarray, k_all: np.ndarray, n_all: np.ndarray,
                        q_all: np.ndarray, k0: float) -> np.ndarray:
    """Posterior-mean rate × long-run mean size (same shapes in and out); 0 where no event yet."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p_long = np.where(n_all > 0, k_all / np.maximum(n_all, 1), 0.0)
        size = np.where(k_all > 0, q_all / np.maximum(k_all, 1), 0.0)
        evidence = n_recent * p_long
        weight = np.where(evidence > 0, evidence / (evidence + k0), 0.0)
        recent = np.where(n_recent > 0, k_recent / np.maximum(n_recent, 1), 0.0)
        return (weight * recent + (1.0 - weight) * p_long) * size


def shrunk_rate_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                          recent_weeks: int = RECENT_WEEKS, prior_occurrences: np.ndarray = PRIOR_OCCURRENCES,
                          min_train: int = 2) -> CutForecasts:
    """Flat forecasts ``p_hat × z_L`` (module docstring) from every cut; (n, T) ``y``.

    In-sample one-step errors ``y_t - f_t`` for ``start < t < c`` (``f_t`` from the weeks before
    t) give each grid value of ``k0`` its SSE up to every cut; the smallest wins per SKU and cut.
    """
    y = np.asarray(y, dtype=np.float64)
    n, n_columns = y.shape
    start = np.asarray(start, dtype=np.int64)
    cuts = np.asarray(cuts, dtype=np.int64)
    cols = np.arange(n_columns + 1)[None, :]
    inside = np.arange(n_columns)[None, :] >= start[:, None]
    masked = np.where(inside, y, 0.0)
    zero = np.zeros((n, 1))
    q_cum = np.concatenate([zero, np.cumsum(masked, axis=1)], axis=1)               # (n, T + 1): sums before t
    k_cum = np.concatenate([zero, np.cumsum(masked > 0, axis=1)], axis=1)
    n_all = np.maximum(cols - start[:, None], 0)                                     # weeks seen before t
    n_recent = np.minimum(n_all, recent_weeks)
    back = np.clip(cols - n_recent, 0, n_columns)
    rows = np.arange(n)[:, None]
    k_recent = k_cum - k_cum[rows, back]
    # one-step forecasts for every week t (from the weeks before t) and at every cut
    grid = np.asarray(prior_occurrences, dtype=np.float64)
    counts = cut_error_counts(start, cuts)
    scored = np.arange(n_columns)[None, :] > start[:, None]
    csum_cols = np.concatenate([zero, np.zeros((n, n_columns))], axis=1)
    best_sse = np.full((n, cuts.size), np.inf)
    best_level = np.zeros((n, cuts.size))
    for k0 in grid:
        f = _posterior_forecast(k_recent, n_recent, k_cum, n_all, q_cum, float(k0))   # (n, T + 1)
        err_sq = np.where(scored, (masked - f[:, :-1]) ** 2, 0.0)
        csum_cols[:, 1:] = np.cumsum(err_sq, axis=1)
        sse = csum_cols[:, cuts]
        better = sse < best_sse
        best_sse = np.where(better, sse, best_sse)
        best_level = np.where(better, f[:, cuts], best_level)
    rmse = rmse_from_sse(best_sse, counts)
    valid = ((cuts[None, :] - start[:, None]) >= min_train) & (k_cum[:, cuts] > 0)
    mean = np.where(valid[:, :, None], np.repeat(best_level[:, :, None], horizon, axis=2), np.nan)
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)
