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


def undershoot_moments(review_mean: np.ndarray, review_sd: np.ndarray,
                       order_quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E[U], Var[U]) of the undershoot below s at an ordering review (module docstring)."""
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
    valid = mu > 0
    return np.where(valid, np.maximum(mean, 0.0), 0.0), np.where(valid, np.maximum(variance, 0.0), 0.0)
