"""A SKU's own test for a persistent trend, used to refine the selection groups.

The backtest selection (:mod:`.backtest`) pools evidence per class: each SKU's *reference* model
is its class's pooled backtest winner, and a single model replaces it only with paired evidence
over 4 origins. In a class that mixes seasonal and steadily trending SKUs the pooled winner is
a level model (``seasonal_ses``), and 4 origins rarely give a trending SKU the paired evidence
to replace it by ``holt``, so most trending SKUs are forecast with a lag (docs/forecasting.md,
round 11). Pooling per *(class, trend)* group instead lets the SKUs whose own history shows a
trend get the reference their group's backtest picks (aggregate selection over more homogeneous
groups, Fildes & Petropoulos 2015, IJF 31); the backtest, not this test, decides the model.

The test: the mean of the seasonal differences over the last season,
``d_t = y_t - y_{t-m}`` for the last ``m`` weeks (``m`` = season length), is
``m`` × the weekly trend under a linear trend and 0 for a stable (even seasonal) level;
seasonal differencing removes a stable season (FPP3 §9.1). Trend where the one-sample t
statistic ``mean(d) / (sd(d) / sqrt(m))`` exceeds :data:`TREND_T` in absolute value, which also
needs 2 full seasons of history since the SKU's first week.

For count (intermittent / lumpy) SKUs the least-squares slope's t over the whole history
(:func:`slope_t`) has the power the seasonal differences of mostly-zero weeks lack. Pooling the
flagged count SKUs apart and offering them ``holt`` was measured and not kept
(docs/forecasting.md §6.10); the test and ``run_candidates(..., trend_only=...)`` stay for it.
"""

from __future__ import annotations

import numpy as np

# |t| above which the seasonal differences' mean counts as a trend (two-sided 1 % level of the
# t distribution with 51 degrees of freedom is 2.68; 2.0 ~ 5 %): a persistent trend of 0.5 % a
# week gives a year-on-year change of 30 %, t ~ 4-10 on weekly Poisson-like noise.
TREND_T: float = 2.68
TREND_SUFFIX: str = "|trend"


def seasonal_difference_t(y: np.ndarray, start: np.ndarray, season_length: int = 52) -> np.ndarray:
    """(n,) t statistic of the mean of ``y_t - y_{t-m}`` over the last ``m`` weeks of ``y`` (n, T);
    NaN where the SKU has fewer than 2 m weeks since ``start`` or the differences do not vary."""
    y = np.asarray(y, dtype=np.float64)
    n, weeks = y.shape
    m = int(season_length)
    out = np.full(n, np.nan)
    if weeks < 2 * m:
        return out
    diff = y[:, -m:] - y[:, -2 * m:-m]
    mean = diff.mean(axis=1)
    sd = diff.std(axis=1, ddof=1)
    enough = (weeks - np.asarray(start)) >= 2 * m
    ok = enough & (sd > 0)
    out[ok] = mean[ok] / (sd[ok] / np.sqrt(m))
    return out


def slope_t(y: np.ndarray, start: np.ndarray, season_length: int = 52) -> np.ndarray:
    """(n,) t statistic of the least-squares slope of weekly demand on the week number over all of
    a SKU's weeks since ``start`` (``b / se(b)``, ``se(b)^2 = s^2 / sum (t - tbar)^2``, ``s^2`` the
    residual variance on w - 2 degrees of freedom; e.g. Wooldridge, *Introductory Econometrics*,
    ch. 2 and 4); NaN with fewer than 2 ``season_length`` weeks or no residual variation.

    The test for count (intermittent / lumpy) SKUs: most of their weeks are 0, so the year-on-year
    differences of :func:`seasonal_difference_t` (one season of differences, each the difference of
    two noisy counts) rarely reach significance, whereas the slope's standard error falls as
    w^-1.5 with the whole history (on the closed-loop worlds' growing SKUs classed intermittent,
    0.5-1 %/week over 156 weeks: 75 % flagged at |t| > 2.68 against 30 % by the seasonal
    differences, with 0.5 % of the stationary count SKUs flagged). Over two or more whole
    seasons a stable season is close to orthogonal to the week number."""
    y = np.asarray(y, dtype=np.float64)
    n, weeks = y.shape
    start = np.asarray(start, dtype=np.int64)
    week = np.arange(weeks, dtype=np.float64)[None, :]
    inside = week >= start[:, None]
    count = inside.sum(axis=1).astype(np.float64)
    out = np.full(n, np.nan)
    enough = count >= 2 * season_length
    if not enough.any():
        return out
    safe = np.maximum(count, 1.0)
    t_mean = np.where(inside, week, 0.0).sum(axis=1) / safe
    y_in = np.where(inside, y, 0.0)
    y_mean = y_in.sum(axis=1) / safe
    centred = np.where(inside, week - t_mean[:, None], 0.0)
    sxx = (centred * centred).sum(axis=1)
    slope = (centred * y_in).sum(axis=1) / np.maximum(sxx, 1e-12)
    residual = np.where(inside, y_in - y_mean[:, None] - slope[:, None] * centred, 0.0)
    variance = (residual * residual).sum(axis=1) / np.maximum(count - 2.0, 1.0)
    ok = enough & (variance > 0)
    out[ok] = slope[ok] / np.sqrt(variance[ok] / sxx[ok])
    return out


def trend_flags(t: np.ndarray, t_threshold: float = TREND_T) -> np.ndarray:
    """(n,) bool: ``|t| > t_threshold`` (NaN: no trend)."""
    return np.abs(np.nan_to_num(np.asarray(t, dtype=np.float64), nan=0.0)) > t_threshold


def trend_groups(y: np.ndarray, start: np.ndarray, groups: np.ndarray, season_length: int = 52,
                 min_group: int = 30, t_threshold: float = TREND_T,
                 t: np.ndarray | None = None) -> np.ndarray:
    """(n,) selection-group labels: ``groups`` (the classes), with ``TREND_SUFFIX`` appended for
    the SKUs whose trend t exceeds ``t_threshold`` in absolute value (``t``; default the
    seasonal-difference t, :func:`seasonal_difference_t`). A class is split only when both its
    trend and its other SKUs number at least ``min_group`` (the selection prior's minimum, so
    neither part falls back to the whole candidate group's prior)."""
    labels = np.asarray(groups).astype(str).astype(object)
    if t is None:
        t = seasonal_difference_t(y, start, season_length)
    trending = trend_flags(t, t_threshold)
    out = labels.copy()
    for key in np.unique(labels):
        member = labels == key
        flagged = member & trending
        if flagged.sum() >= min_group and (member & ~trending).sum() >= min_group:
            out[flagged] = key + TREND_SUFFIX
    return out
