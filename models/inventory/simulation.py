"""Monte Carlo check of the (R, s, S) policy: achieved service vs target over many SKUs at once.

Discrete weeks, backorders, periodic review every R weeks (vectorised over SKUs; loop over weeks,
each one ``week_step.week_step``, the step the policy replay uses too):

1. receipts due this week arrive (a *replenishment cycle* ends just before each receipt);
2. the week's demand is met from on-hand stock, the rest is backordered;
3. at a review (end of the week) with inventory position IP = net stock + on order <= s, an order
   of S - IP is placed; it arrives after an integer lead time L, i.e. at the start of week
   t + 1 + L, but never before an earlier order of the same SKU (a real supplier's receipts come
   in order, as in the backtest replay; ``allow_crossover=True`` restores the old behaviour where
   each order's lead time is independent and orders may overtake each other).

Measured after a warm-up (SPT 4th ed. §6.3 definitions):
* cycle service level P1 = share of replenishment cycles without a stock-out, i.e. of receipts
  before which the end-of-week net stock was >= 0;
* fill rate P2 = demand met from stock on hand / total demand;
* average on hand (max(net, 0) at week end) and average backorders (max(-net, 0)).

Demand kinds with known distributions: 'normal' (truncated at 0), 'poisson', 'negbin' and
'intermittent' (a demand in a week with probability 0.3, size 1 + Poisson(3); forecast family
'negbin' with the true mean and variance). Lead times: gamma with the given mean and CV,
discretised to whole weeks; the policy gets that discrete distribution's exact mean and sd.

Lead-time models of ``evaluate_policy`` (``lead_time_model``):
* 'sequential' (default): a supplier that ships in order. Week t's lead time is
  L_t = max(L_{t-1} - 1, V_t), V_t i.i.d. with the cdf G(k) = F(k) / F(k + 1) (F the target cdf),
  i.e. the arrival week t + L_t = max over w <= t of (w + V_w) never decreases. In steady state
  P(L_t <= k) = prod_{j>=0} G(k + j) = F(k) exactly, so every order's lead time has the stated
  distribution (mean and CV as the policy is told) and receipts never cross. Needs F log-concave
  (true for the discretised gamma with CV <= 1). Successive orders' lead times are positively
  correlated, and orders can arrive in the same week (one receipt).
* 'capped': i.i.d. draws from F, arrival pushed to the previous order's arrival when earlier
  (as the backtest replay does). No crossing, but the effective lead time is longer and less
  variable than F (measured: ``effective_lead_time_mean`` / ``_cv``).
* 'independent': i.i.d. draws, orders may cross (the model before; ``allow_crossover=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .week_step import initial_state, week_step

DEMAND_KINDS = ("normal", "poisson", "negbin", "intermittent")
INTERMITTENT_PROBABILITY = 0.3
INTERMITTENT_SIZE_MEAN = 4.0  # 1 + Poisson(3)


@dataclass(frozen=True)
class DemandModel:
    """Weekly demand of one kind: true mean and sd, and the forecast family the policy is given."""

    kind: str
    mean: float
    sd: float
    family: str


def demand_model(kind: str, scale: float) -> DemandModel:
    """The weekly demand model of a kind; ``scale`` is the mean for normal/poisson/negbin."""
    if kind == "normal":
        return DemandModel(kind, scale, 0.3 * scale, "normal")
    if kind == "poisson":
        return DemandModel(kind, scale, np.sqrt(scale), "poisson")
    if kind == "negbin":
        return DemandModel(kind, scale, np.sqrt(3.0 * scale), "negbin")
    if kind == "intermittent":
        p, size_mean, size_var = INTERMITTENT_PROBABILITY, INTERMITTENT_SIZE_MEAN, 3.0
        mean = p * size_mean
        var = p * (size_var + size_mean**2) - mean**2
        return DemandModel(kind, mean, np.sqrt(var), "negbin")
    raise ValueError(f"unknown demand kind {kind!r}; expected one of {DEMAND_KINDS}")


def sample_demand(model: DemandModel, n: int, weeks: int, rng: np.random.Generator) -> np.ndarray:
    """(n, weeks) weekly demand draws from the model."""
    if model.kind == "normal":
        return np.maximum(rng.normal(model.mean, model.sd, (n, weeks)), 0.0)
    if model.kind == "poisson":
        return rng.poisson(model.mean, (n, weeks)).astype(float)
    if model.kind == "negbin":
        var = model.sd**2
        return rng.negative_binomial(model.mean**2 / (var - model.mean), model.mean / var, (n, weeks)).astype(float)
    occurs = rng.random((n, weeks)) < INTERMITTENT_PROBABILITY
    return np.where(occurs, 1.0 + rng.poisson(INTERMITTENT_SIZE_MEAN - 1.0, (n, weeks)), 0.0)


def discrete_lead_time_pmf(mean_weeks: float, cv: float, max_weeks: int | None = None) -> np.ndarray:
    """P(L = k), k = 0..max: gamma(mean, cv) rounded to whole weeks (a point mass when cv = 0)."""
    if cv <= 0:
        pmf = np.zeros(int(round(mean_weeks)) + 1)
        pmf[-1] = 1.0
        return pmf
    max_weeks = max_weeks or int(np.ceil(mean_weeks * (1 + 8 * cv))) + 1
    shape = 1.0 / cv**2
    edges = stats.gamma.cdf(np.arange(max_weeks + 1) + 0.5, shape, scale=mean_weeks / shape)
    pmf = np.diff(np.concatenate([[0.0], edges]))
    return pmf / pmf.sum()


def pmf_moments(pmf: np.ndarray) -> tuple[float, float]:
    """(mean, sd) of a distribution on 0..len(pmf)-1."""
    k = np.arange(len(pmf))
    mean = float(np.sum(k * pmf))
    return mean, float(np.sqrt(np.sum((k - mean) ** 2 * pmf)))


LEAD_TIME_MODELS = ("sequential", "capped", "independent")


def sequential_driver_pmf(pmf: np.ndarray) -> np.ndarray:
    """pmf of V such that L_t = max(L_{t-1} - 1, V_t) has the stationary distribution ``pmf``.

    G(k) = F(k) / F(k + 1) (0 where F(k + 1) = 0; G(K) = 1), see the module docstring. Raises when
    F is not log-concave (G would not be a cdf).
    """
    cdf = np.cumsum(np.asarray(pmf, dtype=float))
    cdf = cdf / cdf[-1]
    driver_cdf = np.ones_like(cdf)
    driver_cdf[:-1] = np.divide(cdf[:-1], cdf[1:], out=np.zeros(len(cdf) - 1), where=cdf[1:] > 0)
    driver = np.diff(np.concatenate([[0.0], driver_cdf]))
    if driver.min() < -1e-12:
        raise ValueError("lead-time cdf is not log-concave: no sequential (in-order) model with this marginal")
    driver = np.maximum(driver, 0.0)
    return driver / driver.sum()


def sequential_lead_times(pmf: np.ndarray, n: int, weeks: int, rng: np.random.Generator) -> np.ndarray:
    """(n, weeks) lead times of a supplier that delivers in order, each with the marginal ``pmf``.

    L_t = max(L_{t-1} - 1, V_t) (arrival weeks t + L_t never decrease), V from
    ``sequential_driver_pmf``; started len(pmf) weeks early so week 0 is already stationary.
    """
    burn = len(pmf)
    driver = rng.choice(len(pmf), size=(n, weeks + burn), p=sequential_driver_pmf(pmf))
    steps = np.arange(weeks + burn)
    arrival = np.maximum.accumulate(steps + driver, axis=1)
    return (arrival - steps)[:, burn:]


def draw_lead_times(pmf: np.ndarray, n: int, weeks: int, rng: np.random.Generator,
                    model: str = "sequential") -> np.ndarray:
    """(n, weeks) lead-time draws for ``simulate_policy`` under a ``LEAD_TIME_MODELS`` model."""
    if model == "sequential":
        return sequential_lead_times(pmf, n, weeks, rng)
    if model in ("capped", "independent"):
        return rng.choice(len(pmf), size=(n, weeks), p=pmf)
    raise ValueError(f"unknown lead-time model {model!r}; expected one of {LEAD_TIME_MODELS}")


@dataclass(frozen=True)
class SimulationResult:
    """Per-SKU totals over the measured weeks."""

    demand: np.ndarray
    served: np.ndarray
    cycles: np.ndarray
    cycles_without_stockout: np.ndarray
    mean_on_hand: np.ndarray
    mean_backorders: np.ndarray
    # (n, weeks) effective lead time (weeks from order to receipt, after any no-overtaking delay) of
    # the order placed in each week; NaN where no order was placed
    effective_lead_times: np.ndarray | None = None

    @property
    def arrival_weeks(self) -> np.ndarray:
        """(n, weeks) week whose start the order placed in each week arrives at (NaN: no order)."""
        return np.arange(self.effective_lead_times.shape[1]) + 1.0 + self.effective_lead_times

    def lead_time_moments(self, measured_from: int = 0) -> tuple[float, float]:
        """(mean, CV) of the effective lead times of the orders placed from week ``measured_from``."""
        values = self.effective_lead_times[:, measured_from:]
        values = values[~np.isnan(values)]
        if values.size == 0:
            return float("nan"), float("nan")
        mean = float(values.mean())
        return mean, float(values.std() / mean) if mean > 0 else float("nan")

    @property
    def fill_rate(self) -> np.ndarray:
        return np.divide(self.served, self.demand, out=np.full(self.demand.shape, np.nan), where=self.demand > 0)

    @property
    def cycle_service(self) -> np.ndarray:
        return np.divide(self.cycles_without_stockout, self.cycles, out=np.full(self.cycles.shape, np.nan),
                         where=self.cycles > 0)


def simulate_policy(reorder_point: np.ndarray, order_up_to: np.ndarray, demand: np.ndarray,
                    lead_time_weeks: np.ndarray, review_period_weeks: int = 1,
                    warmup_weeks: int = 52, allow_crossover: bool = False) -> SimulationResult:
    """Run the (R, s, S) policy on ``demand`` (n, T) with lead times ``lead_time_weeks`` (n, T):
    the lead time of an order placed in week t is ``lead_time_weeks[:, t]`` (see module docstring).

    Receipts come in order: an order arrives no earlier than the SKU's previous order (its lead
    time is lengthened when the draw would overtake). ``allow_crossover=True``: drawn lead times
    as they are, so orders may cross.
    """
    n, weeks = demand.shape
    state = initial_state(order_up_to, int(lead_time_weeks.max()))
    reviewed, not_reviewed = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    effective = np.full((n, weeks), np.nan)
    totals = {key: np.zeros(n) for key in ("demand", "served", "cycles", "ok", "on_hand", "backorders")}
    for week in range(weeks):
        review = reviewed if (week + 1) % review_period_weeks == 0 else not_reviewed
        outcome = week_step(state, demand[:, week], review, reorder_point, order_up_to,
                            lead_time_weeks[:, week].astype(int), allow_crossover=allow_crossover)
        state = outcome.state
        placed = outcome.order > 0
        effective[placed, week] = outcome.lead_time[placed]
        if week >= warmup_weeks:
            totals["cycles"] += outcome.cycle_ended
            totals["ok"] += outcome.cycle_met
            totals["demand"] += demand[:, week]
            totals["served"] += outcome.served
            totals["on_hand"] += state.on_hand
            totals["backorders"] += state.backorders
    measured_weeks = max(weeks - warmup_weeks, 1)
    return SimulationResult(
        demand=totals["demand"], served=totals["served"], cycles=totals["cycles"],
        cycles_without_stockout=totals["ok"], mean_on_hand=totals["on_hand"] / measured_weeks,
        mean_backorders=totals["backorders"] / measured_weeks, effective_lead_times=effective,
    )


def _policy_inputs(model: DemandModel, n: int, lead_mean: float, lead_sd: float, target: float,
                   review_period_weeks: int, order_cover_weeks: float, horizon: int = 26):
    """``PlanningInputs`` and the forecast for ``compute_policy``, built from item, supplier and
    lead-time frames as the pipeline builds them (known demand, known lead time)."""
    import pandas as pd  # local: the simulation core is numpy-only

    from .config import LeadTimes
    from .planning_inputs import build_planning_inputs

    skus = np.array([f"SIM{i}" for i in range(n)])
    annual = 52.0 * model.mean
    eoq = order_cover_weeks * model.mean
    # unit cost that makes the EOQ equal to `order_cover_weeks` of demand: c = 2 D K / (h EOQ²) (K = 50, h = 0.25)
    unit_cost = 2.0 * annual * 50.0 / (0.25 * eoq**2)
    items = pd.DataFrame({"sku": skus, "supplier_id": "SIM", "description": "", "unit_cost": unit_cost,
                          "pack_size": 1.0, "moq": 0.0, "service_level": target, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["SIM"], "name": ["simulated"], "lead_time_days": [7 * lead_mean],
                              "review_period_days": [7.0 * review_period_weeks], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "SIM", "lead_time_weeks_mean": lead_mean,
                            "lead_time_weeks_sd": lead_sd, "lead_time_weeks_p90": lead_mean, "receipts": 99,
                            "source": "sku"})
    mean = np.full((n, horizon), model.mean)
    sd = np.full((n, horizon), model.sd)
    lead_times = LeadTimes(per_sku=per_sku, per_supplier=pd.DataFrame())
    return build_planning_inputs(skus, items, suppliers, lead_times), mean, sd


def evaluate_policy(kinds: tuple[str, ...] = DEMAND_KINDS, lead_time_cvs: tuple[float, ...] = (0.0, 0.25, 0.5),
                    targets: tuple[float, ...] = (0.90, 0.95, 0.98), service_level_type: str = "cycle",
                    skus_per_cell: int = 100, weeks: int = 312, lead_time_mean: float = 4.0,
                    review_period_weeks: int = 1, order_cover_weeks: float = 2.0, seed: int = 0,
                    undershoot_correction: bool = True, lead_time_model: str = "sequential",
                    config_overrides: dict | None = None, bracket: bool = False):
    """Simulate every (demand kind, lead-time CV, target) cell; one summary row per cell.

    The policy (s, S) of each cell comes from ``compute_policy`` with the true weekly demand
    moments as the forecast and the discrete lead time's exact mean and sd. ``lead_time_model``:
    see the module docstring ('sequential': in order, stated moments; 'capped': i.i.d. draws
    delayed to the previous arrival; 'independent': i.i.d., orders may cross). The rows carry the
    stated lead-time mean / CV and the effective ones measured on the orders after warm-up.

    ``config_overrides``: further ``PolicyConfig`` fields (e.g. ``lead_time_mixture=False``).
    ``bracket=True``: where the reorder point is an integer (count families), the same demand and
    lead-time draws are run again with (s - 1, S - 1), giving ``cycle_service_below`` /
    ``fill_rate_below`` (NaN elsewhere) - the service one integer step lower, to show whether a
    target lies between two achievable levels.
    """
    import dataclasses

    import pandas as pd

    from .config import PolicyConfig
    from .policy import compute_policy

    config = dataclasses.replace(PolicyConfig(), service_level_type=service_level_type,
                                 undershoot_correction=undershoot_correction, **(config_overrides or {}))
    rng = np.random.default_rng(seed)
    rows = []
    scales = {"normal": 20.0, "poisson": 3.0, "negbin": 5.0, "intermittent": 1.0}
    for kind in kinds:
        model = demand_model(kind, scales[kind])
        for cv in lead_time_cvs:
            pmf = discrete_lead_time_pmf(lead_time_mean, cv)
            lead_mean, lead_sd = pmf_moments(pmf)
            for target in targets:
                n = skus_per_cell
                inputs, mean, sd = _policy_inputs(model, n, lead_mean, lead_sd, target, review_period_weeks,
                                                  order_cover_weeks)
                policy = compute_policy(inputs, mean, sd, np.full(n, model.family), np.full(n, "smooth"),
                                        np.full(n, "A"), config)
                demand = sample_demand(model, n, weeks, rng)
                lead_draws = draw_lead_times(pmf, n, weeks, rng, lead_time_model)
                result = simulate_policy(policy["reorder_point"].to_numpy(), policy["order_up_to"].to_numpy(),
                                         demand, lead_draws, review_period_weeks,
                                         allow_crossover=lead_time_model == "independent")
                effective_mean, effective_cv = result.lead_time_moments(measured_from=52)
                below = {"cycle_service_below": np.nan, "fill_rate_below": np.nan}
                reorder = policy["reorder_point"].to_numpy()
                if bracket and np.all(reorder == np.round(reorder)) and model.family != "normal":
                    lower = simulate_policy(reorder - 1.0, policy["order_up_to"].to_numpy() - 1.0, demand,
                                            lead_draws, review_period_weeks,
                                            allow_crossover=lead_time_model == "independent")
                    below = {"cycle_service_below": lower.cycles_without_stockout.sum() / max(lower.cycles.sum(), 1),
                             "fill_rate_below": lower.served.sum() / max(lower.demand.sum(), 1e-12)}
                rows.append({
                    "demand": kind, "lead_time_cv": cv, "service_level_type": service_level_type,
                    "target": target,
                    "cycle_service": result.cycles_without_stockout.sum() / max(result.cycles.sum(), 1),
                    "fill_rate": result.served.sum() / max(result.demand.sum(), 1e-12),
                    "mean_on_hand": result.mean_on_hand.mean(), "mean_backorders": result.mean_backorders.mean(),
                    "reorder_point": policy["reorder_point"].iloc[0], "order_up_to": policy["order_up_to"].iloc[0],
                    "weekly_demand": model.mean, "lead_time_model": lead_time_model,
                    "lead_time_mean": lead_mean, "lead_time_cv_stated": lead_sd / lead_mean,
                    "effective_lead_time_mean": effective_mean, "effective_lead_time_cv": effective_cv,
                    "policy_method": policy["method"].iloc[0], **below,
                })
    return pd.DataFrame(rows)
