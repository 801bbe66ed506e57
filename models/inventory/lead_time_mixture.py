"""Demand over a random lead time as a mixture over the lead-time distribution (vectorised).

With a stochastic lead time L (independent of demand) the demand the reorder point protects,
X = D_L + U (lead-time demand plus the undershoot of s at the ordering review), has the cdf

    P(X <= x) = ∫ P(D_l + U <= x) dG(l),                                       (1)

G the lead-time distribution (Eppen & Martin, "Determining safety stock in the presence of
stochastic lead time and demand", Management Science 34 (1988) 1380-1390, eq. (1): the exact
lead-time demand distribution is the G-mixture of the fixed-lead-time ones; they show that the
normal with the two moments σ² = E[L] σ_d² + d² σ_L² (Silver, Pyke & Thomas, 4th ed., §6.10,
"variable lead time") can miss the service level badly because the mixture is skewed). Here
(1) is evaluated with a quadrature over L:

* L ~ gamma with the given mean and sd (the distribution ``lead_time.py``'s estimates are fed
  to, and the one ``simulation.py`` / ``backtest.py`` draw from, rounded to whole weeks).
* J probability bins with edges p_0 = 0 < p_1 < ... < p_J = 1, p_i = 1 - (1 - i/J)^TAIL_POWER
  (finer in the right tail, which decides high service levels); node l_j = E[L | L in bin j]
  and weight w_j = p_j - p_{j-1}. For gamma(k, θ), E[L; a < L <= b] = kθ [P(k+1, b/θ) -
  P(k+1, a/θ)] (P the regularised lower incomplete gamma), so Σ w_j l_j = E[L] exactly.
  The nodes depend on the CV only (L / E[L] ~ gamma(k, 1/k), k = CV⁻²): they are computed once
  per distinct CV (rounded to ``CV_DECIMALS``) and scaled by each SKU's mean.
* At node l_j: D_{l_j} + U ~ Normal(m_j, v_j), m_j = C_μ(l_j) + E[U], v_j = C_v(l_j) + Var U +
  (l_j² - l_j)+ σ₁²/n_e - the forecast summed over the actual weeks ahead (``cumulative_at``,
  seasonality kept), the undershoot moments and the shared level error as in ``policy_levels``.
* Cycle service (P1): s with Σ_j w_j Φ((s - m_j)/σ_j) = P1.
  Fill rate (P2): s with Σ_j w_j [loss_j(s) - loss_j(s + Q')] = (1 - P2) Q', loss_j(x) =
  σ_j G((x - m_j)/σ_j) (SPT §6.7, per mixture component - the expected shortage per cycle of a
  mixture is the mixture of the expected shortages).
  Both solved by a safeguarded Newton iteration (bisection when a Newton step leaves the
  bracket), vectorised over SKUs.
"""

from __future__ import annotations

import numpy as np
from scipy import special

DEFAULT_NODES = 24
TAIL_POWER = 3.0
CV_DECIMALS = 3


def probability_edges(nodes: int = DEFAULT_NODES) -> np.ndarray:
    """Bin edges p_0 = 0 < ... < p_J = 1 in probability, finer in the right tail."""
    t = np.linspace(0.0, 1.0, nodes + 1)
    edges = 1.0 - (1.0 - t) ** TAIL_POWER
    edges[0], edges[-1] = 0.0, 1.0
    return edges


def standard_gamma_nodes(cv: np.ndarray, nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """(z (m, J), w (J,)): conditional means of L / E[L] in each probability bin, for gamma L with
    coefficient of variation ``cv`` (m,) > 0, and the bin probabilities."""
    cv = np.asarray(cv, dtype=float).reshape(-1)
    edges = probability_edges(nodes)
    weights = np.diff(edges)
    shape = 1.0 / cv**2                                      # k; L / E[L] ~ gamma(k, scale 1/k)
    inner = edges[1:-1][None, :]
    x = special.gammaincinv(shape[:, None], np.broadcast_to(inner, (cv.size, inner.shape[1])))  # k L / E[L]
    upper_mass = special.gammainc(shape[:, None] + 1.0, x)  # E[L / E[L]; L <= edge]
    cum = np.concatenate([np.zeros((cv.size, 1)), upper_mass, np.ones((cv.size, 1))], axis=1)
    z = np.diff(cum, axis=1) / weights[None, :]
    return z, weights


def gamma_nodes(lead_mean: np.ndarray, lead_sd: np.ndarray,
                nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """(l (n, J), w (J,)) quadrature nodes / weights of gamma lead times (mean, sd > 0) per SKU."""
    lead_mean = np.asarray(lead_mean, dtype=float).reshape(-1)
    cv = np.round(np.asarray(lead_sd, dtype=float).reshape(-1) / lead_mean, CV_DECIMALS)
    cv = np.maximum(cv, 10.0 ** -CV_DECIMALS)
    unique, index = np.unique(cv, return_inverse=True)
    z, weights = standard_gamma_nodes(unique, nodes)
    return lead_mean[:, None] * z[index.reshape(-1)], weights


def cumulative_at_nodes(weekly: np.ndarray, weeks: np.ndarray, tail_weeks: int = 13) -> np.ndarray:
    """``policy.cumulative_at`` for (n, J) fractional week counts: Σ of ``weekly`` (n, h) over the
    first ``weeks`` weeks, linear inside a week, past the horizon at the last-13-week mean rate."""
    n, h = weekly.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(weekly, axis=1)], axis=1)
    weeks = np.maximum(np.asarray(weeks, dtype=float), 0.0)
    inside = np.minimum(weeks, float(h))
    whole = np.minimum(np.floor(inside).astype(int), h - 1)
    rows = np.arange(n)[:, None]
    value = cum[rows, whole] + (inside - whole) * weekly[rows, whole]
    tail_rate = weekly[:, max(h - tail_weeks, 0):].mean(axis=1)
    return value + np.maximum(weeks - h, 0.0) * tail_rate[:, None]


_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _cdf_pdf(x: np.ndarray, mean: np.ndarray, sd: np.ndarray, weights: np.ndarray):
    z = (x[:, None] - mean) / sd
    return (special.ndtr(z) @ weights), ((np.exp(-0.5 * z * z) / sd) @ weights) / _SQRT_2PI


def _shortage(x: np.ndarray, mean: np.ndarray, sd: np.ndarray, weights: np.ndarray):
    """(Σ w_j loss_j(x), Σ w_j P_j(D > x)) for normal components."""
    z = (x[:, None] - mean) / sd
    upper = special.ndtr(-z)
    loss = sd * (np.exp(-0.5 * z * z) / _SQRT_2PI - z * upper)
    return loss @ weights, upper @ weights


def _solve_increasing(func, lo: np.ndarray, hi: np.ndarray, start: np.ndarray,
                      iterations: int = 80, tol: float = 1e-7) -> np.ndarray:
    """Root of g (increasing in x; g(lo) < 0 <= g(hi)) per row: Newton steps, bisection when a step
    leaves the bracket. ``func(x, rows)`` returns (g, g') of the rows ``rows`` at x; only the rows
    not yet converged are evaluated."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    x = np.clip(start, lo, hi)
    rows = np.arange(x.size)
    for _ in range(iterations):
        if rows.size == 0:
            break
        xr, lr, hr = x[rows], lo[rows], hi[rows]
        g, dg = func(xr, rows)
        hr = np.where(g >= 0, xr, hr)
        lr = np.where(g < 0, xr, lr)
        # a Newton step lands inside the bracket only if |g| < g' (hi - lo): elsewhere (far in a tail,
        # where the density g' underflows towards 0) g / g' is not formed - it would overflow - and
        # the step is a bisection
        inside = (dg > 0) & (np.abs(g) < dg * (hr - lr))
        step = xr - g / np.where(inside, dg, 1.0)
        newton = inside & np.isfinite(step) & (step > lr) & (step < hr)
        new = np.where(newton, step, 0.5 * (lr + hr))
        scale = 1.0 + np.abs(new)
        done = (np.abs(new - xr) <= tol * scale) | (hr - lr <= tol * scale)
        x[rows], lo[rows], hi[rows] = new, lr, hr
        rows = rows[~done]
    return x


def mixture_levels(service: np.ndarray, mean: np.ndarray, var: np.ndarray, weights: np.ndarray,
                   service_type: str, cycle_quantity: np.ndarray | None = None,
                   start: np.ndarray | None = None) -> np.ndarray:
    """Reorder level s per row of the normal mixture Σ_j w_j N(mean[:, j], var[:, j]) (module
    docstring): P(X <= s) = ``service`` ('cycle'), or expected shortage per cycle
    Σ_j w_j [loss_j(s) - loss_j(s + Q')] = (1 - service) Q' ('fill_rate', Q' = ``cycle_quantity``).
    ``start``: first guess (e.g. the two-moment normal level; default the mixture's own normal).
    """
    service = np.asarray(service, dtype=float)
    sd = np.sqrt(np.maximum(var, 0.0))
    sd = np.maximum(sd, 1e-9 * (1.0 + np.abs(mean)))
    if service_type == "cycle":
        k = special.ndtri(service)[:, None]
        quantiles = mean + sd * k
        lo, hi = quantiles.min(axis=1), quantiles.max(axis=1)   # the mixture quantile lies between
        lo, hi = lo - 1e-9 * (1 + np.abs(lo)), hi + 1e-9 * (1 + np.abs(hi))
        centre = mean @ weights
        spread = np.sqrt((var + mean**2) @ weights - centre**2)
        start = centre + spread * k[:, 0] if start is None else start

        def func(x, rows):
            value, density = _cdf_pdf(x, mean[rows], sd[rows], weights)
            return value - service[rows], density

        return _solve_increasing(func, lo, hi, start)
    if service_type == "fill_rate":
        q = np.asarray(cycle_quantity, dtype=float)
        target = (1.0 - service) * q
        lo = (mean - 12.0 * sd).min(axis=1) - 1.0
        hi = (mean + 12.0 * sd).max(axis=1) + 1.0

        def func(x, rows):
            loss_x, upper_x = _shortage(x, mean[rows], sd[rows], weights)
            loss_q, upper_q = _shortage(x + q[rows], mean[rows], sd[rows], weights)
            return target[rows] - (loss_x - loss_q), upper_x - upper_q

        return _solve_increasing(func, lo, hi, mean @ weights if start is None else start)
    raise ValueError(f"service_type must be 'cycle' or 'fill_rate', not {service_type!r}")


def mixture_moments(mean: np.ndarray, var: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) per row of the mixture Σ_j w_j N(mean[:, j], var[:, j])."""
    centre = mean @ weights
    return centre, np.maximum((var + mean**2) @ weights - centre**2, 0.0)
