"""Periodic-review (R, s, S) policy per SKU: safety stock, reorder point, order-up-to level, EOQ.

Protection interval P = L + R (mean lead time + review period, weeks). Demand over it is the
forecast summed over the actual weeks ahead (seasonality kept): the cumulative forecast is
linearly interpolated at fractional weeks, and extended past the horizon at the mean rate of its
last 13 weeks. Its variance adds the lead-time variability (Silver, Pyke & Thomas, 4th ed., ch. 6,
"variable lead time": σ² = E[L] σ_d² + d² σ_L², generalised to a non-flat forecast):

    μ_P = C_μ(P),  σ_P² = C_v(P) + d² σ_L²,

C_μ / C_v the cumulative weekly means / variances, d the weekly demand rate around the end of the
lead time (slope of C_μ over [L - ½, L + ½]).

* 'normal' family: D_P ~ Normal(μ_P, σ_P); 'poisson' / 'negbin': the count distribution with those
  two moments (Poisson when σ_P² <= μ_P, else negative binomial) - see ``distribution``.
* The level s protects X: with ``config.undershoot_correction`` (default) X = D_L + U, the
  lead-time demand plus the undershoot of s at the ordering review (``undershoot``), and the
  demand per cycle is Q + E[U]; without it the textbook X = D_P (SPT §7.x (R, s, S) with L
  replaced by R + L), which over-achieves the target (see benchmarks/policy_simulation.py).
  X is normal or the matched count distribution, as above.
* Cycle service (P1): s = smallest x with P(X <= x) >= P1.
* Fill rate (P2): s = smallest x with loss(x) - loss(x + Q') <= (1 - P2) Q', Q' the demand per
  cycle (SPT §6.7, G(k) = (1 - P2) Q / σ when Q >> σ).
* Safety stock = max(s - μ_P, 0): the stock kept beyond the mean demand of the protection
  interval, never negative. s itself can lie below μ_P: with the undershoot correction s protects
  X = D_L + U, whose mean μ_L + E[U] is below μ_P = μ_L + μ_R when the review period is long
  against the lead time, and a skewed X (count families, compound demand, the lead-time mixture)
  can meet a cycle target with its quantile below its mean. Those SKUs show safety stock 0 and
  the method suffix '+s_below_mean' (s is unchanged: reorder_point is the level the policy uses).
  Order quantity Q = max(EOQ, mean demand per review period); order-up-to S = s + Q.
* EOQ = sqrt(2 D K / (h c)), D annual demand (52 x mean weekly forecast over the horizon),
  K = ordering_cost, h = holding_cost_rate, c = unit_cost (Harris; SPT §4.2). NaN without a cost.

With the demand history (``compute_policy(..., history=, start=)``, as the flow passes it) the
interval model is the one the backtest replay uses by default (``interval_model_inputs``): the
forecast's level error shared by all weeks of an interval, and for intermittent / lumpy SKUs the
compound occurrences x sizes distribution of ``compound.py`` (method ``.../compound_negbin``).

`lost` items (``PlanningInputs.lost_sales``) under a fill-rate target meet it in its lost-sales
form ESPRC <= (1 - P2) / P2 Q' (``lost_sales.lost_sales_fill_rate``, SPT 3rd ed. ch. 7; method
suffix '+lost_sales'); cycle-service targets are the same under lost sales.

Discontinued items and SKUs with no forecast demand get s = S = 0 (method 'discontinued' /
'no_demand'). The reorder point is never negative. The per-SKU inputs (supplier, review period,
lead time, target, unit cost, status) come aligned in a ``PlanningInputs`` (``planning_inputs``);
the frame also carries ``unit_cost`` for the policy replay downstream.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .compound import (
    compound_level_pmf,
    orders_seen,
    pmf_fill_rate_level,
    pmf_fill_rate_level_undershoot,
    pmf_quantile,
    recent_sizes,
)
from .config import PolicyConfig
from .distribution import family_name, fill_rate_level, is_count_family, quantile
from .empirical_demand import EmpiricalChoice, empirical_reorder_points
from .lead_time_mixture import cumulative_at_nodes, gamma_nodes, mixture_levels
from .lost_sales import lost_sales_fill_rate
from .planning_inputs import PlanningInputs
from .replay_sharing import CompoundMemo, block_rows, compound_row_keys, repeated_block
from .undershoot import (
    MAX_LATTICE_UNITS,
    lattice_undershoot,
    lattice_undershoot_exact,
    undershoot_moments,
)

WEEKS_PER_YEAR = 52.0
TAIL_WEEKS = 13
COUNT_CLASSES = ("intermittent", "lumpy")   # demand classes that get the compound distribution
LEVEL_ERROR_WEEKS = 13.0   # weeks of data behind a forecast level (SES α ≈ 0.15: (2 - α) / α)
RATE_EVIDENCE_WEEKS = 26   # orders seen in this many weeks give the occurrence rate's 1/k variance
SAFETY_STOCK_TOLERANCE = 1e-6   # units: s - μ_P above -this is rounding, not 's below the mean'
COMPOUND_CHUNK = 4096      # SKUs per compound-pmf batch (bounds memory: a few (chunk, 1024) arrays)

POLICY_COLUMNS = [
    "sku", "supplier_id", "service_level", "service_level_type", "lead_time_weeks_mean",
    "lead_time_weeks_sd", "review_period_weeks", "demand_per_week_mean", "demand_per_week_sd",
    "protection_demand_mean", "protection_demand_sd", "safety_stock", "reorder_point",
    "order_up_to", "eoq", "method", "level_error_weeks",
]


def cumulative_at(weekly: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """Sum of ``weekly`` (n, h) over the first ``weeks`` (n,) weeks, fractional weeks linearly.

    Past the horizon the sum grows at the mean rate of the last 13 weeks.
    """
    n, h = weekly.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(weekly, axis=1)], axis=1)
    weeks = np.maximum(np.asarray(weeks, dtype=float), 0.0)
    inside = np.minimum(weeks, float(h))
    whole = np.minimum(np.floor(inside).astype(int), h - 1)
    frac = inside - whole
    rows = np.arange(n)
    value = cum[rows, whole] + frac * weekly[rows, whole]
    tail_rate = weekly[:, max(h - TAIL_WEEKS, 0):].mean(axis=1)
    return value + np.maximum(weeks - h, 0.0) * tail_rate


def shared_level_error(first_week_var: np.ndarray, level_error_weeks: float | np.ndarray | None) -> np.ndarray:
    """σ₁² / n_e per SKU, the variance of the forecast level's error shared by all weeks of an
    interval; 0 where n_e is None, 0, NaN or inf (a float for all SKUs or an (n,) array)."""
    first_week_var = np.asarray(first_week_var, dtype=float)
    if level_error_weeks is None:
        return np.zeros(first_week_var.shape)
    weeks = np.broadcast_to(np.asarray(level_error_weeks, dtype=float), first_week_var.shape)
    valid = np.isfinite(weeks) & (weeks > 0)
    return np.where(valid, first_week_var / np.where(valid, weeks, 1.0), 0.0)


def service_levels(given: np.ndarray, abc: np.ndarray, config: PolicyConfig) -> np.ndarray:
    """The item's target ``given`` (``PlanningInputs.service_level``) where not NaN, else
    config.service_level_by_abc[abc], else the default; clipped to [0.5, 0.9999]."""
    given = np.asarray(given, dtype=float)
    from_class = (pd.Series(np.asarray(abc, dtype=object)).astype(str).map(config.service_level_by_abc)
                  .astype(float).fillna(config.default_service_level).to_numpy())
    level = np.where(np.isfinite(given), given, from_class)
    return np.clip(level, 0.5, 0.9999)


def policy_lead_times(inputs: PlanningInputs, config: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) lead time in weeks per SKU as the policy uses it: the estimate, else
    ``fallback_lead_time_days`` with sd = ``nominal_lead_time_cv`` x that."""
    fallback = config.fallback_lead_time_days / 7.0
    return (np.nan_to_num(inputs.lead_time_weeks_mean, nan=fallback),
            np.nan_to_num(inputs.lead_time_weeks_sd, nan=fallback * config.nominal_lead_time_cv))


def economic_order_quantity(annual_demand: np.ndarray, unit_cost: np.ndarray, config: PolicyConfig) -> np.ndarray:
    """EOQ = sqrt(2 D K / (h c)); NaN where the unit cost is missing or not positive."""
    holding = config.holding_cost_rate * np.asarray(unit_cost, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        eoq = np.sqrt(2.0 * np.maximum(annual_demand, 0.0) * config.ordering_cost / holding)
    return np.where(holding > 0, eoq, np.nan)


def interval_model_inputs(history: np.ndarray, start: np.ndarray, demand_class: np.ndarray,
                          level_error_weeks: float | np.ndarray | None = None) -> dict:
    """Keywords of ``policy_levels`` for the "compound" interval model, from the demand history.

    ``history`` (n, T) weekly demand up to the last complete week before the forecast (columns
    before ``start`` are not the SKU's history), ``start`` (n,) first week of each SKU's history,
    ``demand_class`` (n,). Gives the shared level error for every SKU (``level_error_weeks``: the
    forecast's own n_e per SKU, ``ForecastResult.level_error_weeks``, fitted per demand class on
    the forecasting backtest (docs/forecasting.md §5.1); without it the fixed
    ``LEVEL_ERROR_WEEKS``) and,
    for intermittent / lumpy SKUs, the compound occurrences x sizes distribution: the last 104
    weeks' non-zero demands as sizes, 1 / (orders in the last ``RATE_EVIDENCE_WEEKS`` weeks) as
    the rate's relative variance. The one place both ``compute_policy`` and the backtest replay
    take these choices from, so the pipeline's table and the replay that judges it agree.
    """
    history = np.maximum(np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=float))), 0.0)
    start = np.asarray(start, dtype=np.int64).reshape(-1)
    if level_error_weeks is None:
        level_error_weeks = LEVEL_ERROR_WEEKS
    return dict(level_error_weeks=level_error_weeks, sizes=recent_sizes(history, start),
                rate_rel_var=1.0 / np.maximum(orders_seen(history, start, RATE_EVIDENCE_WEEKS), 1),
                compound=np.isin(np.asarray(demand_class).astype(str).reshape(-1), COUNT_CLASSES))


def _interval_parts(mean: np.ndarray, var: np.ndarray, is_count: np.ndarray, lead_mean: np.ndarray,
                    lead_sd: np.ndarray, review: np.ndarray, eoq: np.ndarray, config: PolicyConfig,
                    level_error_weeks: float | np.ndarray | None, compound_mask: np.ndarray) -> dict:
    """The level-independent part of ``policy_levels`` (its docstring): the protection interval's
    moments, the end-of-lead-time rate d, the shared level error, Q, the undershoot moments (normal
    ladder, lattice-corrected; ``lattice``: the rows whose exact lattice undershoot ``policy_levels``
    computes) and the lead-time demand's moments. Row-wise arithmetic, all arrays (n,)."""
    n = mean.shape[0]
    protection = lead_mean + review
    protection_mean = cumulative_at(mean, protection)
    end_rate = np.maximum(cumulative_at(mean, lead_mean + 0.5) - cumulative_at(mean, np.maximum(lead_mean - 0.5, 0.0)), 0.0)
    end_rate = np.where(lead_mean < 0.5, cumulative_at(mean, np.ones(n)), end_rate)
    protection_var = cumulative_at(var, protection) + end_rate**2 * lead_sd**2
    shared = shared_level_error(var[:, 0], level_error_weeks)
    protection_var = protection_var + (protection**2 - protection).clip(min=0.0) * shared
    review_demand = cumulative_at(mean, review)
    order_quantity = np.fmax(np.nan_to_num(eoq, nan=0.0), review_demand)
    parts = {"protection": protection, "protection_mean": protection_mean, "protection_var": protection_var,
             "end_rate": end_rate, "shared": shared, "review_demand": review_demand, "order_quantity": order_quantity}
    if config.undershoot_correction:
        review_var = cumulative_at(var, review)
        undershoot_mean, undershoot_var = undershoot_moments(review_demand, np.sqrt(review_var), order_quantity)
        lattice = np.zeros(n, bool)
        if config.lattice_undershoot:  # Poisson demand: the undershoot lives on the integer lattice
            lattice = (np.broadcast_to(np.asarray(is_count, bool), (n,)) & ~compound_mask & (review_demand > 0)
                       & (review_var <= review_demand * (1 + 1e-9)))
            undershoot_mean, undershoot_var = lattice_undershoot(undershoot_mean, undershoot_var, lattice)
        parts.update(review_var=review_var, undershoot_mean=undershoot_mean, undershoot_var=undershoot_var,
                     lattice=lattice, lead_demand_mean=cumulative_at(mean, lead_mean),
                     lead_demand_var=cumulative_at(var, lead_mean))
    return parts


def policy_levels(mean: np.ndarray, var: np.ndarray, is_count: np.ndarray, lead_mean: np.ndarray,
                  lead_sd: np.ndarray, review: np.ndarray, level: np.ndarray, eoq: np.ndarray,
                  config: PolicyConfig, *, level_error_weeks: float | np.ndarray | None = None,
                  sizes: np.ndarray | None = None, rate_rel_var: np.ndarray | None = None,
                  compound: np.ndarray | None = None, replicas: int = 1,
                  compound_memo: CompoundMemo | None = None) -> dict[str, np.ndarray]:
    """The (R, s, S) arithmetic of ``compute_policy`` on arrays (no frames): weekly forecast
    ``mean`` / ``var`` (n, h), count-family flags, lead time and review period (weeks), service
    level and EOQ (NaN = none) per SKU. Returns protection_mean/var, level_mean/var (the
    distribution s protects), order_quantity, reorder_point (>= 0; before the stocked mask) and
    undershoot_var (Var U of the normal / lattice ladder; 0 without the undershoot correction).
    Used by ``compute_policy`` and by the backtest replay (``backtest``).

    Interval model (keywords; all off = the weekly model: Σ of weekly variances, count family
    matched to those two moments):
    * ``level_error_weeks`` n_e: the forecast level is estimated from ≈ n_e weeks, so its error
      is shared by every week of an interval of T weeks: Var D_T += (T² - T) σ₁² / n_e (σ₁² the
      first week's forecast variance; the weekly variances already hold the T σ₁²/n_e diagonal).
      A float for every SKU, or an (n,) array per SKU; None, 0, NaN or inf (for the whole call or
      for one SKU) = no shared level error.
    * ``sizes`` (n, m) recent non-zero demands, ``rate_rel_var`` (n,) relative variance of the
      occurrence rate and ``compound`` (n,) mask: those SKUs get the compound distribution of
      ``compound.py`` for X = D_L + U (occurrences x sizes), instead of the matched count family.
      U is the exact undershoot of the same compound process (``compound_undershoot_pmf``: the
      review-period demand is R weeks of occurrence probability μ_R / (R E[Z]) and sizes Z), the
      demand per cycle Q + E[U] with that E[U], and the fill-rate level uses the (R, s, S)
      shortage per cycle E[(X - s)+] - E[(D_L - s - Q)+] (``pmf_fill_rate_level_undershoot``).

    With ``config.lead_time_mixture`` (default) the normal-family SKUs with lead_sd > 0 (and not
    compound) get s from the mixture of X over the gamma lead-time distribution
    (``lead_time_mixture``: each quadrature node's demand summed over its own weeks ahead, plus
    the undershoot and the level error), not from one normal with the d² σ_L² term; returned mask
    ``lt_mixture``. ``level_mean`` / ``level_var`` stay the two-moment figures.

    ``replicas`` K (the backtest's nominal-level replays): the n rows are K blocks of n / K rows,
    block k repeating block 0 in every input except ``level``. The compound distribution (the
    pmf of X, its undershoot and lead-time pmf: the costly part, independent of the level) is
    then computed once per row of block 0 and shared by the K blocks; only the level search runs
    per block. Row-wise the arithmetic is the same, so the results equal those of K = 1. The
    level-independent arithmetic (``_interval_parts``, the mixture's nodes) is likewise computed on
    block 0 and repeated when every block repeats block 0's inputs.

    ``compound_memo`` (``CompoundMemo``, the policy replay's): the compound distributions of rows
    whose inputs equal a row of a recent call are taken from it instead of being recomputed.
    """
    n = mean.shape[0]
    compound_mask = (np.zeros(n, bool) if sizes is None or compound is None
                     else np.broadcast_to(np.asarray(compound, bool), (n,)))
    # the level-independent arithmetic once per row of block 0 when the K blocks repeat it (replicas)
    block = repeated_block(replicas, n, (mean, var, is_count, lead_mean, lead_sd, review, eoq, level_error_weeks,
                                          compound_mask))
    first = slice(0, block)
    parts = _interval_parts(*(block_rows(value, first) for value in (mean, var, is_count, lead_mean, lead_sd, review,
                                                                     eoq)),
                            config, block_rows(level_error_weeks, first), compound_mask[first])
    if block < n:
        parts = {key: np.tile(value, replicas) if np.ndim(value) else value for key, value in parts.items()}
    protection, protection_mean, protection_var = parts["protection"], parts["protection_mean"], parts["protection_var"]
    end_rate, shared, order_quantity = parts["end_rate"], parts["shared"], parts["order_quantity"]
    review_demand = parts["review_demand"]

    # the level s protects D_L + undershoot (periodic review), or D_{L+R} (textbook, conservative)
    if config.undershoot_correction:
        undershoot_mean, undershoot_var = parts["undershoot_mean"], parts["undershoot_var"]
        exact = parts["lattice"] & (np.ceil(order_quantity) <= MAX_LATTICE_UNITS)
        if exact.any():   # on all rows (its chunks span the blocks as before)
            undershoot_mean[exact], undershoot_var[exact] = lattice_undershoot_exact(
                review_demand[exact], parts["review_var"][exact], order_quantity[exact])
        level_mean = parts["lead_demand_mean"] + undershoot_mean
        level_var = (parts["lead_demand_var"] + end_rate**2 * lead_sd**2 + undershoot_var
                     + (lead_mean**2 - lead_mean).clip(min=0.0) * shared)
        cycle_quantity = order_quantity + undershoot_mean
    else:
        undershoot_mean, undershoot_var = np.zeros(n), np.zeros(n)
        level_mean, level_var, cycle_quantity = protection_mean, protection_var, order_quantity

    use = np.zeros(n, bool) if sizes is None or compound is None else np.asarray(compound, bool) & (level_mean > 0)
    if config.service_level_type == "fill_rate":
        reorder_point = fill_rate_level(level, cycle_quantity, level_mean, level_var, is_count)
    elif config.service_level_type == "cycle":   # the compound rows get theirs below
        rest = ~use
        reorder_point = np.zeros(n)
        reorder_point[rest] = quantile(np.broadcast_to(np.asarray(level, dtype=float), (n,))[rest], level_mean[rest],
                                       level_var[rest], np.broadcast_to(np.asarray(is_count, bool), (n,))[rest])
    else:
        raise ValueError(f"service_level_type must be 'cycle' or 'fill_rate', not {config.service_level_type!r}")
    mix = (config.lead_time_mixture & ~np.broadcast_to(np.asarray(is_count, bool), (n,)) & ~use
           & (lead_sd > 1e-6 * np.maximum(lead_mean, 1e-9)) & (lead_mean > 0) & (level_mean > 0))
    if mix.any():
        repeated = block < n and np.array_equal(mix, np.tile(mix[first], replicas))
        rows = np.flatnonzero(mix[first] if repeated else mix)   # the nodes of block 0's rows, repeated
        nodes, weights = gamma_nodes(lead_mean[rows], lead_sd[rows])
        span = nodes if config.undershoot_correction else nodes + review[rows, None]
        demand_nodes, var_nodes = cumulative_at_nodes(mean[rows], span), cumulative_at_nodes(var[rows], span)
        level_error_nodes = (span**2 - span).clip(min=0.0) * shared[rows, None]
        if repeated:
            demand_nodes, var_nodes, level_error_nodes = (np.tile(value, (replicas, 1)) for value in
                                                         (demand_nodes, var_nodes, level_error_nodes))
        node_mean = demand_nodes + undershoot_mean[mix, None]
        node_var = var_nodes + undershoot_var[mix, None] + level_error_nodes
        reorder_point = np.array(reorder_point, dtype=float)
        reorder_point[mix] = mixture_levels(np.broadcast_to(np.asarray(level, dtype=float), (n,))[mix],
                                            node_mean, node_var, weights, config.service_level_type,
                                            cycle_quantity[mix], start=reorder_point[mix])
    if use.any():
        span = lead_mean if config.undershoot_correction else protection
        lead_rel = np.divide(lead_sd, np.maximum(lead_mean, 1e-9)) ** 2
        rel = (np.zeros(n) if rate_rel_var is None else np.asarray(rate_rel_var, float)) + lead_rel
        interval_mean = cumulative_at(mean, span)
        level_var = level_var.copy()
        level = np.broadcast_to(np.asarray(level, dtype=float), (n,))
        sizes = np.asarray(sizes)
        picked = np.flatnonzero(use)
        block = n // replicas
        if replicas < 1 or block * replicas != n:
            raise ValueError(f"{n} rows are not {replicas} blocks of equal size")
        distinct = picked[picked < block]   # block 0's rows; the other blocks repeat them (level aside)
        if distinct.size * replicas != picked.size:
            raise ValueError("the replicas' compound SKUs differ: their inputs are not repeats of block 0")
        level_mean, cycle_quantity = level_mean.copy(), cycle_quantity.copy()
        for first in range(0, distinct.size, COMPOUND_CHUNK):  # row-wise independent: batching changes nothing
            part = distinct[first:first + COMPOUND_CHUNK]
            if config.undershoot_correction:  # exact undershoot of the same compound process
                def compute(rows: np.ndarray) -> dict[str, np.ndarray]:
                    return compound_level_pmf(interval_mean[rows], sizes[rows], rel[rows],
                                              review_mean=review_demand[rows], review_weeks=review[rows],
                                              order_quantity=order_quantity[rows],
                                              lead_pmf=config.service_level_type == "fill_rate")
            else:
                def compute(rows: np.ndarray) -> dict[str, np.ndarray]:
                    return compound_level_pmf(interval_mean[rows], sizes[rows], rel[rows])
            if compound_memo is None:
                out = compute(part)
            else:
                out = compound_memo.outputs(part, compute, compound_row_keys(
                    sizes[part], interval_mean[part], rel[part], review_demand[part], review[part],
                    order_quantity[part], float(config.undershoot_correction),
                    float(config.service_level_type == "fill_rate")))
            pmf, width, offset = out["pmf"], out["width"], out["offset"]
            value = np.arange(pmf.shape[1])[None, :] * width[:, None]
            part_var = (pmf * value**2).sum(axis=1) - (pmf * value).sum(axis=1) ** 2
            for copy in range(replicas):   # the level-dependent search, per replica block
                rows = part + copy * block
                if config.undershoot_correction:
                    undershoot = out["undershoot_mean"]
                    cycle_quantity[rows] = order_quantity[rows] + undershoot
                    level_mean[rows] = interval_mean[rows] + undershoot
                if config.service_level_type == "fill_rate" and "lead_pmf" in out:
                    reorder_point[rows] = pmf_fill_rate_level_undershoot(level[rows], order_quantity[rows], undershoot,
                                                                         pmf, out["lead_pmf"], width, offset)
                elif config.service_level_type == "fill_rate":
                    reorder_point[rows] = pmf_fill_rate_level(level[rows], cycle_quantity[rows], pmf, width) + offset
                else:
                    reorder_point[rows] = pmf_quantile(level[rows], pmf, width) + offset
                level_var[rows] = part_var
    return {"protection": protection, "protection_mean": protection_mean, "protection_var": protection_var,
            "level_mean": level_mean, "level_var": level_var, "order_quantity": order_quantity,
            "reorder_point": np.maximum(reorder_point, 0.0), "compound": use, "lt_mixture": mix,
            "undershoot_var": undershoot_var}


def compute_policy(inputs: PlanningInputs, mean: np.ndarray, sd: np.ndarray, family: np.ndarray,
                   demand_class: np.ndarray, abc: np.ndarray, config: PolicyConfig, *,
                   history: np.ndarray | None = None, start: np.ndarray | None = None,
                   level_error_weeks: float | np.ndarray | None = None,
                   nominal_level: np.ndarray | None = None,
                   empirical: EmpiricalChoice | None = None) -> pd.DataFrame:
    """One policy row per SKU of ``inputs``, in its order (columns ``POLICY_COLUMNS``); see the
    module docstring. ``mean`` / ``sd`` (n, h) weekly forecast, ``family``, ``demand_class`` and
    ``abc`` (n,) in the same SKU order.

    ``level_error_weeks`` (a float or (n,) per SKU, inf = none): the forecast level's effective
    number of weeks n_e of the shared-error term (``ForecastResult.level_error_weeks``, as the
    flow passes it); without it ``LEVEL_ERROR_WEEKS`` with ``history``, none without.

    With ``history`` (n, T: weekly demand of the same SKUs, in the same order, up to the last
    complete week before the forecast's first week, e.g. ``DemandMatrix.quantity``) and ``start``
    (n,: first week of each SKU's history, ``DemandMatrix.start``; default its first sale), the
    protection-interval distribution is the one ``backtest_policy`` uses by default
    (``interval_model="compound"``, ``interval_model_inputs``): the forecast's shared level error
    for every SKU and, for intermittent / lumpy SKUs, the compound occurrences x sizes
    distribution (method ``<type>/compound_negbin``). Without them: the weekly model as before.

    ``nominal_level`` (n,): the level s and S are set at, when the service calibration
    (``calibration.calibrated_levels``) says the target needs another nominal level to be met;
    the ``service_level`` column stays the target, and the method gets '+calibrated' where the
    nominal level differs from it.

    ``empirical`` (``empirical_demand.EmpiricalChoice``): for the SKUs it marks (``use``) whose
    pool holds enough errors, s is the empirical protection-interval level at the target
    (``ErrorPool.levels``: X = ρ μ̂_B + U, ρ from the realised errors of past forecasts), S = s + Q,
    and the method gets '+empirical'.
    """
    skus = inputs.sku
    mean = np.maximum(np.nan_to_num(np.asarray(mean, dtype=float)), 0.0)
    var = np.nan_to_num(np.asarray(sd, dtype=float)) ** 2
    n, h = mean.shape
    if n != len(skus):
        raise ValueError(f"the forecast has {n} rows for {len(skus)} SKUs")
    review = inputs.review_period_weeks
    lead_mean, lead_sd = policy_lead_times(inputs, config)
    is_count = is_count_family(family)
    level = service_levels(inputs.service_level, abc, config)
    nominal = level if nominal_level is None else np.clip(np.asarray(nominal_level, dtype=float), 0.5, 0.9999)
    lost_form = np.asarray(inputs.lost_sales, dtype=bool) & (config.service_level_type == "fill_rate")
    used_level = np.where(lost_form, lost_sales_fill_rate(nominal), nominal)   # lost_sales.py: SPT ch. 7
    weekly_mean = mean.mean(axis=1)
    unit_cost = inputs.unit_cost
    eoq = economic_order_quantity(WEEKS_PER_YEAR * weekly_mean, unit_cost, config)
    extra = {}
    if history is not None:
        history = np.maximum(np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=float))), 0.0)
        if history.shape[0] != n:
            raise ValueError(f"history has {history.shape[0]} rows for {n} SKUs")
        if start is None:
            sold = history > 0
            start = np.where(sold.any(axis=1), sold.argmax(axis=1), history.shape[1])
        start = np.clip(np.asarray(start, dtype=np.int64).reshape(-1), 0, history.shape[1])
        if start.shape[0] != n:
            raise ValueError(f"start has {start.shape[0]} values for {n} SKUs")
        extra = interval_model_inputs(history, start, demand_class, level_error_weeks)
    elif level_error_weeks is not None:
        extra = {"level_error_weeks": level_error_weeks}
    core = policy_levels(mean, var, is_count, lead_mean, lead_sd, review, used_level, eoq, config, **extra)
    protection, protection_mean, protection_var = core["protection"], core["protection_mean"], core["protection_var"]
    reorder_point, order_quantity = core["reorder_point"], core["order_quantity"]
    level_mean, level_var = core["level_mean"], core["level_var"]

    discontinued = inputs.discontinued
    no_demand = protection_mean <= 0
    stocked = ~(discontinued | no_demand)
    used_empirical = np.zeros(n, bool)
    if empirical is not None:
        empirical_s = empirical_reorder_points(empirical, stocked, demand_class, level, level_mean,
                                               cumulative_at(mean, lead_mean), protection_mean,
                                               core["undershoot_var"], config.undershoot_correction)
        used_empirical = np.isfinite(empirical_s)
        reorder_point = np.where(used_empirical, np.maximum(empirical_s, 0.0), reorder_point)
    reorder_point = np.where(stocked, reorder_point, 0.0)
    order_up_to = np.where(stocked, reorder_point + order_quantity, 0.0)
    distribution = np.where(core["compound"], "compound_negbin", family_name(level_mean, level_var, is_count))
    method = np.where(discontinued, "discontinued", np.where(
        no_demand, "no_demand", np.char.add(f"{config.service_level_type}/", distribution.astype(str))))
    if config.undershoot_correction:
        method = np.where(stocked & (review > 0), np.char.add(method.astype(str), "+undershoot"), method)
    method = np.where(stocked & core["lt_mixture"], np.char.add(method.astype(str), "+lt_mixture"), method)
    method = np.where(stocked & (np.abs(nominal - level) > 1e-12), np.char.add(method.astype(str), "+calibrated"),
                      method)
    method = np.where(used_empirical, np.char.add(method.astype(str), "+empirical"), method)
    method = np.where(stocked & lost_form, np.char.add(method.astype(str), "+lost_sales"), method)
    buffer = reorder_point - protection_mean   # s - μ_P: negative when s lies below the interval's mean
    below_mean = stocked & (buffer < -SAFETY_STOCK_TOLERANCE)
    method = np.where(below_mean, np.char.add(method.astype(str), "+s_below_mean"), method)

    return pd.DataFrame({
        "sku": skus,
        "supplier_id": inputs.supplier_id,
        "service_level": level,
        "service_level_type": config.service_level_type,
        "lead_time_weeks_mean": lead_mean,
        "lead_time_weeks_sd": lead_sd,
        "review_period_weeks": review,
        "demand_per_week_mean": np.divide(protection_mean, protection, out=weekly_mean.copy(), where=protection > 0),
        "demand_per_week_sd": np.sqrt(np.divide(cumulative_at(var, protection), protection,
                                                out=var.mean(axis=1), where=protection > 0)),
        "protection_demand_mean": protection_mean,
        "protection_demand_sd": np.sqrt(protection_var),
        "safety_stock": np.where(stocked, np.maximum(buffer, 0.0), 0.0),
        "reorder_point": reorder_point,
        "order_up_to": order_up_to,
        "eoq": eoq,
        "method": method,
        "level_error_weeks": _used_level_error_weeks(extra.get("level_error_weeks"), n),
        "unit_cost": unit_cost,
    })[POLICY_COLUMNS + ["unit_cost"]]


def _used_level_error_weeks(level_error_weeks: float | np.ndarray | None, n: int) -> np.ndarray:
    """(n,) the n_e each SKU's interval used; inf = no shared level error."""
    if level_error_weeks is None:
        return np.full(n, np.inf)
    weeks = np.broadcast_to(np.asarray(level_error_weeks, dtype=float), (n,))
    return np.where(np.isfinite(weeks) & (weeks > 0), weeks, np.inf)
