"""Total demand over a window of k weeks: the shared-error variance model, its calibration on
the rolling-origin backtest, window intervals, and PIT coverage for count forecasts.

**Window model.** For the weeks 1..k after a forecast origin, with weekly forecast means
``mu_h`` and variances ``sigma_h^2``::

    E D_k   = sum_{h<=k} mu_h
    Var D_k = sum_{h<=k} sigma_h^2 + theta (k^2 - k) sigma_1^2

The second term is the covariance of the weekly errors through the estimated level, which every
week of the window shares: a level estimated from about ``n_e = 1/theta`` weeks of data has an
error of variance ``sigma^2 / n_e`` common to all ``k^2 - k`` ordered pairs of weeks (for simple
exponential smoothing the exact lead-time-demand variance has the same ``k^2`` term, Hyndman,
Koehler, Ord & Snyder 2008, *Forecasting with Exponential Smoothing*, §6.6; the "level error"
of Silver, Pyke & Thomas 2017, §6.6 on forecast errors over the lead time). 'normal' family:
``D_k ~ Normal``; count families: Poisson / negative binomial matched to the two moments.

**Calibration.** ``theta`` is not assumed. Window totals are judged like weekly forecasts, by
the PIT (below): a normal total is inside its central interval or not; a count total contributes
the share of its PIT interval that lies inside. The fitted ``theta`` of a set of (SKU, origin, k)
totals is the smallest one whose ``FIT_LEVEL`` intervals cover them as often as they should
(:func:`fit_theta`; for normal totals the ``FIT_LEVEL`` order statistic of each total's critical
share, :func:`critical_theta`). ``theta = 0`` (no shared term, ``n_e = inf``) when the weekly
model already covers enough: the fit only widens. Judging count totals by plain interval
coverage instead would over-state it (a zero-heavy total sits inside its integer interval more
often than the level says) and leave the buffer of intermittent SKUs too thin. How the fits are
pooled over origins and classes: :func:`safestock.models.forecasting.coverage.calibrate_windows`.

**PIT coverage of count forecasts.** A central 80 % interval of a count distribution on a
mostly-zero series cannot cover 80 % of weeks (a zero week is always inside once ``P(0) > 10 %``).
Calibration of a discrete forecast is judged by its probability integral transform (PIT): an
outcome ``y`` with predictive cdf ``F`` has a PIT spread uniformly over ``[F(y-1), F(y)]``; the
expected share of it inside ``[(1-c)/2, (1+c)/2]`` averages to ``c`` exactly when the forecast is
calibrated (the non-randomised PIT of Czado, Gneiting & Held 2009, *Biometrics* 65, 1254-1261).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import special, stats

from .intervals import Bands

FIT_LEVEL: float = 0.95
MAX_FIT_CELLS: int = 10_000        # (SKU, origin) cells per group used to fit theta (strided sample)
THETA_MAX: float = 1.0             # theta = 1: the whole weekly error is shared (n_e = 1 week)
SEARCH_STEPS: int = 12               # count fit: at most this many evaluations inside the bracket
THETA_RESOLUTION: float = THETA_MAX / 512
SHARE_RESOLUTION: float = 1e-3       # count fit stops within 0.1 point of coverage above target
SATURATION_TOLERANCE: float = 0.005   # coverage (share) still worth widening for, see fit_theta


@dataclass(frozen=True)
class WindowErrors:
    """Backtest window totals for n SKUs, K origins, windows k = 1..H (cumulative over steps).

    mean:  (n, K, H) forecast total; base_var: (n, K, H) sum of the weekly variances;
    pair_var: (n, K, H) ``(k^2 - k) sigma_1^2``; actual: (n, K, H) realised total;
    is_count: (n,) count family (Poisson / negative binomial) instead of normal.
    """

    mean: np.ndarray
    base_var: np.ndarray
    pair_var: np.ndarray
    actual: np.ndarray
    is_count: np.ndarray

    @property
    def error(self) -> np.ndarray:
        """(n, K, H) realised minus forecast total over the first k weeks."""
        return self.actual - self.mean

    def rows(self, index: np.ndarray) -> "WindowErrors":
        return WindowErrors(self.mean[index], self.base_var[index], self.pair_var[index],
                            self.actual[index], self.is_count[index])

    def windows(self, steps: list[int]) -> "WindowErrors":
        """Only the window lengths at the given step indices (k - 1)."""
        return WindowErrors(self.mean[..., steps], self.base_var[..., steps], self.pair_var[..., steps],
                            self.actual[..., steps], self.is_count)


def window_errors(actual: np.ndarray, mean: np.ndarray, weekly_var: np.ndarray,
                  is_count: np.ndarray) -> WindowErrors:
    """Cumulative window totals of (n, K, H) weekly actuals, forecasts and variances."""
    steps = actual.shape[-1]
    k = np.arange(1, steps + 1, dtype=np.float64)
    total_actual = np.cumsum(actual, axis=-1)
    total_mean = np.cumsum(mean, axis=-1)
    return WindowErrors(mean=total_mean,
                        base_var=np.cumsum(weekly_var, axis=-1),
                        pair_var=(k * k - k) * weekly_var[..., :1],
                        actual=total_actual, is_count=np.asarray(is_count, dtype=bool))


def window_var(base_var: np.ndarray, pair_var: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """``Var D_k = base + theta * pair`` (theta broadcast over leading axes)."""
    theta = np.asarray(theta, dtype=np.float64)
    theta = theta.reshape(theta.shape + (1,) * (base_var.ndim - theta.ndim))
    return base_var + theta * pair_var


def demand_cdf(x: np.ndarray, mean: np.ndarray, var: np.ndarray, is_count: np.ndarray) -> np.ndarray:
    """P(D <= x): normal, or Poisson (var <= mean) / negative binomial matched to (mean, var).

    Count families are evaluated at ``floor(x)``; Poisson cdf = Q(floor(x) + 1, mu) (regularised
    upper incomplete gamma), NB(r, p) cdf = I_p(r, floor(x) + 1) with ``r = mu^2 / (var - mu)``,
    ``p = mu / var`` (regularised incomplete beta). Each family is evaluated only where used.
    """
    x, mean, var, is_count = (np.array(a, dtype=t) for a, t in zip(
        np.broadcast_arrays(x, mean, var, is_count), (float, float, float, bool)))
    mean = np.maximum(mean, 0.0)
    var = np.maximum(var, 0.0)
    out = np.empty(x.shape)
    normal = ~is_count
    sd = np.sqrt(var[normal])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[normal] = np.where(sd > 0, special.ndtr((x[normal] - mean[normal]) / sd),
                               (x[normal] >= mean[normal]).astype(float))
    count_x = np.floor(x[is_count])
    m, v = mean[is_count], var[is_count]
    cdf = np.where(count_x < 0, 0.0, 1.0)                   # below 0, or a zero-mean forecast
    live = (count_x >= 0) & (m > 0)
    m, v, k1 = m[live], v[live], count_x[live] + 1.0
    negbin = v > m * (1 + 1e-9)
    live_cdf = np.empty(m.shape)
    r = m[negbin] ** 2 / (v[negbin] - m[negbin])
    p, k1_nb = m[negbin] / v[negbin], k1[negbin]
    nb_cdf = p ** r                                         # P(0) = p^r: no incomplete beta needed
    above = k1_nb > 1.0
    nb_cdf[above] = special.betainc(r[above], k1_nb[above], p[above])
    live_cdf[negbin] = nb_cdf
    live_cdf[~negbin] = special.gammaincc(k1[~negbin], m[~negbin])
    cdf[live] = live_cdf
    out[is_count] = cdf
    return out


@dataclass(frozen=True)
class WindowCells:
    """Flat arrays over selected (SKU, origin, k) window totals (see :func:`window_cells`)."""

    actual: np.ndarray
    mean: np.ndarray
    base_var: np.ndarray
    pair_var: np.ndarray
    is_count: np.ndarray
    origin: np.ndarray

    def select(self, where: np.ndarray) -> "WindowCells":
        """The cells ``where`` (a mask or index over the flat cells)."""
        return WindowCells(*(getattr(self, item.name)[where] for item in fields(self)))

    def pit(self, theta: float, levels: tuple[float, ...], where: np.ndarray | None = None) -> list[np.ndarray]:
        """PIT shares (:func:`pit_share`) of the cells ``where`` (all by default) inside their
        central window interval at ``theta``, one array per level (0/1 for normal cells); the
        cdf is evaluated once for all levels."""
        cells = self if where is None else self.select(where)
        bounds = pit_bounds(cells.actual, cells.mean, window_var(cells.base_var, cells.pair_var, theta),
                            cells.is_count)
        return [pit_share(*bounds, level) for level in levels]


def window_cells(windows: WindowErrors, use: np.ndarray) -> WindowCells:
    """The window totals of the used (n, K) cells, flattened (row-major: SKU, origin, k)."""
    steps = windows.actual.shape[-1]
    origin = np.broadcast_to(np.arange(use.shape[1])[None, :], use.shape)[use]
    return WindowCells(actual=windows.actual[use].ravel(), mean=windows.mean[use].ravel(),
                       base_var=windows.base_var[use].ravel(), pair_var=windows.pair_var[use].ravel(),
                       is_count=np.repeat(np.broadcast_to(windows.is_count[:, None], use.shape)[use], steps),
                       origin=np.repeat(origin, steps))


def critical_theta(cells: WindowCells, level: float) -> np.ndarray:
    """Per normal window total, the smallest ``theta`` in ``[0, THETA_MAX]`` that puts it inside
    its central ``level`` interval (inf if none does): inside iff ``e^2 <= z^2 (base + theta pair)``,
    i.e. ``theta >= (e^2 / z^2 - base) / pair`` (inside-ness grows with the variance)."""
    z = special.ndtri(0.5 + level / 2.0)
    needed = (cells.actual - cells.mean) ** 2 / (z * z) - cells.base_var
    with np.errstate(divide="ignore", invalid="ignore"):
        threshold = np.where(needed <= 0, 0.0, np.where(cells.pair_var > 0, needed / cells.pair_var, np.inf))
    return np.where(threshold <= THETA_MAX, threshold, np.inf)


def fit_theta(cells: WindowCells, level: float = FIT_LEVEL, where: np.ndarray | None = None) -> float:
    """Smallest ``theta`` in ``[0, THETA_MAX]`` whose central ``level`` window intervals cover the
    cells ``where`` (all by default) as often as they should, judged by the mean PIT share
    (:meth:`WindowCells.pit`); 0 without cells.

    Normal cells only: the ``level`` order statistic of the :func:`critical_theta` thresholds
    (exact; ``THETA_MAX`` when even that is not enough). With count cells, whose PIT shares are
    fractions: the root of (mean share - level), which grows with ``theta``, by the Illinois
    method (modified regula falsi; Dowell & Jarratt 1971), to ``THETA_RESOLUTION`` or
    ``SHARE_RESOLUTION`` above the level. The share saturates: a count distribution matched to
    two moments puts extra variance mostly on zero, so its upper tail stops widening. When
    ``THETA_MAX`` does not reach ``level``, the fit is the smallest ``theta`` within
    ``SATURATION_TOLERANCE`` of what ``THETA_MAX`` reaches (more would add buffer that buys next
    to no coverage).
    """
    part = cells if where is None else cells.select(where)
    if not part.actual.size:
        return 0.0
    if not part.is_count.any():
        order = np.sort(critical_theta(part, level))
        needed = order[min(int(np.ceil(level * order.size)) - 1, order.size - 1)]
        return float(min(needed, THETA_MAX)) if np.isfinite(needed) else THETA_MAX

    fixed = part.pair_var <= 0           # 1-week windows: their share does not depend on theta
    fixed_sum = float(part.select(fixed).pit(0.0, (level,))[0].sum())
    moving = part.select(~fixed)

    def share(theta: float) -> float:
        return (fixed_sum + float(moving.pit(theta, (level,))[0].sum())) / part.actual.size

    at_zero = share(0.0)
    if at_zero >= level:
        return 0.0
    widest = share(THETA_MAX)
    target = level if widest >= level else widest - SATURATION_TOLERANCE   # saturated: just below
    if at_zero >= target:
        return 0.0
    # Illinois (modified regula falsi) on the increasing share: few evaluations of the cdf
    lo, hi, low_gap, high_gap, last_side = 0.0, THETA_MAX, at_zero - target, widest - target, 0
    for _ in range(SEARCH_STEPS):
        if hi - lo <= THETA_RESOLUTION or high_gap <= SHARE_RESOLUTION:
            break
        mid = lo + (hi - lo) * low_gap / (low_gap - high_gap)
        mid = min(max(mid, lo + THETA_RESOLUTION / 2), hi - THETA_RESOLUTION / 2)
        gap = share(mid) - target
        if gap >= 0.0:
            hi, high_gap = mid, gap
            low_gap = low_gap / 2 if last_side == 1 else low_gap
            last_side = 1
        else:
            lo, low_gap = mid, gap
            high_gap = high_gap / 2 if last_side == -1 else high_gap
            last_side = -1
    return hi


def sample_cells(use: np.ndarray, max_cells: int = MAX_FIT_CELLS) -> np.ndarray:
    """``use`` (n, K) thinned to at most ``max_cells`` True cells by a fixed stride (deterministic)."""
    cells = np.flatnonzero(use.ravel())
    if cells.size <= max_cells:
        return use
    thinned = np.zeros(use.size, dtype=bool)
    thinned[cells[:: -(-cells.size // max_cells)]] = True
    return thinned.reshape(use.shape)


def level_error_weeks(theta: np.ndarray) -> np.ndarray:
    """``n_e = 1 / theta`` (inf where theta is 0: no shared level error)."""
    theta = np.asarray(theta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(theta > 0, 1.0 / np.where(theta > 0, theta, 1.0), np.inf)


def pit_share(upper: np.ndarray, lower: np.ndarray, level: float) -> np.ndarray:
    """Share of a PIT spread uniformly over ``[lower, upper] = [F(y-1), F(y)]`` that lies inside
    ``[(1-level)/2, (1+level)/2]`` (Czado, Gneiting & Held 2009); for ``upper == lower`` (a
    continuous forecast) the indicator of the point being inside."""
    low, high = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    width = upper - lower
    overlap = np.clip(np.minimum(upper, high) - np.maximum(lower, low), 0.0, None)
    point = ((upper >= low) & (upper <= high)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width > 0, overlap / np.where(width > 0, width, 1.0), point)


def pit_bounds(actual: np.ndarray, mean: np.ndarray, var: np.ndarray,
               is_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F(y), F(ceil y - 1))`` of each outcome under the normal / matched count forecast (for a
    normal forecast both are ``F(y)``): the PIT interval of :func:`pit_share`."""
    upper = demand_cdf(actual, mean, var, is_count)
    lower = np.where(is_count, demand_cdf(np.ceil(actual) - 1.0, mean, var, is_count), upper)
    return upper, lower


def pit_coverage(actual: np.ndarray, mean: np.ndarray, var: np.ndarray, is_count: np.ndarray,
                 level: float) -> np.ndarray:
    """:func:`pit_share` of each outcome under the normal / matched count forecast (for a normal
    forecast: whether ``F(y)`` lies inside, i.e. plain interval coverage)."""
    return pit_share(*pit_bounds(actual, mean, var, is_count), level)


def window_interval(mean: np.ndarray, var: np.ndarray, is_count: np.ndarray,
                    levels: tuple[float, ...]) -> np.ndarray:
    """Quantiles (len(levels), ...) of the window total: normal, or the smallest integer ``q``
    with ``F(q) >= level`` for the matched Poisson / negative binomial (clipped at 0)."""
    mean, var, is_count = np.broadcast_arrays(np.maximum(np.asarray(mean, float), 0.0),
                                              np.maximum(np.asarray(var, float), 0.0),
                                              np.asarray(is_count, bool))
    out = []
    negbin = var > mean * (1 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(negbin, mean * mean / np.where(negbin, var - mean, 1.0), 1.0)
        p = np.where(negbin, mean / np.where(negbin, var, 1.0), 0.5)
    for level in levels:
        normal = mean + np.sqrt(var) * special.ndtri(level)
        count = np.where(negbin, stats.nbinom.ppf(level, np.maximum(r, 1e-12), p),
                         stats.poisson.ppf(level, mean))
        count = np.where(mean > 0, count, 0.0)
        out.append(np.maximum(np.where(is_count, count, normal), 0.0))
    return np.stack(out)


@dataclass(frozen=True)
class WindowDemand(Bands):
    """Total demand over weeks ``first .. first + weeks - 1`` after the forecast origin, per SKU:
    the (n,) bounds and sd of :class:`.intervals.Bands` plus the mean."""

    mean: np.ndarray


def window_demand(mean: np.ndarray, sd: np.ndarray, family: np.ndarray, level_error_weeks: np.ndarray,
                  weeks: int, first: int = 0) -> WindowDemand:
    """The window model for any span of a forecast (e.g. a ``ForecastResult``'s ``mean``, ``sd``,
    ``family`` and ``level_error_weeks``): weeks ``first .. first + weeks - 1`` (0-based steps)::

        E = sum_h mu_h,   Var = sum_h sigma_h^2 + theta (k^2 - k) sigma_1^2,   theta = 1 / n_e

    with ``sigma_1`` the first week of the span and ``k = weeks``; 'normal' family -> normal
    quantiles, 'poisson' / 'negbin' -> the matched count distribution (:func:`window_interval`).
    """
    mean = np.atleast_2d(np.asarray(mean, dtype=float))
    var = np.atleast_2d(np.asarray(sd, dtype=float)) ** 2
    if weeks < 1 or first < 0 or first + weeks > mean.shape[1]:
        raise ValueError(f"weeks {first}..{first + weeks - 1} are outside the {mean.shape[1]}-week forecast")
    span = slice(first, first + weeks)
    n_e = np.asarray(level_error_weeks, dtype=float)
    theta = np.where(np.isfinite(n_e) & (n_e > 0), 1.0 / np.where(n_e > 0, n_e, 1.0), 0.0)
    total_mean = mean[:, span].sum(axis=1)
    total_var = var[:, span].sum(axis=1) + theta * (weeks * weeks - weeks) * var[:, first]
    is_count = np.isin(np.asarray(family).astype(str), ["poisson", "negbin"])
    lo95, lo80, hi80, hi95 = window_interval(total_mean, total_var, is_count, (0.025, 0.10, 0.90, 0.975))
    return WindowDemand(mean=total_mean, sd=np.sqrt(total_var), lo80=lo80, hi80=hi80, lo95=lo95, hi95=hi95)
