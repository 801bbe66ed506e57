"""Compound ("occurrences x sizes") demand over an interval, for intermittent and lumpy SKUs.

A negative binomial matched to the mean and variance of *weekly* demand misrepresents lumpy demand
(rare, large orders): over a lead time the demand is a random number N of orders, each of a size
drawn from the SKU's own order sizes (Axsäter, *Inventory Control*, §5.2 compound Poisson demand;
Syntetos & Boylan 2006 for intermittent demand):

    X = Z_1 + ... + Z_N  (+ U, the undershoot of the reorder point, independent)

* Sizes Z: the empirical distribution of the SKU's last ``size_window`` non-zero weekly demands,
  on an integer grid of bucket width w (w = 1 unless the sizes are large; a size goes to the
  bucket above, which errs on the safe side by < w units).
* Occurrences N over an interval of T weeks: mean λ = forecast demand over T / mean size (so
  E[X] is the forecast's mean). The rate is *estimated*: with k orders seen in the estimation
  window its relative variance is ≈ 1/k, and a variable lead time adds (σ_L/L)². A gamma-mixed
  Poisson with that relative variance c² is the negative binomial NB(r = 1/c², mean λ), so
    Var N = λ + c² λ²  (forecast / level uncertainty, not only the weekly noise).
* U: gamma with the undershoot mean and variance (``undershoot.undershoot_moments``), discretised.

The pmf of X is computed for all SKUs at once by FFT on a common grid of G points (pgf of N at
the characteristic function of Z; circular aliasing is avoided by choosing w so the grid covers
mean + 12 sd + the largest size). Quantile and loss functions follow from the pmf.
"""

from __future__ import annotations

import numpy as np
from scipy import special

GRID = 1024


def recent_sizes(history: np.ndarray, start: np.ndarray, size_window: int = 104) -> np.ndarray:
    """(n, size_window) matrix of each SKU's last ``size_window`` weeks' non-zero demands (NaN-padded)."""
    n, t = history.shape
    window = history[:, max(t - size_window, 0):]
    weeks = np.arange(max(t - size_window, 0), t)[None, :]
    seen = (window > 0) & (weeks >= np.asarray(start)[:, None])
    return np.where(seen, window, np.nan)


def orders_seen(history: np.ndarray, start: np.ndarray, weeks: int = 26) -> np.ndarray:
    """Number of weeks with demand among the last ``weeks`` observed weeks (the rate's evidence)."""
    n, t = history.shape
    window = history[:, max(t - weeks, 0):]
    seen = np.arange(max(t - weeks, 0), t)[None, :] >= np.asarray(start)[:, None]
    return ((window > 0) & seen).sum(axis=1)


def _gamma_pmf_on_grid(mean: np.ndarray, var: np.ndarray, width: np.ndarray, grid: int) -> np.ndarray:
    """Gamma(mean, var) discretised to buckets k w (mass of ((k-1) w, k w] to k, rounded up)."""
    edges = np.arange(grid)[None, :] * width[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(var > 0, mean * mean / np.where(var > 0, var, 1.0), 1.0)
        scale = np.where(mean > 0, np.where(var > 0, var / np.where(mean > 0, mean, 1.0), 0.0), 0.0)
        cdf = special.gammainc(np.maximum(shape, 1e-9)[:, None], edges / np.where(scale > 0, scale, 1.0)[:, None])
    degenerate = (scale <= 0) | (mean <= 0)
    point = np.rint(np.maximum(mean, 0.0) / width).astype(int)
    cdf = np.where(degenerate[:, None], (np.arange(grid)[None, :] >= np.minimum(point, grid - 1)[:, None]), cdf)
    pmf = np.diff(np.concatenate([np.zeros((len(mean), 1)), cdf], axis=1), axis=1)
    pmf[:, -1] += 1.0 - pmf.sum(axis=1)
    return pmf


def compound_pmf(interval_mean: np.ndarray, sizes: np.ndarray, rate_rel_var: np.ndarray,
                 extra_mean: np.ndarray | None = None, extra_var: np.ndarray | None = None,
                 grid: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """(pmf (n, grid), bucket width (n,)) of X = Σ_{i≤N} Z_i + U.

    ``interval_mean`` E[Σ Z] (n,), ``sizes`` (n, m) observed sizes (NaN = none; a SKU without sizes
    gets size 1), ``rate_rel_var`` c² of the occurrence rate (0 = Poisson), ``extra_mean`` /
    ``extra_var`` the moments of the independent gamma term U (default 0).
    """
    n = len(interval_mean)
    mu = np.maximum(np.asarray(interval_mean, dtype=float), 0.0)
    sizes = np.asarray(sizes, dtype=float).reshape(n, -1)
    has = np.isfinite(sizes) & (sizes > 0)
    sizes = np.where(has, sizes, np.nan)
    none = ~has.any(axis=1)
    sizes[none, 0] = 1.0
    count = np.isfinite(sizes).sum(axis=1)
    z1 = np.nanmean(sizes, axis=1)
    z2 = np.nanmean(sizes**2, axis=1)
    zmax = np.nanmax(sizes, axis=1)
    lam = mu / z1
    c2 = np.maximum(np.asarray(rate_rel_var, dtype=float), 0.0) * np.ones(n)
    u_mean = np.zeros(n) if extra_mean is None else np.maximum(np.asarray(extra_mean, dtype=float), 0.0)
    u_var = np.zeros(n) if extra_var is None else np.maximum(np.asarray(extra_var, dtype=float), 0.0)
    x_mean = mu + u_mean
    x_var = lam * z2 + c2 * mu * mu + u_var
    reach = x_mean + 12.0 * np.sqrt(x_var) + zmax + 4.0 * np.sqrt(u_var) + u_mean + 2.0
    width = np.maximum(np.ceil(reach / (grid - 1)), 1.0)
    # size pmf on the grid (bucket ceil(z / w))
    bucket = np.where(np.isfinite(sizes), np.minimum(np.ceil(sizes / width[:, None]), grid - 1), 0).astype(int)
    size_pmf = np.zeros((n, grid))
    rows = np.repeat(np.arange(n), sizes.shape[1])
    np.add.at(size_pmf, (rows, bucket.ravel()), np.where(np.isfinite(sizes), 1.0, 0.0).ravel())
    size_pmf /= count[:, None]
    phi = np.fft.rfft(size_pmf, axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        poisson = np.exp(lam[:, None] * (phi - 1.0))
        r = np.where(c2 > 0, 1.0 / np.where(c2 > 0, c2, 1.0), 1.0)
        negbin = np.exp(-r[:, None] * np.log(1.0 + (lam / r)[:, None] * (1.0 - phi)))
    transform = np.where((c2 > 0)[:, None], negbin, poisson)
    if extra_mean is not None:
        transform = transform * np.fft.rfft(_gamma_pmf_on_grid(u_mean, u_var, width, grid), axis=1)
    pmf = np.maximum(np.fft.irfft(transform, n=grid, axis=1), 0.0)
    pmf /= pmf.sum(axis=1, keepdims=True)
    return pmf, width


def pmf_quantile(prob: np.ndarray, pmf: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Smallest grid level x = k w with P(X <= x) >= prob."""
    cdf = np.cumsum(pmf, axis=1)
    k = (cdf < np.asarray(prob, dtype=float)[:, None] - 1e-12).sum(axis=1)
    return np.minimum(k, pmf.shape[1] - 1) * width


def pmf_cdf(x: np.ndarray, pmf: np.ndarray, width: np.ndarray) -> np.ndarray:
    """P(X <= x) (x in units; X lives on the grid k w)."""
    cdf = np.cumsum(pmf, axis=1)
    k = np.floor(np.asarray(x, dtype=float) / width + 1e-9)
    idx = np.clip(k, 0, pmf.shape[1] - 1).astype(int)
    out = cdf[np.arange(len(width)), idx]
    return np.where(k < 0, 0.0, out)


def pmf_loss_curve(pmf: np.ndarray, width: np.ndarray) -> np.ndarray:
    """E[(X - k w)+] at every grid point k (n, grid)."""
    sf = 1.0 - np.cumsum(pmf, axis=1)  # P(X > k w)
    # E[(X - kw)+] = w Σ_{j >= k} P(X > j w)
    tail = np.cumsum(sf[:, ::-1], axis=1)[:, ::-1]
    return np.maximum(tail, 0.0) * width[:, None]


def pmf_fill_rate_level(fill_rate: np.ndarray, cycle_quantity: np.ndarray, pmf: np.ndarray,
                        width: np.ndarray) -> np.ndarray:
    """Smallest grid level x with loss(x) - loss(x + Q') <= (1 - P2) Q' (as ``fill_rate_level``)."""
    n, grid = pmf.shape
    curve = pmf_loss_curve(pmf, width)
    steps = np.arange(grid)[None, :]
    shifted = steps + np.asarray(cycle_quantity, dtype=float)[:, None] / width[:, None]
    lo = np.clip(np.floor(shifted), 0, grid - 1).astype(int)
    hi = np.clip(lo + 1, 0, grid - 1)
    frac = np.clip(shifted - np.floor(shifted), 0.0, 1.0)
    rows = np.arange(n)[:, None]
    after = np.where(shifted >= grid - 1, 0.0, (1 - frac) * curve[rows, lo] + frac * curve[rows, hi])
    ok = curve - after <= ((1.0 - np.asarray(fill_rate, dtype=float)) * cycle_quantity)[:, None] + 1e-12
    k = np.where(ok.any(axis=1), ok.argmax(axis=1), grid - 1)
    return k * width
