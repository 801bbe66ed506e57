"""Demand distributions for inventory decisions: normal and count (Poisson / negative binomial).

Every function is vectorised: ``mean``, ``var``, ``is_count`` and the stock level broadcast
against each other (SKU vectors or SKU x week matrices).

* Normal: cdf Φ((x-μ)/σ); loss E[(D-x)+] = σ G(k) with the standard normal loss function
  G(k) = φ(k) - k (1 - Φ(k)), k = (x-μ)/σ (Silver, Pyke & Thomas, 4th ed., ch. 6 and App. II).
* Count: Poisson(μ) when var <= μ, otherwise the negative binomial matched to the two moments,
  r = μ² / (var - μ), p = μ / var (Axsäter, *Inventory Control*, §5.2 "compound Poisson /
  negative binomial demand"). Loss at integer x >= 0:
  Poisson  E[(D-x)+] = (μ - x) P(D > x) + μ P(D = x);
  NB(r, p) E[(D-x)+] = μ P(Y >= x) - x P(D > x), Y ~ NB(r + 1, p)  (x f_r(x) = μ f_{r+1}(x-1)).
  For a fractional level, loss(x) = loss(⌊x⌋) - (x - ⌊x⌋) P(D > ⌊x⌋); for x < 0, μ - x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

FloatArray = np.ndarray

_FAMILY_IS_COUNT = {"normal": False, "poisson": True, "negbin": True}


def is_count_family(family: np.ndarray) -> np.ndarray:
    """True where the forecast family is a count distribution ('poisson' or 'negbin')."""
    family = np.asarray(family, dtype=object)
    return np.isin(family, ["poisson", "negbin"])


def family_name(mean: FloatArray, var: FloatArray, is_count: np.ndarray) -> np.ndarray:
    """'normal', 'poisson' (count with var <= mean) or 'negbin' per element."""
    mean, var, is_count = np.broadcast_arrays(mean, var, is_count)
    return np.where(~is_count, "normal", np.where(var <= mean * (1 + 1e-9), "poisson", "negbin"))


# ---------------------------------------------------------------- normal
def normal_loss_function(k: FloatArray) -> FloatArray:
    """Standard normal loss G(k) = φ(k) - k (1 - Φ(k)) (SPT App. II)."""
    k = np.asarray(k, dtype=float)
    return np.exp(-0.5 * k * k) / np.sqrt(2 * np.pi) - k * special.ndtr(-k)


def _normal_cdf(x: FloatArray, mean: FloatArray, sd: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - mean) / sd
    return np.where(sd > 0, special.ndtr(z), (x >= mean).astype(float))


def _normal_loss(x: FloatArray, mean: FloatArray, sd: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - mean) / sd
        loss = sd * normal_loss_function(z)
    return np.where(sd > 0, loss, np.maximum(mean - x, 0.0))


# ---------------------------------------------------------------- count
def _count_params(mean: FloatArray, var: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(r, p, is_negbin) of the moment-matched negative binomial; Poisson where var <= mean."""
    mean = np.maximum(mean, 0.0)
    is_negbin = var > mean * (1 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(is_negbin, var - mean, 1.0)
        r = np.where(is_negbin, mean * mean / excess, 1.0)
        p = np.where(is_negbin, mean / np.where(is_negbin, var, 1.0), 0.5)
    return r, p, is_negbin


def _count_sf_int(k: FloatArray, mean: FloatArray, r: FloatArray, p: FloatArray,
                  is_negbin: np.ndarray) -> FloatArray:
    """P(D > k) for integer k (k < 0 gives 1)."""
    k1 = np.maximum(k, -1.0) + 1.0  # >= 0
    safe_k1 = np.maximum(k1, 1.0)
    with np.errstate(all="ignore"):
        sf_nb = special.betainc(safe_k1, np.maximum(r, 1e-300), 1.0 - p)
        sf_po = special.gammainc(safe_k1, np.maximum(mean, 1e-300))
    sf = np.where(is_negbin, sf_nb, sf_po)
    sf = np.where(mean <= 0, 0.0, sf)
    return np.where(k1 <= 0, 1.0, sf)


def _count_pmf_int(k: FloatArray, mean: FloatArray) -> FloatArray:
    """Poisson P(D = k) for integer k >= 0."""
    with np.errstate(all="ignore"):
        log_pmf = k * np.log(np.maximum(mean, 1e-300)) - mean - special.gammaln(k + 1.0)
    pmf = np.exp(log_pmf)
    return np.where(mean <= 0, (k == 0).astype(float), pmf)


def _count_cdf(x: FloatArray, mean: FloatArray, var: FloatArray) -> FloatArray:
    r, p, is_negbin = _count_params(mean, var)
    floor_x = np.floor(x)
    return np.where(floor_x < 0, 0.0, 1.0 - _count_sf_int(floor_x, mean, r, p, is_negbin))


def _count_loss(x: FloatArray, mean: FloatArray, var: FloatArray) -> FloatArray:
    mean = np.maximum(mean, 0.0)
    r, p, is_negbin = _count_params(mean, var)
    floor_x = np.floor(x)
    k = np.maximum(floor_x, 0.0)
    sf_k = _count_sf_int(k, mean, r, p, is_negbin)
    loss_poisson = (mean - k) * sf_k + mean * _count_pmf_int(k, mean)
    # Y ~ NB(r + 1, p): P(Y >= k) = P(Y > k - 1)
    loss_negbin = mean * _count_sf_int(k - 1.0, mean, r + 1.0, p, is_negbin) - k * sf_k
    loss_int = np.maximum(np.where(is_negbin, loss_negbin, loss_poisson), 0.0)
    loss = loss_int - (x - k) * sf_k
    return np.where(floor_x < 0, mean - x, np.maximum(loss, 0.0))


# ---------------------------------------------------------------- public, mixed families
def cdf(x: FloatArray, mean: FloatArray, var: FloatArray, is_count: np.ndarray) -> FloatArray:
    """P(D <= x) for normal or count demand with the given mean and variance."""
    x, mean, var, is_count = (np.asarray(a) for a in np.broadcast_arrays(x, mean, var, is_count))
    var = np.maximum(var.astype(float), 0.0)
    out = np.empty(x.shape, dtype=float)
    normal = ~is_count
    out[normal] = _normal_cdf(x[normal], mean[normal], np.sqrt(var[normal]))
    out[is_count] = _count_cdf(x[is_count], mean[is_count], var[is_count])
    return out


def loss(x: FloatArray, mean: FloatArray, var: FloatArray, is_count: np.ndarray) -> FloatArray:
    """Expected shortage E[(D - x)+] (first-order loss function) at stock level x."""
    x, mean, var, is_count = (np.asarray(a) for a in np.broadcast_arrays(x, mean, var, is_count))
    var = np.maximum(var.astype(float), 0.0)
    out = np.empty(x.shape, dtype=float)
    normal = ~is_count
    out[normal] = _normal_loss(x[normal], mean[normal], np.sqrt(var[normal]))
    out[is_count] = _count_loss(x[is_count], mean[is_count], var[is_count])
    return out


def smallest_level(
    satisfied: Callable[[FloatArray], np.ndarray],
    lower: FloatArray,
    upper: FloatArray,
    integer: np.ndarray,
    iterations: int = 60,
) -> FloatArray:
    """Smallest level x in [lower, upper] with ``satisfied(x)`` true, for a monotone predicate.

    Vectorised bisection; where ``integer`` is true the answer is an integer (count demand).
    ``upper`` must satisfy the predicate (it is returned where nothing smaller does).
    """
    lo = np.asarray(lower, dtype=float).copy()
    hi = np.asarray(upper, dtype=float).copy()
    integer = np.broadcast_to(integer, lo.shape)
    lo = np.where(integer, np.floor(lo) - 1.0, lo)
    hi = np.where(integer, np.ceil(hi), hi)
    for _ in range(iterations):
        mid = np.where(integer, np.floor((lo + hi) / 2.0), (lo + hi) / 2.0)
        ok = satisfied(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
        if np.all(np.where(integer, hi - lo <= 1.0, hi - lo <= 1e-9 * np.maximum(1.0, np.abs(hi)))):
            break
    return hi


def _search_bounds(mean: FloatArray, var: FloatArray) -> tuple[FloatArray, FloatArray]:
    sd = np.sqrt(np.maximum(var, 0.0))
    return np.minimum(mean - 10.0 * sd, 0.0) - 1.0, mean + 40.0 * sd + 10.0


def quantile(prob: FloatArray, mean: FloatArray, var: FloatArray, is_count: np.ndarray) -> FloatArray:
    """Smallest x with P(D <= x) >= prob (normal: μ + σ Φ⁻¹(prob); count: an integer)."""
    prob, mean, var, is_count = (np.asarray(a) for a in np.broadcast_arrays(prob, mean, var, is_count))
    var = np.maximum(var.astype(float), 0.0)
    out = mean + np.sqrt(var) * special.ndtri(prob)
    if is_count.any():
        m, v, q = mean[is_count], var[is_count], prob[is_count]
        lower, upper = _search_bounds(m, v)
        out[is_count] = smallest_level(
            lambda x: _count_cdf(x, m, v) >= q, np.maximum(lower, -1.0), upper, np.ones(m.shape, bool)
        )
    return out


def fill_rate_level(
    fill_rate: FloatArray, order_quantity: FloatArray, mean: FloatArray, var: FloatArray,
    is_count: np.ndarray,
) -> FloatArray:
    """Smallest reorder level x whose expected shortage per replenishment cycle <= (1 - P2) Q.

    Shortage per cycle = loss(x) - loss(x + Q): the demand over the protection interval not
    covered by x, less what was already short before the cycle began (SPT 4th ed. §6.7 and
    its "more exact" form, Hadley & Whitin); for Q >> σ this is σ G(k) = (1 - P2) Q.
    """
    fill_rate, q, mean, var, is_count = (
        np.asarray(a, dtype=float) if i < 4 else np.asarray(a)
        for i, a in enumerate(np.broadcast_arrays(fill_rate, order_quantity, mean, var, is_count))
    )
    target = (1.0 - fill_rate) * q

    def satisfied(x: FloatArray) -> np.ndarray:
        return loss(x, mean, var, is_count) - loss(x + q, mean, var, is_count) <= target

    lower, upper = _search_bounds(mean, var)
    return smallest_level(satisfied, lower, upper, is_count.astype(bool))
