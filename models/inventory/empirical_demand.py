"""Empirical protection-interval demand: the reorder point from the realised errors of past forecasts.

The parametric policy (``policy.policy_levels``) sets s as a quantile of a *model* of the demand s
protects, X = D_L + U (lead-time demand plus the undershoot of s at the ordering review). When the
forecast's level is biased for a group of SKUs (docs/inventory-policy.md, "Diagnosis of the
misses": lumpy SKUs with 0-1 orders in the last 26 weeks forecast ~30 % low), the model is wrong
in its location, and no width fixes it. The empirical candidate (Trapero, Cardós & Kourentzes
2019, "Empirical safety stock estimation based on kernel and GARCH models", Omega 84; Prak,
Teunter & Syntetos 2017, "On the calculation of safety stocks when demand is forecasted", EJOR
256) takes the lead-time demand's distribution from what happened after past forecasts:

1. **Origins.** Every review of the policy replay (``backtest.backtest_policy``) is a forecast
   origin o with the forecast then in use; per SKU it gives μ̂_B(o), the forecast mean over the
   planned interval B = L̄ (the mean lead time; B = L̄ + R without the undershoot correction, where
   s protects the textbook D_{L+R}). The realised interval is the lead time L an order placed at o
   draws in the replay (plus R without the undershoot correction): the actual, variable interval.
2. **Scaled error** ρ = D(o, L) / μ̂_B(o): realised demand over the weeks after o (whole weeks
   summed, a last fractional week linearly) over the forecast mean. A *ratio*, because the misses
   are level errors (multiplicative: a forecast 30 % low gives ρ ≈ 1.3 at every volume), and it
   scales to the current forecast without trusting a forecast sd (the thing under suspicion; the
   (D − μ̂)/σ̂ form would carry σ̂'s errors). Origins with μ̂_B = 0 are dropped (no ratio; the
   policy is zero there or U alone). An origin counts only once its interval is over: o + L ≤ the
   weeks of demand seen (no leakage: an error uses only demand after its origin, and a review at
   week w uses only origins whose intervals ended by w).
3. **Pooled** per demand class and, where the counts support it (``MIN_GROUP_ERRORS`` errors from
   ``MIN_GROUP_SKUS`` SKUs), per finer group: for intermittent / lumpy the band of orders seen in
   the 26 weeks before the origin (``ORDER_BANDS``: 0-1, 2-3, 4-6, 7+; the known bias), for the
   other classes the band of μ̂_B (``VOLUME_BANDS``: the ratio's noise shrinks with the volume, so
   one pool over all volumes would under-cover the small SKUs and over-cover the large). A pool
   needs ``MIN_CLASS_ERRORS`` errors from ``MIN_CLASS_SKUS`` SKUs over ``MIN_ORIGIN_WEEKS``
   distinct origin weeks, else no empirical level (parametric).
4. **Level, the same undershoot logic as the parametric s.** X = ρ μ̂_B(now) + ρ̄ U, ρ drawn from
   the pool, ρ̄ the pool's mean ratio (the undershoot is made of the realised demand, so it carries
   the pool's level bias, too) and U independent, normal with the parametric undershoot's moments
   E[U], Var U (the ladder sum of ``undershoot.py``; E[U] of the compound process for intermittent /
   lumpy). Cycle service: s solves P(X ≤ s) = (1/m) Σ_j Φ((s − ρ_j μ̂_B − ρ̄ E[U]) / (ρ̄ sd U)) = α
   (bisection, vectorised over SKUs; the pool reduced to 64 quantiles when larger, denser in the
   upper tail: ``GRID_EDGES``). With
   Var U = 0 (no undershoot correction): s = q_α(ρ) μ̂_B + ρ̄ E[U], q_α the plain empirical
   quantile (inverted CDF: the smallest sample value r_(k) with k / m ≥ α). S = s + Q, as the
   parametric policy. No kernel on ρ itself: the pooled samples hold hundreds to thousands of
   errors, and U's normal already smooths the sum. Cycle-service targets only (a fill-rate target
   stays parametric).

The replay runs this candidate beside the parametric (calibrated) one on the same weeks and draws;
``choose_interval_models`` picks per class (``calibration.with_interval_models`` writes the table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .compound import orders_seen

ORDER_BANDS = (1, 3, 6)     # orders in the last 26 weeks: 0-1, 2-3, 4-6, 7+
ORDER_WEEKS = 26
VOLUME_BANDS = (10, 40, 160)   # units of forecast demand over the interval (μ̂_B): smooth / erratic pools
MIN_GROUP_ERRORS = 200
MIN_GROUP_SKUS = 30
MIN_CLASS_ERRORS = 100
MIN_CLASS_SKUS = 20
MIN_ORIGIN_WEEKS = 4        # distinct origin weeks in a pool: errors of one week share its shocks
# the pool's ρ reduced to 64 quantiles for the mixture with U, denser where a service level's quantile lies:
# 8 bins over probabilities 0-0.5, 16 over 0.5-0.9, 40 over 0.9-1 (the whole sample when it is smaller)
GRID_EDGES = np.concatenate([np.linspace(0.0, 0.5, 9)[:-1], np.linspace(0.5, 0.9, 17)[:-1], np.linspace(0.9, 1.0, 41)])
BISECTION_STEPS = 30
CHOICE_TOLERANCE = 0.015    # achieved within ±1.5 points of target: "meets it" (issue 14's target)
MIN_CHOICE_CYCLES = 100     # below this many cycles of the empirical replay in a class: parametric
CHOICE_MIN_GAIN = 0.01      # the empirical candidate must be this much nearer the target (1 point) ...
CHOICE_MIN_SAVING = 0.02    # ... or, both meeting it, hold this share less stock (2 %): else parametric
PARAMETRIC, EMPIRICAL = "parametric", "empirical"
ERROR_COLUMNS = ["sku", "origin", "span", "base_mean", "demand_class", "group", "ratio"]
_SEP = "\x1f"


def order_band(recent_orders: np.ndarray) -> np.ndarray:
    """'orders 0-1' / '2-3' / '4-6' / '7+' (in the last 26 weeks) per SKU."""
    recent_orders = np.asarray(recent_orders)
    a, b, c = ORDER_BANDS
    return np.where(recent_orders <= a, f"orders 0-{a}", np.where(
        recent_orders <= b, f"orders {a + 1}-{b}", np.where(recent_orders <= c, f"orders {b + 1}-{c}", f"orders {c + 1}+")))


def volume_band(base_mean: np.ndarray) -> np.ndarray:
    """'interval demand < 10' / '10-40' / '40-160' / '160+' units (μ̂_B, the forecast over the interval)."""
    base_mean = np.asarray(base_mean, dtype=float)
    a, b, c = VOLUME_BANDS
    return np.where(base_mean < a, f"interval demand < {a}", np.where(
        base_mean < b, f"interval demand {a}-{b}", np.where(base_mean < c, f"interval demand {b}-{c}",
                                                            f"interval demand {c}+")))


def empirical_groups(demand_class: np.ndarray, recent_orders: np.ndarray, base_mean: np.ndarray) -> np.ndarray:
    """The finer group of each SKU for the error pool: the order band for intermittent / lumpy, the
    band of the interval's forecast demand for the other classes (the ratio's noise shrinks with the
    volume, so one pool over all volumes under-covers the small SKUs and over-covers the large)."""
    from .policy import COUNT_CLASSES  # policy imports this module
    demand_class = np.asarray(demand_class).astype(str)
    return np.where(np.isin(demand_class, COUNT_CLASSES), order_band(recent_orders), volume_band(base_mean))


def origin_groups(history: np.ndarray, start: np.ndarray, demand_class: np.ndarray, base_mean: np.ndarray) -> np.ndarray:
    """``empirical_groups`` of SKUs at an origin: the order band from the last 26 weeks of
    ``history`` (the demand seen by then), the volume band from μ̂_B then."""
    return empirical_groups(demand_class, orders_seen(history, start, ORDER_WEEKS), base_mean)


def realised_demand(cumulative: np.ndarray, weekly: np.ndarray, rows: np.ndarray, origin: np.ndarray,
                    span: np.ndarray) -> np.ndarray:
    """Demand of ``rows`` over ``span`` weeks from column ``origin``: whole weeks summed, the last
    fractional week linearly. ``cumulative`` (n, T + 1) = [0, cumsum(weekly)] along weeks."""
    end = np.asarray(origin, dtype=float) + np.asarray(span, dtype=float)
    whole = np.floor(end).astype(int)
    frac = end - whole
    last = np.minimum(whole, weekly.shape[1] - 1)
    return cumulative[rows, whole] + frac * weekly[rows, last] - cumulative[rows, origin]


def ratio_quantile(sorted_sample: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Empirical quantile (inverted CDF) of a sorted sample at each ``level``: r_(k), k = ⌈α m⌉."""
    m = sorted_sample.size
    k = np.clip(np.ceil(np.asarray(level, dtype=float) * m - 1e-9).astype(int), 1, m)
    return sorted_sample[k - 1]


def mixture_level(grid: np.ndarray, base_mean: np.ndarray, undershoot_mean: np.ndarray, undershoot_sd: np.ndarray,
                  level: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """s with Σ_j w_j Φ((s − ρ_j μ̂_B − E[U]) / sd U) = α per row (``grid`` (G,) the pool's ρ with
    probability ``weights`` (equal when None); sd U > 0), by bisection between the ends of the
    mixture's support (± 8 sd)."""
    weights = np.full(grid.size, 1.0 / grid.size) if weights is None else np.asarray(weights, dtype=float)
    centres = grid[None, :] * base_mean[:, None] + undershoot_mean[:, None]     # (n, G)
    low = centres.min(axis=1) - 8 * undershoot_sd
    high = centres.max(axis=1) + 8 * undershoot_sd
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (low + high)
        below = ndtr((middle[:, None] - centres) / undershoot_sd[:, None]) @ weights >= level
        high, low = np.where(below, middle, high), np.where(below, low, middle)
    return high


def level_parts(level_mean: np.ndarray, lead_demand_mean: np.ndarray, protection_mean: np.ndarray,
                undershoot_var: np.ndarray, undershoot_correction: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(μ̂_B, E[U], sd U) of the parametric policy's arrays: with the undershoot correction μ̂_B =
    μ̂_L, E[U] = μ̂_X − μ̂_L (μ̂_X = ``level_mean``), sd U = √Var U; without it μ̂_B = μ̂_P and U = 0."""
    if not undershoot_correction:
        zero = np.zeros(np.shape(protection_mean))
        return np.asarray(protection_mean, dtype=float), zero, zero
    base = np.asarray(lead_demand_mean, dtype=float)
    return (base, np.maximum(np.asarray(level_mean, dtype=float) - base, 0.0),
            np.sqrt(np.maximum(np.asarray(undershoot_var, dtype=float), 0.0)))


@dataclass(frozen=True)
class ErrorPool:
    """Completed scaled errors (one per origin): ``ratio`` ρ with the ``demand_class``, ``group``,
    ``sku`` (replayed row) and ``origin`` week they come from."""

    ratio: np.ndarray
    demand_class: np.ndarray
    group: np.ndarray
    sku: np.ndarray
    origin: np.ndarray

    @classmethod
    def from_errors(cls, errors: pd.DataFrame) -> ErrorPool:
        """The pool of an ``ErrorLedger.errors()`` frame."""
        return cls(errors["ratio"].to_numpy(float), errors["demand_class"].to_numpy().astype(str),
                   errors["group"].to_numpy().astype(str), errors["sku"].to_numpy(), errors["origin"].to_numpy())

    def levels(self, demand_class: np.ndarray, group: np.ndarray, level: np.ndarray, base_mean: np.ndarray,
               undershoot_mean: np.ndarray, undershoot_sd: np.ndarray) -> np.ndarray:
        """s per query row (module docstring, step 4) from its (class, group) pool where that holds
        ``MIN_GROUP_ERRORS`` errors of ``MIN_GROUP_SKUS`` SKUs, else its class pool
        (``MIN_CLASS_ERRORS``, ``MIN_CLASS_SKUS``); every pool needs ``MIN_ORIGIN_WEEKS`` origin
        weeks. NaN where no pool qualifies (no empirical level)."""
        demand_class = np.asarray(demand_class).astype(str)
        shape = demand_class.shape
        group = np.asarray(group).astype(str)
        level, base_mean, undershoot_mean, undershoot_sd = (
            np.broadcast_to(np.asarray(value, dtype=float), shape)
            for value in (level, base_mean, undershoot_mean, undershoot_sd))
        out = np.full(shape, np.nan)
        if self.ratio.size == 0 or demand_class.size == 0:
            return out
        sample_key = np.char.add(np.char.add(self.demand_class, _SEP), self.group)
        query_key = np.char.add(np.char.add(demand_class, _SEP), group)
        for keys, queries, min_errors, min_skus in ((sample_key, query_key, MIN_GROUP_ERRORS, MIN_GROUP_SKUS),
                                                    (self.demand_class, demand_class, MIN_CLASS_ERRORS, MIN_CLASS_SKUS)):
            wanted = np.isnan(out)
            for key in np.unique(queries[wanted]):
                members = keys == key
                if (members.sum() < min_errors or np.unique(self.sku[members]).size < min_skus
                        or np.unique(self.origin[members]).size < MIN_ORIGIN_WEEKS):
                    continue
                rows = np.flatnonzero(wanted & (queries == key))
                sample = np.sort(self.ratio[members])
                scale = float(sample.mean())   # the pool's level ratio: U is of the realised demand, too
                plain = undershoot_sd[rows] * scale <= 1e-12
                out[rows[plain]] = (ratio_quantile(sample, level[rows[plain]]) * base_mean[rows[plain]]
                                    + scale * undershoot_mean[rows[plain]])
                if (~plain).any():
                    grid, weights = sample, None
                    if sample.size > GRID_EDGES.size - 1:
                        grid = ratio_quantile(sample, 0.5 * (GRID_EDGES[:-1] + GRID_EDGES[1:]))
                        weights = np.diff(GRID_EDGES)
                    mixed = rows[~plain]
                    out[mixed] = mixture_level(grid, base_mean[mixed], scale * undershoot_mean[mixed],
                                               scale * undershoot_sd[mixed], level[mixed], weights)
        return out


class ErrorLedger:
    """The replay's forecast origins and, once their intervals are over, their scaled errors.

    ``history`` (n, T) the replayed weekly demand. Give one to
    ``backtest_policy(empirical=...)``; read ``errors()`` / ``pool()`` after it. ``add`` records
    origins (SKU row, first week after the origin, realised span, μ̂_B, class, group);
    ``complete(weeks_seen)`` turns those with origin + span ≤ weeks_seen into errors ρ (module
    docstring, step 2). Pure arithmetic over arrays: one call per review week, vectorised over SKUs.
    """

    def __init__(self, history: np.ndarray) -> None:
        self.weekly = np.maximum(np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=float))), 0.0)
        self.cumulative = np.concatenate([np.zeros((self.weekly.shape[0], 1)), np.cumsum(self.weekly, axis=1)], axis=1)
        self._pending: list[dict[str, np.ndarray]] = []
        self._done: list[dict[str, np.ndarray]] = []
        self._pool: ErrorPool | None = None

    def add(self, sku: np.ndarray, origin: int, span: np.ndarray, base_mean: np.ndarray, demand_class: np.ndarray,
            group: np.ndarray) -> None:
        keep = (np.asarray(base_mean) > 0) & np.isfinite(span)
        if keep.any():
            self._pending.append({"sku": np.asarray(sku)[keep], "origin": np.full(int(keep.sum()), origin),
                                  "span": np.asarray(span, dtype=float)[keep],
                                  "base_mean": np.asarray(base_mean, dtype=float)[keep],
                                  "demand_class": np.asarray(demand_class).astype(str)[keep],
                                  "group": np.asarray(group).astype(str)[keep]})

    def complete(self, weeks_seen: int) -> None:
        """Move the origins whose interval ended by ``weeks_seen`` (columns of demand seen) to errors."""
        pending, self._pending = self._pending, []
        for part in pending:
            done = part["origin"] + part["span"] <= weeks_seen
            if done.any():
                finished = {key: value[done] for key, value in part.items()}
                finished["ratio"] = realised_demand(self.cumulative, self.weekly, finished["sku"], finished["origin"],
                                                    finished["span"]) / finished["base_mean"]
                self._done.append(finished)
                self._pool = None
            if not done.all():
                self._pending.append({key: value[~done] for key, value in part.items()})

    def extend(self, errors: pd.DataFrame) -> None:
        """Add completed errors known beforehand (``errors()`` of an earlier replay of the same SKU
        rows, e.g. of the weeks before a judged window)."""
        if len(errors):
            self._done.append({key: errors[key].to_numpy() for key in ERROR_COLUMNS})
            self._pool = None

    def _merged(self) -> dict[str, np.ndarray]:
        if len(self._done) > 1:   # one block: the pools are re-read every review
            self._done = [{key: np.concatenate([part[key] for part in self._done]) for key in ERROR_COLUMNS}]
        return self._done[0] if self._done else {key: np.array([]) for key in ERROR_COLUMNS}

    def errors(self) -> pd.DataFrame:
        """The completed errors (``ERROR_COLUMNS``; ``sku`` is the row of the replayed history)."""
        return pd.DataFrame(self._merged(), columns=ERROR_COLUMNS)

    def pool(self) -> ErrorPool:
        """The completed errors as an ``ErrorPool`` (cached until the next completion)."""
        if self._pool is None:
            done = self._merged()
            self._pool = ErrorPool(done["ratio"].astype(float), done["demand_class"].astype(str),
                                   done["group"].astype(str), done["sku"], done["origin"])
        return self._pool


@dataclass(frozen=True)
class EmpiricalChoice:
    """What ``policy.compute_policy`` needs for the empirical level: the run's error ``pool``, and
    per SKU of the run its ``recent_orders`` (weeks with demand in the last 26: the order band) and
    ``use`` (its class chose the empirical interval)."""

    pool: ErrorPool
    recent_orders: np.ndarray
    use: np.ndarray


def empirical_reorder_points(choice: EmpiricalChoice, eligible: np.ndarray, demand_class: np.ndarray,
                             level: np.ndarray, level_mean: np.ndarray, lead_demand_mean: np.ndarray,
                             protection_mean: np.ndarray, undershoot_var: np.ndarray,
                             undershoot_correction: bool) -> np.ndarray:
    """(n,) the empirical reorder point of each SKU of a run (``policy.compute_policy``): for the
    SKUs ``choice.use`` marks and ``eligible`` allows (stocked), s from ``choice.pool.levels`` at the
    target ``level`` (module docstring, step 4) with μ̂_B, E[U], sd U from the parametric policy's
    arrays (``level_parts``) and the group of the SKU's ``recent_orders`` / μ̂_B; NaN elsewhere and
    where no pool qualifies (the parametric s stays). All arrays (n,)."""
    out = np.full(np.shape(level_mean), np.nan)
    picked = np.flatnonzero(np.asarray(choice.use, bool) & np.asarray(eligible, bool))
    if not picked.size:
        return out
    base_mean, undershoot_mean, undershoot_sd = level_parts(
        np.asarray(level_mean)[picked], np.asarray(lead_demand_mean)[picked], np.asarray(protection_mean)[picked],
        np.asarray(undershoot_var)[picked], undershoot_correction)
    demand_class = np.asarray(demand_class)[picked]
    recent = np.asarray(choice.recent_orders)[picked]
    out[picked] = choice.pool.levels(demand_class.astype(str), empirical_groups(demand_class, recent, base_mean),
                                     np.asarray(level, dtype=float)[picked], base_mean, undershoot_mean, undershoot_sd)
    return out


def choose_interval_models(achieved_parametric: np.ndarray, on_hand_parametric: np.ndarray,
                           achieved_empirical: np.ndarray, on_hand_empirical: np.ndarray, target: np.ndarray,
                           empirical_cycles: np.ndarray) -> np.ndarray:
    """Per class 'empirical' or 'parametric': with ≥ ``MIN_CHOICE_CYCLES`` empirical cycles, if both
    candidates achieve within ``CHOICE_TOLERANCE`` of the target the one with less average on hand,
    else the one nearer the target. The parametric policy is the default: the empirical one must hold
    ``CHOICE_MIN_SAVING`` less stock, or be ``CHOICE_MIN_GAIN`` nearer the target (the replay's
    sampling error is 1.5-2.5 points per class; on the closed-loop worlds smaller wins did not carry).
    Thin or missing evidence: parametric."""
    gap_p = np.abs(np.asarray(achieved_parametric, float) - target)
    gap_e = np.abs(np.asarray(achieved_empirical, float) - target)
    both_meet = (gap_p <= CHOICE_TOLERANCE) & (gap_e <= CHOICE_TOLERANCE)
    saving = np.asarray(on_hand_empirical, float) < (1 - CHOICE_MIN_SAVING) * np.asarray(on_hand_parametric, float)
    empirical_wins = np.where(both_meet, saving, gap_e < gap_p - CHOICE_MIN_GAIN)
    usable = (np.asarray(empirical_cycles, float) >= MIN_CHOICE_CYCLES) & np.isfinite(gap_e)
    empirical_wins = np.where(np.isfinite(gap_p), empirical_wins, True)
    return np.where(usable & empirical_wins, EMPIRICAL, PARAMETRIC)


__all__ = [
    "EmpiricalChoice",
    "ErrorLedger",
    "ErrorPool",
    "choose_interval_models",
    "empirical_groups",
    "empirical_reorder_points",
    "level_parts",
    "mixture_level",
    "order_band",
    "origin_groups",
    "ratio_quantile",
    "realised_demand",
    "volume_band",
]
