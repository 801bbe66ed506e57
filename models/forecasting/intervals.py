"""Prediction intervals: empirical (backtest) for smooth/erratic, count distributions otherwise.

Smooth/erratic ("normal" family; FPP3 5.5 "prediction intervals from bootstrapped/empirical
residuals", and the empirical-quantile approach of Williams & Goodman 1971): backtest errors of
the selected model are standardised per SKU by its in-sample one-step RMSE at that origin,
``z = (y - f) / sigma``. For each horizon step the quantiles (2.5, 10, 90, 97.5 %) and the root
mean square of ``z`` are pooled over the SKUs of a group (class x model; the class, then all
SKUs, when a group has fewer than ``MIN_POOL_SKUS`` SKUs). Intervals are
``f + sigma_i q_h`` (so the per-SKU scale comes from the SKU's own data, the shape from the
pool), clipped at 0; ``sd = sigma_i rms_h``. Beyond the backtest horizon ``rms_h^2`` is
extrapolated linearly in h (least squares, slope >= 0, the variance growth of SES, FPP3 8.7)
and the quantiles scaled by the same factor.

Intermittent/lumpy (and new SKUs with zero weeks): Poisson when the training dispersion
``var/mean <= POISSON_MAX_DISPERSION``, otherwise negative binomial with mean ``mu`` and variance
``phi mu`` (``n = mu/(phi-1)``, ``p = 1/phi``), the standard count models for intermittent demand
(Syntetos & Boylan 2006; Snyder, Ord & Beaumont 2012, IJF 28). ``sd = sqrt(phi mu)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

LEVELS: tuple[float, float, float, float] = (0.025, 0.10, 0.90, 0.975)
MIN_POOL_SKUS: int = 30
MAX_POOL_ROWS: int = 20_000
RECURRENCE_MAX_Q: float = 60.0
POISSON_MAX_DISPERSION: float = 1.1


@dataclass(frozen=True)
class IntervalTable:
    """Pooled standardised-error shape for horizon steps 1..H: quantiles (H, 4), rms (H,)."""

    quantiles: np.ndarray
    rms: np.ndarray


@dataclass(frozen=True)
class Bands:
    """(n, H) interval bounds and standard deviation."""

    sd: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray


def gaussian_table(horizon: int, alpha: float = 0.2) -> IntervalTable:
    """Fallback shape when nothing can be pooled: normal errors, SES variance growth
    ``1 + (h-1) alpha^2`` (FPP3 table 5.2 / 8.7)."""
    growth = np.sqrt(1.0 + np.arange(horizon) * alpha ** 2)
    q = stats.norm.ppf(np.asarray(LEVELS))
    return IntervalTable(quantiles=growth[:, None] * q[None, :], rms=growth)


def _extend(table: IntervalTable, horizon: int) -> IntervalTable:
    """Extend a table over ``horizon`` steps with linear growth of rms^2 in h."""
    steps = table.rms.size
    if horizon <= steps:
        return IntervalTable(table.quantiles[:horizon], table.rms[:horizon])
    h = np.arange(steps, dtype=np.float64)
    var = table.rms ** 2
    slope = max(float(np.polyfit(h, var, 1)[0]), 0.0) if steps > 1 else 0.0
    intercept = float(var.mean() - slope * h.mean())
    fitted_end = max(intercept + slope * (steps - 1), 1e-12)
    extra = np.arange(steps, horizon, dtype=np.float64)
    factor = np.sqrt(np.maximum(intercept + slope * extra, fitted_end) / fitted_end)
    quantiles = np.vstack([table.quantiles, table.quantiles[-1][None, :] * factor[:, None]])
    rms = np.concatenate([table.rms, table.rms[-1] * factor])
    return IntervalTable(quantiles=quantiles, rms=rms)


def pooled_table(z: np.ndarray, use: np.ndarray) -> IntervalTable | None:
    """Quantiles and rms per horizon step of z (n, K, h) over the used (n, K) cells."""
    rows = z[use]                                                       # (cells, h)
    rows = rows[np.all(np.isfinite(rows), axis=1)]
    if rows.shape[0] == 0:
        return None
    if rows.shape[0] > MAX_POOL_ROWS:
        rows = rows[:: -(-rows.shape[0] // MAX_POOL_ROWS)]
    quantiles = np.quantile(rows, LEVELS, axis=0).T                     # (h, 4)
    quantiles = np.maximum.accumulate(quantiles, axis=1)
    rms = np.sqrt(np.mean(rows * rows, axis=0))
    return IntervalTable(quantiles=quantiles, rms=rms)


def table_per_sku(z: np.ndarray, use: np.ndarray, fine_group: np.ndarray, coarse_group: np.ndarray,
                  horizon: int) -> tuple[list[IntervalTable], np.ndarray]:
    """Pool per fine group, falling back to the coarse group, then to everything.

    Returns the distinct tables and, per SKU, the index of its table.
    """
    n = z.shape[0]
    has_data = use.any(axis=1)
    tables: list[IntervalTable] = []
    which = np.full(n, -1, dtype=np.int64)
    overall = pooled_table(z, use)
    tables.append(_extend(overall, horizon) if overall is not None else gaussian_table(horizon))
    which[:] = 0
    for groups in (coarse_group, fine_group):
        for key in np.unique(groups):
            members = groups == key
            if (members & has_data).sum() < MIN_POOL_SKUS:
                continue
            table = pooled_table(z[members], use[members])
            if table is None:
                continue
            tables.append(_extend(table, horizon))
            which[members] = len(tables) - 1
    return tables, which


def common_shocks(error: np.ndarray, mean: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of the backtest errors that all SKUs share: a relative shock per origin and step.

    With errors ``e_ikh = y - f`` of SKUs i at origin k, step h (``use`` (n, K) cells counted):
    ``r_kh = sum_i e_ikh / sum_i f_ikh`` (the group's relative error), idiosyncratic residuals
    ``u_ikh = e_ikh - f_ikh r_kh``. Under ``e = f eta + u`` with a shock ``eta_kh`` of variance
    tau^2 shared by the SKUs, ``E[r^2] = tau^2 + sum_i Var u / F^2``, so
    ``tau^2 = mean_kh (r_kh^2 - sum_i u_ikh^2 / F_kh^2)``, at least 0 (a random-effects moment
    estimator, cf. DerSimonian & Laird 1986). Returns ``r`` (K, h) and ``tau2`` (K + 1,):
    entry k leaves origin k out (for cross-fitted coverage), the last uses every origin.
    """
    n_origins = error.shape[1]
    weight = use[:, :, None].astype(np.float64)
    total_mean = (np.nan_to_num(mean) * weight).sum(axis=0)                 # (K, h)
    total_error = (np.nan_to_num(error) * weight).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shock = np.where(total_mean > 0, total_error / total_mean, 0.0)
        resid = ((np.nan_to_num(error) - np.nan_to_num(mean) * shock[None]) ** 2 * weight).sum(axis=0)
        excess = np.where(total_mean > 0, shock ** 2 - resid / total_mean ** 2, np.nan)
    tau2 = np.zeros(n_origins + 1)
    for k in range(n_origins + 1):
        kept = np.delete(excess, k, axis=0) if k < n_origins else excess
        kept = kept[np.isfinite(kept)]
        tau2[k] = max(float(kept.mean()), 0.0) if kept.size else 0.0
    return shock, tau2


def shocks_per_group(error: np.ndarray, mean: np.ndarray, use: np.ndarray,
                     groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`common_shocks` per group (demand class) with at least ``MIN_POOL_SKUS`` SKUs with
    data, else over all SKUs: ``r`` per SKU (n, K, h) and ``tau2`` per SKU (n, K + 1)."""
    shock_all, tau2_all = common_shocks(error, mean, use)
    shock = np.broadcast_to(shock_all[None], error.shape).copy()
    tau2 = np.broadcast_to(tau2_all[None], (error.shape[0], tau2_all.size)).copy()
    has_data = use.any(axis=1)
    for key in np.unique(groups):
        members = groups == key
        if (members & has_data).sum() < MIN_POOL_SKUS:
            continue
        group_shock, group_tau2 = common_shocks(error[members], mean[members], use[members])
        shock[members] = group_shock[None]
        tau2[members] = group_tau2[None]
    return shock, tau2


def empirical_bands(mean: np.ndarray, sigma: np.ndarray, tables: list[IntervalTable],
                    which: np.ndarray, common_sd: np.ndarray | None = None) -> Bands:
    """Bands ``mean + s q_h`` (clipped at 0) and ``sd = s rms_h``; mean (n, H), sigma (n,) or per
    step (n, H). ``s = sigma``, or with a shared shock of sd ``common_sd`` (n, H) (see
    :func:`common_shocks`) ``s = sqrt(sigma^2 + (common_sd / rms_h)^2)``: the idiosyncratic shape
    scaled to the total sd ``sqrt(sigma^2 rms_h^2 + common_sd^2)``."""
    horizon = mean.shape[1]
    quantiles = np.stack([t.quantiles[:horizon] for t in tables])[which]   # (n, H, 4)
    rms = np.stack([t.rms[:horizon] for t in tables])[which]                # (n, H)
    sigma = np.nan_to_num(sigma, nan=0.0)
    sigma = sigma[:, None] if sigma.ndim == 1 else sigma
    if common_sd is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.sqrt(sigma ** 2 + np.where(rms > 0, (common_sd / rms) ** 2, 0.0))
    bound = [np.maximum(mean + sigma * quantiles[:, :, i], 0.0) for i in range(4)]
    return Bands(sd=sigma * rms, lo95=bound[0], lo80=bound[1], hi80=bound[2], hi95=bound[3])


def count_family(dispersion: np.ndarray) -> np.ndarray:
    """'poisson' when var/mean <= POISSON_MAX_DISPERSION, else 'negbin'."""
    return np.where(dispersion <= POISSON_MAX_DISPERSION, "poisson", "negbin")


def count_quantiles(levels: tuple[float, ...], mean: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """Smallest integers q with ``CDF(q) >= level`` for each level: (len(levels), *mean.shape).

    Poisson(mean) where dispersion <= POISSON_MAX_DISPERSION, else the negative binomial with
    that mean and variance ``dispersion * mean`` (``r = mu/(phi-1)``, ``p = 1/phi``); 0 where the
    mean is 0. The CDF is accumulated from the pmf recurrences ``P(q) = P(q-1) mu/q`` (Poisson)
    and ``P(q) = P(q-1) (q-1+r)/q (1-p)`` (NB), vectorised over SKUs, for rows whose quantiles
    are small (``mean + 8 sd <= RECURRENCE_MAX_Q``); for the others (or when ``P(0)`` underflows) a
    bisection on the closed-form CDFs (regularised incomplete gamma / beta functions).
    """
    mu = np.maximum(np.asarray(mean, dtype=np.float64), 0.0).ravel()
    phi = np.broadcast_to(np.maximum(dispersion, 1.0), np.shape(mean)).ravel()
    poisson = phi <= POISSON_MAX_DISPERSION
    size_r = mu / np.where(poisson, 1.0, phi - 1.0)
    log_p0 = np.where(poisson, -mu, -size_r * np.log(phi))
    out = np.full((len(levels), mu.size), np.nan)
    out[:, mu <= 0] = 0.0
    # the recurrence walks q = 0, 1, ... for all rows together: only rows whose top quantile is
    # small (mean + 8 sd <= RECURRENCE_MAX_Q); the others go straight to the bisection below
    small = mu + 8.0 * np.sqrt(mu * phi) <= RECURRENCE_MAX_Q
    active = np.flatnonzero((mu > 0) & (log_p0 > -700.0) & small)
    pmf = np.exp(log_p0[active])
    cdf = pmf.copy()
    q = 0
    while active.size and q < 4000:
        for i, level in enumerate(levels):
            hit = (cdf >= level) & np.isnan(out[i, active])
            out[i, active[hit]] = q
        pending = np.isnan(out[-1, active]) | np.isnan(out[0, active])
        if not pending.all():
            active, pmf, cdf = active[pending], pmf[pending], cdf[pending]
        q += 1
        growth = np.where(poisson[active], mu[active] / q,
                          (q - 1 + size_r[active]) / q * (1.0 - 1.0 / phi[active]))
        pmf = pmf * growth
        cdf = cdf + pmf
    for i, level in enumerate(levels):
        rest = np.isnan(out[i])
        if rest.any():
            out[i, rest] = _closed_form_quantile(level, mu[rest], phi[rest])
    return out.reshape((len(levels),) + np.shape(mean))


def _closed_form_quantile(level: float, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Bisection on the closed-form Poisson / NB CDFs (see :func:`count_quantiles`)."""
    out = np.zeros(mu.shape)
    poisson = phi <= POISSON_MAX_DISPERSION
    if poisson.any():
        m = mu[poisson]
        out[poisson] = _bisect_quantile(lambda q, sel: special.gammaincc(q + 1.0, m[sel]),
                                        level, m + 12.0 * np.sqrt(m) + 10.0)
    if (~poisson).any():
        m, f = mu[~poisson], phi[~poisson]
        shape, success = m / (f - 1.0), 1.0 / f
        out[~poisson] = _bisect_quantile(lambda q, sel: special.betainc(shape[sel], q + 1.0, success[sel]),
                                         level, m + 12.0 * np.sqrt(m * f) + 10.0)
    return out


def _bisect_quantile(cdf, level: float, upper: np.ndarray) -> np.ndarray:
    """Smallest integer q >= 0 with cdf(q) >= level; ``cdf(q, selection)`` evaluates a subset."""
    everything = np.arange(upper.size)
    hi = np.ceil(upper)
    short = everything[cdf(hi, everything) < level]
    while short.size:                      # widen the bracket where it is too small
        hi[short] *= 2.0
        short = short[cdf(hi[short], short) < level]
    lo = np.zeros(upper.size)
    active = everything[hi > lo]
    while active.size:
        mid = np.floor((lo[active] + hi[active]) / 2.0)
        reached = cdf(mid, active) >= level
        hi[active] = np.where(reached, mid, hi[active])
        lo[active] = np.where(reached, lo[active], mid + 1.0)
        active = active[hi[active] > lo[active]]
    return hi


def count_bands(mean: np.ndarray, dispersion: np.ndarray) -> Bands:
    """Poisson / negative-binomial quantile bands; mean (n, H), dispersion phi = var/mean (n,)."""
    mu = np.maximum(np.nan_to_num(mean, nan=0.0), 0.0)
    phi = np.maximum(np.nan_to_num(dispersion, nan=1.0), 1.0)
    flat = bool(mu.shape[1] == 0 or np.all(mu == mu[:, :1]))
    mu_eval = mu[:, :1] if flat else mu
    phi_eval = np.broadcast_to(phi[:, None], mu_eval.shape)
    quantiles = count_quantiles(LEVELS, mu_eval, phi_eval)
    out = [np.broadcast_to(q, mu.shape).copy() if flat else q for q in quantiles]
    effective_phi = np.where(phi <= POISSON_MAX_DISPERSION, 1.0, phi)
    sd = np.sqrt(mu * effective_phi[:, None])
    return Bands(sd=sd, lo95=out[0], lo80=out[1], hi80=out[2], hi95=out[3])


def training_dispersion(y: np.ndarray, start: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """(n, n_cuts) var/mean (population) of demand over [start, c); 1 where the mean is 0."""
    n, n_columns = y.shape
    in_history = np.arange(n_columns)[None, :] >= start[:, None]
    level = np.where(in_history, y, 0.0)
    zeros = np.zeros((n, 1))
    s1 = np.concatenate([zeros, np.cumsum(level, axis=1)], axis=1)[:, cuts]
    s2 = np.concatenate([zeros, np.cumsum(level * level, axis=1)], axis=1)[:, cuts]
    count = np.maximum(cuts[None, :] - start[:, None], 1)
    mean = s1 / count
    var = np.maximum(s2 / count - mean * mean, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, np.maximum(var / np.where(mean > 0, mean, 1.0), 1.0), 1.0)
