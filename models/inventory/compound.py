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
* U: the exact undershoot of the reorder point for this compound demand (``compound_undershoot_pmf``,
  first passage of the walk of review-period demands over Q = S - s; docs/inventory-policy.md, "lumpy
  demand in the replay"). It can be as large
  as one big order, which the normal-moment undershoot (``undershoot.undershoot_moments``, a gamma
  with those two moments - still available through ``extra_mean`` / ``extra_var``) misses: on the
  demo's lumpy SKUs the normal-ladder E[U] was 0.46-0.68 of the exact one.
* Fill rate: shortage per cycle E[(X - s)+] - E[(D_L - s - Q)+] (``pmf_fill_rate_level_undershoot``).

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
    ``extra_var`` the moments of the independent gamma term U (default 0). See
    ``compound_level_pmf`` for the exact (not gamma) undershoot.
    """
    out = compound_level_pmf(interval_mean, sizes, rate_rel_var, extra_mean, extra_var, grid=grid)
    return out["pmf"], out["width"]


def compound_level_pmf(interval_mean: np.ndarray, sizes: np.ndarray, rate_rel_var: np.ndarray,
                       extra_mean: np.ndarray | None = None, extra_var: np.ndarray | None = None,
                       grid: int = GRID, *, review_mean: np.ndarray | None = None,
                       review_weeks: np.ndarray | None = None,
                       order_quantity: np.ndarray | None = None, lead_pmf: bool = False) -> dict[str, np.ndarray]:
    """The distribution the reorder point protects, X = Σ_{i≤N} Z_i + U, on the bucket grid.

    Without ``order_quantity``: U is the gamma term with ``extra_mean`` / ``extra_var`` (0 if
    None), as ``compound_pmf``. With ``order_quantity`` Q (and ``review_mean`` μ_R, the forecast
    demand over one review period, and ``review_weeks`` R): U is the exact undershoot of the same
    compound process (``compound_undershoot_pmf``: review-period demand = R weeks, each with an
    occurrence of probability μ_R / (R E[Z]) and a size drawn from the sizes), and X = Y w + δ
    with Y on the grid. Returns dict(pmf of Y (n, grid), width w, offset δ (0 for the gamma U),
    undershoot_mean E[U], undershoot_var Var U): P(X ≤ x) = P(Y w ≤ x - δ), so a grid level
    k w found on ``pmf`` is the level k w + δ of X. With ``lead_pmf`` (and ``order_quantity``) also
    "lead_pmf", the pmf of Σ_{i≤N} Z_i alone (no U, no offset) for ``pmf_fill_rate_level_undershoot``.
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
    exact = order_quantity is not None
    if exact:
        review_occurrences = np.maximum(np.asarray(review_mean, dtype=float), 0.0) / z1
        weeks = np.maximum(np.rint(np.broadcast_to(np.asarray(review_weeks, dtype=float), (n,))), 1.0)
        u_mean = np.zeros(n)
        u_var = review_occurrences * z2                        # bounds Var U (≤ E[D_R²])
        u_reach = np.minimum(weeks * zmax, review_occurrences * z1 + 12.0 * np.sqrt(u_var) + zmax)
    else:
        u_mean = np.zeros(n) if extra_mean is None else np.maximum(np.asarray(extra_mean, dtype=float), 0.0)
        u_var = np.zeros(n) if extra_var is None else np.maximum(np.asarray(extra_var, dtype=float), 0.0)
        u_reach = 4.0 * np.sqrt(u_var) + u_mean
    x_mean = mu + u_mean
    x_var = lam * z2 + c2 * mu * mu + u_var
    reach = x_mean + 12.0 * np.sqrt(x_var) + zmax + u_reach + 2.0
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
    offset = np.zeros(n)
    out = {}
    if exact and lead_pmf:
        lead = np.maximum(np.fft.irfft(transform, n=grid, axis=1), 0.0)
        out["lead_pmf"] = lead / lead.sum(axis=1, keepdims=True)
    if exact:
        u_pmf, offset, u_mean, u_var = compound_undershoot_pmf(
            size_pmf, width, review_occurrences, weeks, np.broadcast_to(np.asarray(order_quantity, dtype=float), (n,)))
        transform = transform * np.fft.rfft(u_pmf, axis=1)
    elif extra_mean is not None:
        transform = transform * np.fft.rfft(_gamma_pmf_on_grid(u_mean, u_var, width, grid), axis=1)
    pmf = np.maximum(np.fft.irfft(transform, n=grid, axis=1), 0.0)
    pmf /= pmf.sum(axis=1, keepdims=True)
    return {"pmf": pmf, "width": width, "offset": offset, "undershoot_mean": u_mean, "undershoot_var": u_var, **out}


UNDERSHOOT_TILT = 1e-8     # ρ^(2G) of the exponentially tilted renewal FFT (aliasing error ≈ this)


def review_demand_transform(phi: np.ndarray, occurrences: np.ndarray, review_weeks: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(transform F (n, k), P(D = 0) (n,)) of the demand D over one review period of
    R = max(1, round(review_weeks)) whole weeks, from ``phi`` the transform of the size pmf (sizes
    are >= 1 bucket): each week is 0 with probability 1 - p and one draw from the size pmf with
    probability p = λ_R / R, λ_R = ``occurrences`` = μ_R / E[Z] the expected number of sizes per
    review (the weekly occurrence / size process of the history the sizes come from: a size is
    one week's non-zero demand), i.e. pgf (1 - p + p φ_Z)^R, P(D = 0) = (1 - p)^R. Where p > 1
    (demand in most weeks: not an intermittent process) a Poisson(λ_R) number of sizes instead:
    exp(λ_R (φ_Z - 1)), P(D = 0) = exp(-λ_R)."""
    weeks = np.maximum(np.rint(np.asarray(review_weeks, dtype=float)), 1.0)
    lam = np.maximum(np.asarray(occurrences, dtype=float), 0.0)
    p = lam / weeks
    binomial = p <= 1.0
    transform = np.empty_like(phi)
    zero = np.empty(lam.shape)
    for r in np.unique(weeks[binomial]):   # a few distinct review periods: integer powers
        rows = binomial & (weeks == r)
        transform[rows] = (1.0 - p[rows, None] + p[rows, None] * phi[rows]) ** int(r)
        zero[rows] = (1.0 - p[rows]) ** int(r)
    poisson = ~binomial
    if poisson.any():
        transform[poisson] = np.exp(lam[poisson, None] * (phi[poisson] - 1.0))
        zero[poisson] = np.exp(-lam[poisson])
    return transform, zero


def review_demand_pmf(size_pmf: np.ndarray, occurrences: np.ndarray, review_weeks: np.ndarray,
                      size: int) -> np.ndarray:
    """(n, size) pmf in buckets of the review-period demand of ``review_demand_transform``."""
    transform, _ = review_demand_transform(np.fft.rfft(size_pmf, n=size, axis=1), occurrences, review_weeks)
    return np.maximum(np.fft.irfft(transform, n=size, axis=1), 0.0)


def compound_undershoot_pmf(size_pmf: np.ndarray, width: np.ndarray, occurrences: np.ndarray,
                            review_weeks: np.ndarray, order_quantity: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact undershoot of the reorder point for compound demand on the bucket grid.

    (R, s, S) with Q = S - s: after an order the position is S; the next order is placed at the
    first review where the cumulative demand W since the order reaches Q, and the undershoot is
    U = W - Q. With review demands D on the grid of width w (``review_demand_transform``,
    ``occurrences`` λ_R sizes expected per review of ``review_weeks`` weeks; only the non-zero
    ones move W, so D⁺ = D | D > 0 with pgf F⁺ = (F - P(D=0)) / (1 - P(D=0))), J = ⌈Q / w⌉ and
    the renewal mass m(j) = Σ_k P(W_k = j) of the walk of D⁺ jumps (m = δ₀ + m ⊛ f⁺):

        P(W_N = v) = Σ_{j<J} m(j) f⁺(v - j),  v ≥ J,   U = (W_N - J) w + δ,  δ = J w - Q ∈ [0, w)

    (first passage of a lattice random walk over a level: Feller vol. II, XII.1 and XI.4; the
    (s, S) undershoot of Hadley & Whitin 1963 §4-9 and Axsäter §6.x, here for the compound demand
    itself instead of its normal moments). m comes from its generating function
    M(z) = 1 / (1 - F⁺(z)) by FFT on 2G points, exponentially tilted (z -> ρz, i.e. f⁺(j) ρ^j,
    ρ^(2G) = ``UNDERSHOOT_TILT``) so the non-decaying renewal mass does not alias; then
    m(j) = m̃(j) ρ^(-j) for j < J. Where J > G (Q far beyond the grid, many jumps per cycle) the
    equilibrium limit P(W_N - J = u) = P(D⁺ > u) / E[D⁺] is used.

    Returns (pmf of (W_N - J) on the G grid points, δ, E[U], Var U) in units.
    """
    n, grid = size_pmf.shape
    size = 2 * grid
    steps = np.arange(size)
    rho = UNDERSHOOT_TILT ** (1.0 / size)
    phi = np.fft.rfft(size_pmf, n=size, axis=1)
    tilted_phi = np.fft.rfft(size_pmf * rho ** np.arange(grid)[None, :], n=size, axis=1)
    transform, zero = review_demand_transform(phi, occurrences, review_weeks)
    tilted, _ = review_demand_transform(tilted_phi, occurrences, review_weeks)
    still = 1.0 - zero <= 1e-12          # no demand per review (e.g. R = 0): no undershoot
    moving = np.where(still, 1.0, 1.0 - zero)[:, None]
    positive = np.where(still[:, None], 0.0, (transform - zero[:, None]) / moving)        # F⁺
    tilted_positive = np.where(still[:, None], 0.0, (tilted - zero[:, None]) / moving)    # F⁺(ρ z)
    q = np.maximum(np.asarray(order_quantity, dtype=float), 0.0)
    jumps = np.maximum(np.ceil(q / width - 1e-9), 1).astype(np.int64)       # J
    delta = jumps * width - q
    renewal = np.fft.irfft(1.0 / (1.0 - tilted_positive), n=size, axis=1)
    renewal *= rho ** (-steps[None, :].astype(float))
    renewal[steps[None, :] >= np.minimum(jumps, grid)[:, None]] = 0.0
    passage = np.fft.irfft(np.fft.rfft(renewal, axis=1) * positive, n=size, axis=1)
    index = np.minimum(jumps, grid)[:, None] + np.arange(grid)[None, :]
    pmf = np.maximum(np.take_along_axis(passage, np.minimum(index, size - 1), axis=1), 0.0)
    far = jumps > grid   # equilibrium excess of the lattice walk
    if far.any():
        jump_pmf = np.maximum(np.fft.irfft(positive[far], n=size, axis=1)[:, :grid], 0.0)
        pmf[far] = np.maximum(1.0 - np.cumsum(jump_pmf / jump_pmf.sum(axis=1, keepdims=True), axis=1), 0.0)
    pmf[still] = 0.0
    delta = np.where(still, 0.0, delta)
    total = pmf.sum(axis=1, keepdims=True)
    pmf = np.divide(pmf, total, out=np.zeros_like(pmf), where=total > 0)
    pmf[total[:, 0] <= 0, 0] = 1.0
    u = np.arange(grid)[None, :] * width[:, None]
    mean = (pmf * u).sum(axis=1)
    var = np.maximum((pmf * u * u).sum(axis=1) - mean**2, 0.0)
    return pmf, delta, mean + delta, var


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


def pmf_fill_rate_level_undershoot(fill_rate: np.ndarray, order_quantity: np.ndarray, undershoot_mean: np.ndarray,
                                   pmf: np.ndarray, lead_pmf: np.ndarray, width: np.ndarray,
                                   offset: np.ndarray) -> np.ndarray:
    """Smallest level s = k w + δ with E[(X - s)+] - E[(D_L - s - Q)+] <= (1 - P2)(Q + E[U]).

    (R, s, S), orders never cross, Q = S - s. Order i is placed at position s - U_i and is
    Q + U_i; just before its receipt the net stock is s - U_i - D_L,i = s - X_i, just after it
    s + Q - D_L,i. Backorders are only reduced at receipts, so the demand not met from stock in the
    cycle ending at receipt i is B_end,i - B_start,i = (X_i - s)+ - (D_L,i-1 - s - Q)+, and in
    steady state the expected shortage per cycle is E[(X - s)+] - E[(D_L - s - Q)+], against a
    demand per cycle of Q + E[U] (Hadley & Whitin 1963 ch. 4 / SPT §6.7 "more exact" shortage,
    with the undershoot: the start-of-cycle backorders depend on D_L alone, not on X - E[U],
    which the two-term form loss(s) - loss(s + Q') assumes and which overstates the subtracted
    term when Var U is large). ``pmf`` is X - δ on the grid (δ = ``offset``), ``lead_pmf`` D_L.
    """
    n, grid = pmf.shape
    width = np.asarray(width, dtype=float)
    curve = pmf_loss_curve(pmf, width)                  # E[(X - (k w + δ))+]
    after_curve = pmf_loss_curve(lead_pmf, width)       # E[(D_L - k w)+]
    q = np.asarray(order_quantity, dtype=float)
    shifted = np.arange(grid)[None, :] + ((q + offset) / width)[:, None]
    lo = np.clip(np.floor(shifted), 0, grid - 1).astype(int)
    hi = np.clip(lo + 1, 0, grid - 1)
    frac = np.clip(shifted - np.floor(shifted), 0.0, 1.0)
    rows = np.arange(n)[:, None]
    after = np.where(shifted >= grid - 1, 0.0, (1 - frac) * after_curve[rows, lo] + frac * after_curve[rows, hi])
    allowed = (1.0 - np.asarray(fill_rate, dtype=float)) * (q + np.asarray(undershoot_mean, dtype=float))
    ok = curve - after <= allowed[:, None] + 1e-12
    k = np.where(ok.any(axis=1), ok.argmax(axis=1), grid - 1)
    return k * width + offset
