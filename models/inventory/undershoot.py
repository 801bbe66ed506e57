"""Undershoot of the reorder point in a periodic-review (R, s, S) system.

In an (R, s, S) system an order is placed at a review where the inventory position has fallen to
s - U, U >= 0 the *undershoot*; a replenishment cycle ends stocked out when the lead-time demand
exceeds s - U. So the reorder point protects X = D_L + U, not D_{L+R} (the textbook rule
s = quantile of D_{L+R}, SPT 4th ed. §7.x, is conservative: it assumes the worst case U = D_R).
Cf. Silver, Pyke & Thomas §7.x "(R, s, S) systems" and Axsäter, *Inventory Control*, §6.x on the
undershoot in periodic review.

Approximation used (normal review-period demand D_R ~ N(μ_R, σ_R)): the demand W since the
last order, seen at a review, is 0 with probability a = μ_R / (μ_R + Q) (the ordering review) and
otherwise uniform on (0, Q) (renewal approximation, Q = S - s). An order is placed when
V = W + D_R >= Q, and then U = V - Q. With the normal partial moments
E[(D - x)+^m] = σ^m m! G_m(k), k = (x - μ)/σ, G_m the m-th order standard normal loss functions:

    P(V >= Q)      = a P(D_R >= Q) + (1 - a) σ [G_1(k_0) - G_1(k_Q)] / Q
    E[(V - Q)+]    = a σ G_1(k_Q)  + (1 - a) σ² [G_2(k_0) - G_2(k_Q)] / Q
    E[(V - Q)+²]   = 2 a σ² G_2(k_Q) + 2 (1 - a) σ³ [G_3(k_0) - G_3(k_Q)] / Q

and E[U^m] = E[(V - Q)+^m] / P(V >= Q). Limits: Q -> 0 gives U = D_R (order-up-to (R, S));
Q >> μ_R gives the equilibrium excess, E[U] = E[D_R²] / (2 μ_R).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .distribution import normal_loss_function


def _phi(k: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * k * k) / np.sqrt(2 * np.pi)


def normal_loss_second(k: np.ndarray) -> np.ndarray:
    """G_2(k) = E[(Z - k)+²] / 2 = ½ [(1 + k²)(1 - Φ(k)) - k φ(k)]."""
    return 0.5 * ((1.0 + k * k) * special.ndtr(-k) - k * _phi(k))


def normal_loss_third(k: np.ndarray) -> np.ndarray:
    """G_3(k) = E[(Z - k)+³] / 6 = [(k² + 2) φ(k) - k (k² + 3)(1 - Φ(k))] / 6."""
    return ((k * k + 2.0) * _phi(k) - k * (k * k + 3.0) * special.ndtr(-k)) / 6.0


MAX_LADDER_REVIEWS = 64


def _ladder_moments(mu: np.ndarray, sigma: np.ndarray, q: np.ndarray,
                    reviews: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact (E[U], E[U²]) by summing over the review k at which the cycle's order falls.

    S_k = D_1 + ... + D_k ~ N(kμ, kσ²), N = first k with S_k >= Q, U = S_N - Q. Because demand
    is non-negative, U^m = Σ_k 1{S_k < Q} (S_{k+1} - Q)+^m, and with (S_{k+1} - Q)+ =
    (S_k - Q) + D_{k+1} on {S_k >= Q}:
        E[U]  = Σ_k L1(k+1) - L1(k) - μ P(S_k >= Q)
        E[U²] = Σ_k L2(k+1) - L2(k) - 2μ L1(k) - (σ² + μ²) P(S_k >= Q),
    L_m(k) = E[(S_k - Q)+^m] = m! σ_k^m G_m((Q - kμ)/σ_k), L_m(0) = 0 (Q > 0).
    """
    k = np.arange(reviews + 2, dtype=float)[None, :]
    mu_k, sd_k = mu[:, None] * k, sigma[:, None] * np.sqrt(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (q[:, None] - mu_k) / np.where(k > 0, sd_k, 1.0)
        l1 = np.where(k > 0, sd_k * normal_loss_function(z), 0.0)
        l2 = np.where(k > 0, 2.0 * sd_k**2 * normal_loss_second(z), 0.0)
        p_over = np.where(k > 0, special.ndtr(-z), 0.0)
    first = (l1[:, 1:] - l1[:, :-1] - mu[:, None] * p_over[:, :-1]).sum(axis=1)
    second = (l2[:, 1:] - l2[:, :-1] - 2.0 * mu[:, None] * l1[:, :-1]
              - (sigma**2 + mu**2)[:, None] * p_over[:, :-1]).sum(axis=1)
    return first, second


def undershoot_moments(review_mean: np.ndarray, review_sd: np.ndarray,
                       order_quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[U], Var[U]) of the undershoot below s at an ordering review (module docstring).

    Exact ladder sum (``_ladder_moments``) where the cycle spans at most ``MAX_LADDER_REVIEWS``
    reviews (virtually always); the renewal approximation beyond (Q >> μ_R, where it is exact
    in the limit).
    """
    mu = np.maximum(np.asarray(review_mean, dtype=float), 0.0)
    sigma = np.maximum(np.asarray(review_sd, dtype=float), 1e-6 * np.maximum(mu, 1e-3))
    q = np.maximum(np.asarray(order_quantity, dtype=float), 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(mu + q > 0, mu / (mu + q), 1.0)
        k0, kq = -mu / sigma, (q - mu) / sigma
        p_order = a * special.ndtr(-kq) + (1 - a) * sigma * (normal_loss_function(k0) - normal_loss_function(kq)) / q
        first = a * sigma * normal_loss_function(kq) + (1 - a) * sigma**2 * (
            normal_loss_second(k0) - normal_loss_second(kq)) / q
        second = 2 * a * sigma**2 * normal_loss_second(kq) + 2 * (1 - a) * sigma**3 * (
            normal_loss_third(k0) - normal_loss_third(kq)) / q
        mean = np.where(p_order > 0, first / p_order, 0.0)
        variance = np.where(p_order > 0, second / p_order - mean**2, 0.0)
    # exact ladder sum where the order falls within MAX_LADDER_REVIEWS reviews of the last one
    with np.errstate(all="ignore"):
        needed = np.ceil((q + 8.0 * sigma * np.sqrt(q / np.maximum(mu, 1e-300) + 1.0)) / np.maximum(mu, 1e-300)) + 2
    exact = (mu > 0) & (needed <= MAX_LADDER_REVIEWS)
    if exact.any():
        reviews = int(needed[exact].max()) if np.ndim(needed) else int(needed)
        mu_e, sigma_e, q_e = (np.broadcast_to(a, np.broadcast(mu, sigma, q).shape)[exact] for a in (mu, sigma, q))
        first_e, second_e = _ladder_moments(mu_e, sigma_e, q_e, reviews)
        mean, variance = np.array(np.broadcast_to(mean, exact.shape)), np.array(np.broadcast_to(variance, exact.shape))
        mean[exact] = first_e
        variance[exact] = second_e - first_e**2
    valid = mu > 0
    return np.where(valid, np.maximum(mean, 0.0), 0.0), np.where(valid, np.maximum(variance, 0.0), 0.0)


def lattice_undershoot(mean: np.ndarray, variance: np.ndarray, lattice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undershoot moments for integer demand (count-family SKUs) from the continuous ones.

    With integer demand an order is placed when the demand W since the last order first reaches
    W >= Q, and U = W - Q takes the values 0, 1, 2, ... (U = 0 has positive probability). In the
    renewal limit the lattice undershoot has P(U = u) = P(D > u) / E[D], u = 0, 1, ..., so
    E[U] = E[D(D - 1)] / (2 E[D]) = E[D²] / (2 E[D]) - 1/2 and Var U = E[D³] / (3 E[D]) -
    (E[D²] / (2 E[D]))² - 1/12, while the continuous (spread) walk has the density P(D > u) / E[D]:
    E[U] = E[D²] / (2 E[D]), Var U = E[D³] / (3 E[D]) - (E[D²] / (2 E[D]))² - i.e. the continuous
    undershoot is the lattice one plus an independent uniform(0, 1) (Feller, *An Introduction to
    Probability Theory*, vol. II, XI.4 (the stationary residual of a renewal process, arithmetic
    case); Hadley & Whitin, *Analysis of Inventory Systems*, 1963, §4-9 for (s, S) with discrete
    demand). So where ``lattice``: E[U] - 1/2, Var U - 1/12 (each clipped at 0) - used by
    ``policy_levels`` only for order quantities above ``MAX_LATTICE_UNITS`` units, where the
    normal ladder is accurate; below, ``lattice_undershoot_exact``.

    Checked against the exact lattice ladder (renewal mass over 0..Q-1, pmf of U): Poisson(3)
    weekly, Q = 6: exact E[U] 1.503, continuous (normal ladder) 2.015, corrected 1.515; Poisson
    (10), Q = 20: 4.889 / 5.340 / 4.840; negative binomial mean 5 var 15, Q = 10: 3.500 / 3.999
    / 3.499. The variance stays the normal ladder's (it misses the count distribution's skewness:
    2.26 exact vs 1.93 at Poisson(3), Q = 6).
    """
    lattice = np.asarray(lattice, bool)
    return (np.where(lattice, np.maximum(mean - 0.5, 0.0), mean),
            np.where(lattice, np.maximum(variance - 1.0 / 12.0, 0.0), variance))


MAX_LATTICE_UNITS = 64   # exact lattice undershoot where ⌈Q⌉ <= this many units
LATTICE_CHUNK = 8192


def _count_pmf_grid(mean: np.ndarray, var: np.ndarray, size: int) -> np.ndarray:
    """(n, size) pmf on 0..size-1 of Poisson(mean) (var <= mean) or the moment-matched negative
    binomial (as ``distribution``), by the recursions f(k+1) = f(k) μ / (k+1) and
    f(k+1) = f(k) (1 - p)(k + r) / (k + 1)."""
    negbin = var > mean * (1 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(negbin, mean**2 / np.where(negbin, var - mean, 1.0), 1.0)
        p = np.where(negbin, mean / np.where(negbin, var, 1.0), 1.0)
    pmf = np.empty((mean.size, size))
    pmf[:, 0] = np.where(negbin, np.exp(r * np.log(p)), np.exp(-mean))
    for k in range(size - 1):
        ratio = np.where(negbin, (1.0 - p) * (k + r), mean) / (k + 1.0)
        pmf[:, k + 1] = pmf[:, k] * ratio
    return pmf


def lattice_undershoot_exact(review_mean: np.ndarray, review_var: np.ndarray,
                             order_quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (E[U], Var U) for integer review-period demand D (Poisson / matched negative binomial).

    The demand since the last order takes the values 0, 1, ...; with m(j) the renewal mass (the
    expected number of reviews at which it equals j, j < Q: m = δ₀ + m * f restricted to
    0..⌈Q⌉-1, solved row by row, m(j) (1 - f(0)) = δ_{j0} + Σ_{i<j} m(i) f(j - i)), the order
    is placed at the review where j + D >= Q, so E[U^k] = Σ_{j<Q} m(j) E[(D - (Q - j))+^k]
    (normalised by Σ_j m(j) P(D >= Q - j) = 1). The partial moments come from tail sums of f,
    d f and d² f. For order quantities of at most ``MAX_LATTICE_UNITS`` units.
    """
    mu = np.asarray(review_mean, dtype=float)
    var = np.maximum(np.asarray(review_var, dtype=float), 0.0)
    q = np.asarray(order_quantity, dtype=float)
    n = mu.size
    mean_u, var_u = np.zeros(n), np.zeros(n)
    for first in range(0, n, LATTICE_CHUNK):
        part = slice(first, first + LATTICE_CHUNK)
        m_r, v_r, q_r = mu[part], var[part], q[part]
        units = int(np.ceil(q_r.max()))
        size = units + int(np.ceil((m_r + 12.0 * np.sqrt(np.maximum(v_r, m_r))).max())) + 3
        f = _count_pmf_grid(m_r, v_r, size)
        renewal = np.zeros((m_r.size, units))
        stay = np.maximum(1.0 - f[:, 0], 1e-300)
        for j in range(units):
            inflow = (renewal[:, :j] * f[:, j:0:-1]).sum(axis=1) if j else np.ones(m_r.size)
            renewal[:, j] = inflow / stay
        renewal[np.arange(units)[None, :] >= np.ceil(q_r)[:, None]] = 0.0
        d = np.arange(size, dtype=float)[None, :]
        tails = [np.cumsum((f * d**k)[:, ::-1], axis=1)[:, ::-1] for k in range(3)]
        x = q_r[:, None] - np.arange(units)[None, :]             # shortfall to Q from j
        c = np.clip(np.ceil(x - 1e-9).astype(int), 0, size - 1)   # D >= c  <=>  j + D >= Q
        t0, t1, t2 = (np.take_along_axis(t, c, axis=1) for t in tails)
        mass = (renewal * t0).sum(axis=1)
        first_m = (renewal * (t1 - x * t0)).sum(axis=1) / mass
        second_m = (renewal * (t2 - 2 * x * t1 + x * x * t0)).sum(axis=1) / mass
        mean_u[part], var_u[part] = first_m, np.maximum(second_m - first_m**2, 0.0)
    return np.maximum(mean_u, 0.0), var_u
