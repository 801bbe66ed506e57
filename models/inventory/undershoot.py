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
