"""Policy backtest: replay the last weeks of real demand under the (R, s, S) policy.

``backtest_policy`` walks week by week over the last ``weeks`` weeks of the demand history
(vectorised over SKUs), after ``warmup_weeks`` of replay that are not measured; each week is one
``week_step.week_step`` (the same step as ``simulation.simulate_policy``):

1. receipts due this week arrive (a *replenishment cycle* ends just before each receipt);
2. the week's actual demand is met from stock on hand, the rest is backordered - or lost, for the
   ``lost_sales`` SKUs (items.unmet_demand = 'lost': on hand floored at 0, nothing carried; a
   cycle or review period in which demand was lost counts as a stock-out; under a fill-rate target
   their levels take the lost-sales form ``lost_sales.lost_sales_fill_rate``, as ``compute_policy``);
3. at a review (end of every ``round(review_period_weeks)``-th week) the policy is recomputed
   from the data available then - demand up to and including this week - exactly as the
   pipeline would (``policy.policy_levels``: protection interval, undershoot, cycle / fill-rate
   level); if the inventory position (net stock + on order) is <= s an order of S - position
   is placed. It arrives after a lead time drawn from a gamma distribution with the SKU's
   lead-time mean and sd, rounded to whole weeks, and never before an earlier order of the same
   SKU (no crossover: a supplier's orders do not overtake each other).

Demand estimate at a review (default, ``forecast_fn=None``): a rolling estimator - mean and
variance of the last ``estimate_weeks`` weeks of the SKU's history (from its first sale),
flat over the horizon; count family (Poisson / negative binomial) for intermittent and lumpy
classes, normal otherwise. Re-running ``safestock.models.forecasting.forecast_demand`` at every review is
possible through ``forecast_fn`` (see ``engine_forecast_fn``) but costs one full forecast per
replayed week (``periodic_forecast_fn``: every few weeks). A ``forecast_fn`` may return a fourth
array, the forecast's ``level_error_weeks`` per SKU, which the interval model then uses instead
of ``LEVEL_ERROR_WEEKS`` (the engine's does).

The replay starts at the order-up-to level with nothing on order. A SKU listed during the data
(first sale after its first week) with fewer than ``LAUNCH_WEEKS`` weeks of history when the
replay begins (launched during the replayed weeks or just before) is judged under 'new',
whatever its class at the final run: the replay starts it
at S = 0 (no forecast yet), so its first cycles are stock-outs by construction, which says
nothing about the policy of its later class. Measured per demand class
(the columns of the ``policy_backtest`` table, plus extras):
skus, weeks, service_level_target, cycle_service_level (share of replenishment cycles - receipts
- without a stock-out before the receipt), fill_rate_target, fill_rate (share of demand met from
stock), average_on_hand (units per SKU-week), backorder_units (demand not met from stock),
and review_cycle_service_level (share of review periods without a stock-out), cycles,
demand_units. The target of the configured service-level type is filled, the other is NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .config import PolicyConfig
from .distribution import is_count_family
from .empirical_demand import (
    EMPIRICAL,
    PARAMETRIC,
    ErrorLedger,
    level_parts,
    origin_groups,
)
from .lost_sales import lost_sales_fill_rate
from .policy import (  # noqa: F401  (the constants are re-exported: they were defined here before)
    COUNT_CLASSES,
    LEVEL_ERROR_WEEKS,
    RATE_EVIDENCE_WEEKS,
    WEEKS_PER_YEAR,
    cumulative_at,
    economic_order_quantity,
    interval_model_inputs,
    policy_levels,
)
from .replay_sharing import CompoundMemo
from .week_step import initial_state, week_step

LAUNCH_WEEKS = 13   # the forecasting engine's 'new' threshold (classify.NEW_WEEKS)
STOCK_TOLERANCE = 1e-9  # units: net stock above -this is no stock-out, orders up to this are not placed
BACKTEST_COLUMNS = [
    "demand_class", "skus", "weeks", "service_level_target", "cycle_service_level", "fill_rate_target",
    "fill_rate", "average_on_hand", "backorder_units", "review_cycle_service_level", "cycles", "demand_units",
]

# (history so far, start) -> (mean (n, h), sd (n, h), family (n,)[, level_error_weeks (n,)])
ForecastFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]


def rolling_estimate(history: np.ndarray, start: np.ndarray, demand_class: np.ndarray, estimate_weeks: int = 26,
                     horizon: int = 26) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (n, horizon), sd (n, horizon), family (n,)) from the last ``estimate_weeks`` weeks.

    Only weeks from the SKU's ``start`` count; fewer than 2 observed weeks give mean and sd 0.
    """
    n, t = history.shape
    window = history[:, max(t - estimate_weeks, 0):]
    first = max(t - estimate_weeks, 0)
    observed = np.arange(first, t)[None, :] >= np.asarray(start)[:, None]
    count = observed.sum(axis=1)
    values = np.where(observed, window, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, values.sum(axis=1) / np.maximum(count, 1), 0.0)
        var = np.where(count > 1, (np.where(observed, (window - mean[:, None]) ** 2, 0.0)).sum(axis=1)
                       / np.maximum(count - 1, 1), 0.0)
    family = np.where(np.isin(np.asarray(demand_class).astype(str), COUNT_CLASSES), "negbin", "normal")
    sd = np.sqrt(np.maximum(var, 0.0))
    return np.repeat(mean[:, None], horizon, axis=1), np.repeat(sd[:, None], horizon, axis=1), family


def engine_forecast_fn(horizon: int = 26, week_starts: np.ndarray | None = None, **kwargs) -> ForecastFn:
    """A ``forecast_fn`` re-running ``safestock.models.forecasting.forecast_demand`` on the history so far;
    it also returns the forecast's fitted ``level_error_weeks`` (the window model's n_e), which
    the replay's policy then uses, as the pipeline's does. ``week_starts``: first day of every
    column of the full history (the replay's history so far is its first columns).

    With ``global_model=True`` its forecasts share the global model's fits (``.global_fits``, a
    ``GlobalFitCache`` anchored at the full history's length, ``len(week_starts)``, else at the
    first forecast's): each cut's model is trained up to the latest week of a 13-week grid not
    after the cut and reused while its training data is unchanged (docs/forecasting.md §2.2)."""
    from safestock.models.forecasting import forecast_demand
    from safestock.models.forecasting.global_fits import GlobalFitCache

    shared = None
    if kwargs.get("global_model") and kwargs.get("global_fits") is None:
        shared = GlobalFitCache(anchor=-1 if week_starts is None else len(week_starts))
        kwargs = {**kwargs, "global_fits": shared}

    def forecast(history: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
        skus = np.arange(history.shape[0]).astype(str)
        weeks = None if week_starts is None else week_starts[:history.shape[1]]
        if shared is not None and shared.anchor < 0:
            shared.anchor = history.shape[1]
        result = forecast_demand(skus, history, start, horizon, week_starts=weeks, **kwargs)
        return result.mean, result.sd, result.family, result.level_error_weeks

    forecast.global_fits = shared  # type: ignore[attr-defined]
    return forecast


def periodic_forecast_fn(forecast_fn: ForecastFn, every_weeks: int) -> ForecastFn:
    """Re-forecast only every ``every_weeks`` weeks of replay, as a planner re-forecasting
    monthly would; in between, the last forecast is used from the current week on (shifted by
    the weeks elapsed, its last week repeated past its horizon)."""
    last: dict[str, object] = {}

    def forecast(history: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
        weeks_seen = history.shape[1]
        elapsed = weeks_seen - int(last.get("weeks_seen", -every_weeks))
        if elapsed >= every_weeks or elapsed < 0:
            result = tuple(forecast_fn(history, start))
            last.update(weeks_seen=weeks_seen, result=result)
            return result
        mean, sd, family, *rest = last["result"]
        shifted = np.minimum(np.arange(mean.shape[1]) + elapsed, mean.shape[1] - 1)
        return (mean[:, shifted], sd[:, shifted], family, *rest)

    return forecast


def replayed_weeks(history_weeks: int, weeks: int) -> int:
    """Weeks ``backtest_policy`` measures: ``weeks``, at most the history's weeks - 1 (< 1: none)."""
    return int(min(weeks, history_weeks - 1))


def lead_time_draws(mean: np.ndarray, sd: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Integer lead times (n, T): gamma(mean, sd) rounded to whole weeks (the mean itself when sd = 0)."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)[:, None]
    sd = np.maximum(np.asarray(sd, dtype=float), 0.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = np.where(sd > 0, (mean / np.where(sd > 0, sd, 1.0)) ** 2, 1.0)
        scale = np.where(shape > 0, mean / shape, 0.0)
    draws = rng.gamma(np.broadcast_to(np.maximum(shape, 1e-6), size), 1.0) * scale
    return np.rint(np.where(sd > 0, draws, mean)).astype(int)


def backtest_policy(history: np.ndarray, start: np.ndarray, demand_class: np.ndarray,
                    service_level: np.ndarray, lead_time_weeks_mean: np.ndarray,
                    lead_time_weeks_sd: np.ndarray, review_period_weeks: np.ndarray,
                    config: PolicyConfig, weeks: int = 26, forecast_fn: ForecastFn | None = None,
                    *, unit_cost: np.ndarray | None = None, warmup_weeks: int = 13,
                    estimate_weeks: int = 26, seed: int = 0, per_sku: bool = False,
                    interval_model: str = "compound", nominal_levels: np.ndarray | None = None,
                    lost_sales: np.ndarray | None = None, empirical: ErrorLedger | None = None) -> pd.DataFrame:
    """Replay the last ``weeks`` weeks of ``history`` (n, T) under the policy; one row per demand
    class (``BACKTEST_COLUMNS``), or per SKU with ``per_sku=True``. See the module docstring.

    ``unit_cost`` (n,) gives the EOQ order quantity as in ``compute_policy``; without it the
    order quantity is the review-period demand (order-up-to behaviour).

    ``interval_model``: "compound" (default) gives the policy the shared level error of the
    forecast (``LEVEL_ERROR_WEEKS``) and, for intermittent / lumpy SKUs, the compound
    occurrences x sizes distribution built from the SKU's history up to the review
    (``compound.py``); "weekly" is the model before (Σ weekly variances, count family matched to
    them), right when the forecast's parameters are known exactly.

    ``nominal_levels`` (K, n): replay the same weeks K times side by side, replay k setting s and S
    at the level ``nominal_levels[k]`` instead of the target ``service_level`` (which stays the
    target the results are judged against). The K replays share the demand, the lead-time draws
    and the forecasts (``forecast_fn`` is called once per review week for the n SKUs), so each
    extra replay costs only its policy arithmetic and stock walk; the service calibration
    (``calibration.py``) fits achieved(nominal) on them. Returns the per-SKU frame of every replay
    (K x n rows, columns ``replay`` and ``nominal_level``), whatever ``per_sku``.

    The per-SKU frame also holds the totals of the first half of the measured weeks
    (``cycles_first``, ``ok_first``, ``demand_first``, ``served_first``, ``reviews_first``,
    ``reviews_ok_first``; the second half is the total minus these), for cross-fitting.

    ``lost_sales`` (n,) bool (None: none): the SKUs replayed with lost-sales dynamics (module
    docstring); for them ``backorder_units`` are the lost units.

    ``empirical``: an ``empirical_demand.ErrorLedger`` of this history (None: no empirical
    candidate; cycle-service targets only): one more replay is appended (the
    last ``replay``, column ``interval_model`` = 'empirical', the others 'parametric') whose s at a
    review is the empirical protection-interval level (``empirical_demand``: q_α(ρ) x μ̂_X at the
    target α, ρ pooled from the origins of this replay whose intervals ended by that review; the
    parametric s at the target where the pool is too thin), on the same demand, lead-time draws and
    forecasts. Afterwards the ledger holds the completed errors of all origins (``errors()``:
    ``sku`` is the row of ``history``).
    """
    if interval_model not in ("compound", "weekly"):
        raise ValueError(f"interval_model must be 'compound' or 'weekly', not {interval_model!r}")
    history = np.maximum(np.nan_to_num(np.atleast_2d(np.asarray(history, dtype=float))), 0.0)
    n, total = history.shape
    start = np.clip(np.asarray(start, dtype=np.int64).reshape(-1), 0, total)
    demand_class = np.asarray(demand_class).astype(str).reshape(-1)
    level = np.clip(np.broadcast_to(np.asarray(service_level, dtype=float), (n,)), 0.5, 0.9999)
    if nominal_levels is None:
        replays, used_level = 1, level
    else:
        nominal = np.atleast_2d(np.asarray(nominal_levels, dtype=float))
        if nominal.shape[1] != n:
            raise ValueError(f"nominal_levels has {nominal.shape[1]} columns for {n} SKUs")
        replays, used_level = nominal.shape[0], np.clip(nominal, 0.5, 0.9999).reshape(-1)
    ledger = empirical if config.service_level_type == "cycle" else None
    if ledger is not None:   # one more replay at the target, its s replaced by the empirical level
        used_level = np.concatenate([used_level, level])
        replays += 1
    replay_of = np.repeat(np.arange(replays), n)   # stacked row -> replay
    base = np.tile(np.arange(n), replays)   # stacked row -> SKU row of history
    lost = np.zeros(n, dtype=bool) if lost_sales is None else np.broadcast_to(np.asarray(lost_sales, dtype=bool), (n,))
    lost_form = lost[base] & (config.service_level_type == "fill_rate")   # lost_sales.py: SPT ch. 7
    policy_level = np.where(lost_form, lost_sales_fill_rate(used_level), used_level)
    lead_mean = np.broadcast_to(np.asarray(lead_time_weeks_mean, dtype=float), (n,))
    lead_sd = np.broadcast_to(np.nan_to_num(np.asarray(lead_time_weeks_sd, dtype=float)), (n,))
    review = np.maximum(np.broadcast_to(np.asarray(review_period_weeks, dtype=float), (n,)), 0.0)
    review_int = np.maximum(np.rint(review), 1).astype(int)
    weeks = replayed_weeks(total, weeks)
    warmup = int(min(warmup_weeks, total - weeks - 1))
    first = total - weeks - warmup
    horizon = config.horizon_weeks
    cost = np.full(n, np.nan) if unit_cost is None else np.asarray(unit_cost, dtype=float)

    rng = np.random.default_rng(seed)
    memo = CompoundMemo()   # compound distributions reused across the reviews (same inputs, same outputs)
    lead_draw = lead_time_draws(lead_mean, lead_sd, (n, weeks + warmup), rng)[base]

    def levels(week: int, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, S) of the stacked rows ``use`` (bool mask) from the history before ``week``."""
        sku = base[use]
        level_error_weeks = None
        if forecast_fn is None:
            mean, sd, family = rolling_estimate(history[sku, :week], start[sku], demand_class[sku], estimate_weeks,
                                                horizon)
        else:  # forecast every SKU (so a periodic_forecast_fn can reuse it), keep the reviewing ones
            mean, sd, family, *rest = forecast_fn(history[:, :week], start)
            mean, sd, family = np.asarray(mean)[sku], np.asarray(sd)[sku], np.asarray(family)[sku]
            if rest:
                level_error_weeks = np.asarray(rest[0], dtype=float)[sku]
        mean = np.maximum(np.nan_to_num(np.asarray(mean, dtype=float)), 0.0)
        var = np.nan_to_num(np.asarray(sd, dtype=float)) ** 2
        eoq = economic_order_quantity(WEEKS_PER_YEAR * mean.mean(axis=1), cost[sku], config)
        extra = {}
        if interval_model == "compound":  # the same inputs compute_policy(history=..., start=...) uses
            skus, row = np.unique(sku, return_inverse=True)   # once per SKU, whatever the number of replays
            level_error = None if level_error_weeks is None else np.asarray(level_error_weeks)[np.unique(row, return_index=True)[1]]
            extra = interval_model_inputs(history[skus, :week], start[skus], demand_class[skus], level_error)
            extra = {key: (value[row] if isinstance(value, np.ndarray) and value.ndim >= 1 else value)
                     for key, value in extra.items()}
            extra["compound_memo"] = memo
        # the K replays review a SKU in the same weeks: ``use`` is K blocks of the same SKUs, equal but
        # for the level, so policy_levels computes their compound distribution once per SKU
        block = sku.size // replays
        if replays > 1 and block * replays == sku.size and np.array_equal(sku, np.tile(sku[:block], replays)):
            extra["replicas"] = replays
        core = policy_levels(mean, var, is_count_family(family), lead_mean[sku], lead_sd[sku], review[sku],
                             policy_level[use], eoq, config, **extra)
        stocked = core["protection_mean"] > 0
        s = np.where(stocked, core["reorder_point"], 0.0)
        if ledger is not None:
            s = _with_empirical_levels(s, week, sku, replay_of[use], mean, core, stocked)
        return s, np.where(stocked, s + core["order_quantity"], 0.0)

    def _with_empirical_levels(s: np.ndarray, week: int, sku: np.ndarray, replay: np.ndarray, mean: np.ndarray,
                               core: dict, stocked: np.ndarray) -> np.ndarray:
        """Record this review's origins (replay 0's rows) in the ledger, then set the empirical
        replay's s from the errors of origins whose intervals ended by ``week``."""
        base_mean, undershoot_mean, undershoot_sd = level_parts(
            core["level_mean"], cumulative_at(mean, lead_mean[sku]), core["protection_mean"], core["undershoot_var"],
            config.undershoot_correction)
        groups = origin_groups(history[sku, :week], start[sku], demand_class[sku], base_mean)
        origin = replay == 0
        step = min(max(week - 1 - first, 0), lead_draw.shape[1] - 1)   # the lead time an order placed now draws
        span = lead_draw[sku[origin], step] + (0.0 if config.undershoot_correction else review[sku[origin]])
        ledger.add(sku[origin], week, span, base_mean[origin], demand_class[sku[origin]], groups[origin])
        ledger.complete(week)
        rows = replay == replays - 1
        level_s = ledger.pool().levels(demand_class[sku[rows]], groups[rows], level[sku[rows]], base_mean[rows],
                                       undershoot_mean[rows], undershoot_sd[rows])
        s = s.copy()
        s[rows] = np.where(np.isfinite(level_s) & stocked[rows], np.maximum(level_s, 0.0), s[rows])
        return s

    stacked = base.size
    reorder_point, order_up_to = levels(first, np.ones(stacked, dtype=bool))
    state = initial_state(order_up_to, int(lead_draw.max(initial=0)))
    keys = ("demand", "served", "cycles", "ok", "on_hand", "reviews", "reviews_ok")
    totals = {key: np.zeros(stacked) for key in keys}
    first_half = {key: np.zeros(stacked) for key in keys}
    short_in_review = np.zeros(stacked, dtype=bool)
    for step in range(warmup + weeks):
        week = first + step
        measured = step >= warmup
        demand = history[base, week]
        is_review = (step + 1) % review_int[base] == 0
        if is_review.any():  # the review at the end of the week sees the demand up to and including it
            reorder_point[is_review], order_up_to[is_review] = levels(week + 1, is_review)
        outcome = week_step(state, demand, is_review, reorder_point, order_up_to, lead_draw[:, step],
                            tolerance=STOCK_TOLERANCE, lost_sales=lost[base] if lost.any() else None)
        state = outcome.state
        short_in_review |= (state.net_stock < -STOCK_TOLERANCE) | (outcome.lost > STOCK_TOLERANCE)
        if measured:
            week_totals = {"cycles": outcome.cycle_ended, "ok": outcome.cycle_met, "demand": demand,
                           "served": outcome.served, "on_hand": state.on_hand, "reviews": is_review,
                           "reviews_ok": is_review & ~short_in_review}
            for key in keys:
                totals[key] += week_totals[key]
                if step - warmup < weeks // 2:
                    first_half[key] += week_totals[key]
        short_in_review &= ~is_review

    frame = pd.DataFrame({
        "sku_index": base, "demand_class": demand_class[base], "service_level": level[base],
        "cycles": totals["cycles"], "ok": totals["ok"], "demand_units": totals["demand"],
        "served": totals["served"], "on_hand": totals["on_hand"], "reviews": totals["reviews"],
        "reviews_ok": totals["reviews_ok"],
        "history_weeks": np.maximum(total - weeks - start, 0)[base],  # observed weeks before the measured window
    })
    for key, column in (("cycles", "cycles_first"), ("ok", "ok_first"), ("demand", "demand_first"),
                        ("served", "served_first"), ("reviews", "reviews_first"), ("reviews_ok", "reviews_ok_first")):
        frame[column] = first_half[key]
    # judged as a launch ('new'): first sale after the data's first week (a listing, not the start
    # of the extract) and fewer than LAUNCH_WEEKS weeks of history when the replay began
    launched = (start > 0) & (first - start < LAUNCH_WEEKS)
    frame["judged_class"] = np.where(launched, "new", demand_class)[base]
    if weeks < 1:  # under two weeks of history (a new store, an early --as-of): nothing to replay
        frame = frame.iloc[:0]
    if nominal_levels is not None or ledger is not None:
        frame.insert(1, "replay", np.repeat(np.arange(replays), n)[:len(frame)])
        frame.insert(2, "nominal_level", used_level[:len(frame)])
        frame.insert(3, "interval_model", np.where((ledger is not None) & (frame["replay"] == replays - 1), EMPIRICAL,
                                                   PARAMETRIC))
        frame = frame.assign(average_on_hand=frame["on_hand"] / max(weeks, 1),
                             backorder_units=frame["demand_units"] - frame["served"])
        if ledger is not None:
            ledger.complete(total)
        return frame
    if per_sku:
        return frame.assign(average_on_hand=frame["on_hand"] / max(weeks, 1),
                            backorder_units=frame["demand_units"] - frame["served"])
    return summarise_backtest(frame, weeks, config.service_level_type)


def summarise_backtest(frame: pd.DataFrame, weeks: int, service_level_type: str) -> pd.DataFrame:
    """Per-SKU replay totals -> one row per judged demand class (``judged_class``: launches under
    'new'; the frame's ``demand_class`` when absent), plus 'all'."""
    parts = []
    by = "judged_class" if "judged_class" in frame else "demand_class"
    for name, group in list(frame.groupby(by, sort=True)) + [("all", frame)]:
        target = float(group["service_level"].mean())
        parts.append({
            "demand_class": name, "skus": len(group), "weeks": weeks,
            "service_level_target": target if service_level_type == "cycle" else np.nan,
            "cycle_service_level": group["ok"].sum() / group["cycles"].sum() if group["cycles"].sum() else np.nan,
            "fill_rate_target": target if service_level_type == "fill_rate" else np.nan,
            "fill_rate": group["served"].sum() / group["demand_units"].sum() if group["demand_units"].sum() else np.nan,
            "average_on_hand": group["on_hand"].sum() / max(len(group) * weeks, 1),
            "backorder_units": float((group["demand_units"] - group["served"]).sum()),
            "review_cycle_service_level": (group["reviews_ok"].sum() / group["reviews"].sum()
                                           if group["reviews"].sum() else np.nan),
            "cycles": int(group["cycles"].sum()), "demand_units": float(group["demand_units"].sum()),
        })
    return pd.DataFrame(parts, columns=BACKTEST_COLUMNS)


__all__ = ["BACKTEST_COLUMNS", "backtest_policy", "engine_forecast_fn", "rolling_estimate", "summarise_backtest"]
