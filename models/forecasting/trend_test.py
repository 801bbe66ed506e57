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


def trend_groups(y: np.ndarray, start: np.ndarray, groups: np.ndarray, season_length: int = 52,
                 min_group: int = 30, t_threshold: float = TREND_T) -> np.ndarray:
    """(n,) selection-group labels: ``groups`` (the classes), with ``TREND_SUFFIX`` appended for
    the SKUs whose seasonal-difference t exceeds ``t_threshold`` in absolute value
    (:func:`seasonal_difference_t`). A class is split only when both its trend and its other SKUs
    number at least ``min_group`` (the selection prior's minimum, so neither part falls back to
    the whole candidate group's prior)."""
    labels = np.asarray(groups).astype(str).astype(object)
    t = seasonal_difference_t(y, start, season_length)
    trending = np.abs(np.nan_to_num(t, nan=0.0)) > t_threshold
    out = labels.copy()
    for key in np.unique(labels):
        member = labels == key
        flagged = member & trending
        if flagged.sum() >= min_group and (member & ~trending).sum() >= min_group:
            out[flagged] = key + TREND_SUFFIX
    return out
