"""The demand rate of a new SKU (fewer than 13 weeks of history): its weeks after the first sale,
shrunk toward a first-week-based guess calibrated on established SKUs' launches (engine step 5)."""

from __future__ import annotations

import numpy as np

NEW_PRIOR_WEEKS: float = 1.0


def new_sku_rate(y: np.ndarray, start: np.ndarray, rows: np.ndarray,
                 prior_weeks: float = NEW_PRIOR_WEEKS, pool_weeks: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """Weekly rate and sd of new SKUs ``rows``, corrected for the first-sale selection effect.

    ``start`` is the first sale, so week 1 is positive by construction and its mean
    ``E[y_1 | y_1 > 0] = lambda / (1 - e^-lambda)`` (Poisson) overstates the rate. Only the weeks
    after the first are an unselected sample. With ``w`` weeks seen, first-week demand ``f`` and
    ``S`` the demand of weeks 2..w::

        level = (S + k0 rho f) / (w - 1 + k0),     k0 = prior_weeks (1)
        rho   = sum_j S_j / sum_j (w_j - 1) f_j

    ``rho f`` is a prior guess of the rate from the first week's size, with ``rho`` the pooled
    ratio of later weekly demand to first-week demand over every SKU whose listing is observed
    (``start > 0``) and has >= 2 weeks, using its first ``pool_weeks`` weeks (so established
    SKUs' launches calibrate it). ``E[S] = (w - 1) lambda`` and ``E[rho f] ~ lambda`` over the
    pool, so the estimator is unbiased in aggregate; with one week seen it is ``rho f``. Without
    a pool, ``rho = 1`` (the plain mean of the weeks seen). sd: sample sd of weeks 2..w around
    ``level`` (0 with fewer than 2 such weeks; the caller applies a CV floor).
    """
    n_columns = y.shape[1]
    cols = np.arange(n_columns)[None, :]
    first_value = y[np.arange(y.shape[0]), np.minimum(start, n_columns - 1)]
    pool = (start > 0) & (start < n_columns - 1)
    if pool.any():
        later = (cols > start[pool, None]) & (cols < start[pool, None] + pool_weeks)
        later_sum = np.where(later, y[pool], 0.0).sum(axis=1)
        denominator = float((later.sum(axis=1) * first_value[pool]).sum())
        rho = float(later_sum.sum()) / denominator if denominator > 0 else 1.0
    else:
        rho = 1.0
    after = cols > start[rows, None]
    weeks_after = after.sum(axis=1)
    total_after = np.where(after, y[rows], 0.0).sum(axis=1)
    level = (total_after + prior_weeks * rho * first_value[rows]) / (weeks_after + prior_weeks)
    sq = np.where(after, (y[rows] - level[:, None]) ** 2, 0.0).sum(axis=1)
    sample_sd = np.where(weeks_after >= 2, np.sqrt(sq / np.maximum(weeks_after - 1, 1)), 0.0)
    return level, sample_sd
