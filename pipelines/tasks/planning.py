"""The planning stage: the (R, s, S) policy, the policy replay and service calibration, stock
and backorder risk, purchase recommendations, supplier risk, exceptions and lost sales."""

from __future__ import annotations

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from safestock.models.demand_censoring import in_stock_share_matrix
from safestock.models.demand_matrix import DemandMatrix, first_forecast_week
from safestock.models.forecasting import ForecastResult
from safestock.models.inventory import (
    LeadTimes,
    PlanningInputs,
    backtest_policy,
    compute_policy,
    project_risk,
    recommend_orders,
    rollup_suppliers,
)
from safestock.models.inventory.backtest import (
    engine_forecast_fn,
    periodic_forecast_fn,
    replayed_weeks,
    summarise_backtest,
)
from safestock.models.inventory.calibration import (
    calibrate_service,
    calibrated_levels,
    empirical_classes,
    replay_levels,
    sku_groups,
    with_interval_models,
)
from safestock.models.inventory.compound import orders_seen
from safestock.models.inventory.empirical_demand import ORDER_WEEKS, EmpiricalChoice, ErrorLedger
from safestock.models.inventory.excess import excess_stock
from safestock.models.inventory.exceptions import find_exceptions
from safestock.models.inventory.policy import policy_lead_times, service_levels
from safestock.models.lost_sales import lost_sales_by_sku, lost_sales_by_supplier
from safestock.models.inventory.zero_policy import zero_policy_reasons
from safestock.models.partition import sample_skus
from safestock.pipelines.config import PipelineConfig
from safestock.pipelines.inputs import LoadedInputs
from safestock.pipelines.progress import announce


@task(name="policy", cache_policy=NO_CACHE)
def policy_task(
    planning: PlanningInputs, demand: DemandMatrix, forecast: ForecastResult, config: PipelineConfig,
    nominal_level: np.ndarray | None = None, empirical: EmpiricalChoice | None = None,
) -> pd.DataFrame:
    """The (R, s, S) policy; ``nominal_level``: the calibrated level per SKU (None: the targets);
    ``empirical``: the SKUs whose class uses the empirical interval and the replay's error pool."""
    announce("Computing safety stock and reorder points")
    return compute_policy(
        planning,
        forecast.mean,
        forecast.sd,
        forecast.family,
        forecast.classes["demand_class"].to_numpy(),
        forecast.classes["abc"].to_numpy(),
        config.policy,
        history=demand.quantity,
        start=demand.start,
        level_error_weeks=forecast.level_error_weeks,
        nominal_level=nominal_level,
        empirical=empirical,
    )


@task(name="policy-backtest", cache_policy=NO_CACHE)
def policy_backtest_task(
    demand: DemandMatrix, forecast: ForecastResult, planning: PlanningInputs, config: PipelineConfig
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None, EmpiricalChoice | None]:
    """Replay recent weeks of real demand under the policy at the targets, re-forecasting with the
    same engine every few weeks as the pipeline would (on a fixed hash sample of SKUs for large
    runs). With ``[policy] service_calibration`` the same weeks are also replayed at shifted
    nominal levels (shared forecasts, demand and lead times) and calibrated (calibration.py).

    With ``[policy] empirical_interval`` (cycle targets) the replay also runs the empirical
    protection-interval candidate and each class gets the better one (empirical_demand.py).

    Returns (policy_backtest: the replay at the targets, per class; service_calibration; the
    nominal level per SKU of the run for the policy, None = the targets; the empirical choice (SKUs
    of the classes that chose it, their pool groups, the replay's errors), None without the candidate)."""
    if config.policy_backtest_weeks <= 0:
        return pd.DataFrame(), pd.DataFrame(), None, None
    policy_config = config.policy
    calibrate = policy_config.service_calibration
    announce("Replaying recent weeks under the policy" + (" and calibrating service levels" if calibrate else ""))
    demand_class = forecast.classes["demand_class"].to_numpy()
    target = service_levels(planning.service_level, forecast.classes["abc"].to_numpy(), policy_config)
    lead_mean, lead_sd = policy_lead_times(planning, policy_config)
    rows = sample_skus(demand.skus, config.policy_backtest_max_skus)
    groups = sku_groups(forecast.mean.mean(axis=1), planning.unit_cost, planning.review_period_weeks,
                        lead_mean, lead_sd, policy_config)
    empirical = calibrate and policy_config.empirical_interval and policy_config.service_level_type == "cycle"
    ledger = ErrorLedger(demand.quantity[rows]) if empirical else None
    replay = backtest_policy(
        demand.quantity[rows],
        demand.start[rows],
        demand_class[rows],
        target[rows],
        lead_mean[rows],
        lead_sd[rows],
        planning.review_period_weeks[rows],
        policy_config,
        weeks=config.policy_backtest_weeks,
        forecast_fn=periodic_forecast_fn(
            engine_forecast_fn(config.horizon_weeks, **config.forecast.engine_options(demand.weeks)),
            config.policy_backtest_reforecast_weeks,
        ),
        unit_cost=planning.unit_cost[rows],
        nominal_levels=replay_levels(target[rows]) if calibrate else target[rows][None, :],
        lost_sales=planning.lost_sales[rows],
        empirical=ledger,
    )
    weeks = max(replayed_weeks(demand.quantity.shape[1], config.policy_backtest_weeks), 0)
    backtest = summarise_backtest(replay[replay["replay"] == 0], weeks, policy_config.service_level_type)
    if not calibrate or replay.empty:
        return backtest, pd.DataFrame(), None, None
    table, offsets = calibrate_service(replay, groups[rows], policy_config.service_level_type)
    nominal = calibrated_levels(target, demand_class, groups, offsets)
    if ledger is None:
        return backtest, table, nominal, None
    table = with_interval_models(table, replay, groups[rows])
    chosen = np.isin(demand_class.astype(str), empirical_classes(table))
    if not chosen.any():
        return backtest, table, nominal, None
    choice = EmpiricalChoice(ledger.pool(), orders_seen(demand.quantity, demand.start, ORDER_WEEKS), chosen)
    return backtest, table, np.where(chosen, target, nominal), choice


@task(name="zero-policy-reasons", cache_policy=NO_CACHE)
def zero_policy_task(
    policy: pd.DataFrame, planning: PlanningInputs, demand: DemandMatrix, engine_mean: np.ndarray,
    forecast: ForecastResult, item_discontinued: np.ndarray, policy_order_up_to: np.ndarray,
) -> pd.DataFrame:
    """``policy`` with ``zero_policy_reason``: why a SKU's order-up-to is 0 (models/inventory/zero_policy.py);
    ``engine_mean`` / ``item_discontinued``: the forecast and flags before the overrides,
    ``policy_order_up_to``: S before the min/max stock overrides."""
    return policy.assign(zero_policy_reason=zero_policy_reasons(
        policy["order_up_to"].to_numpy(float), item_discontinued, planning.discontinued, demand.quantity,
        demand.start, engine_mean, forecast.mean,
        (policy["lead_time_weeks_mean"] + policy["review_period_weeks"]).to_numpy(float),
        policy_order_up_to=policy_order_up_to))


@task(name="backorder-risk", cache_policy=NO_CACHE)
def risk_task(
    planning: PlanningInputs, forecast: ForecastResult, policy: pd.DataFrame, config: PipelineConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    announce("Projecting stock and backorder risk")
    return project_risk(
        planning,
        forecast.mean,
        forecast.sd,
        forecast.family,
        first_forecast_week(planning.planning_date()),
        policy,
        config.policy,
    )


@task(name="purchase-recommendations", cache_policy=NO_CACHE)
def orders_task(
    planning: PlanningInputs, policy: pd.DataFrame, risk: pd.DataFrame, config: PipelineConfig
) -> pd.DataFrame:
    announce("Recommending purchase orders")
    return recommend_orders(planning, policy, risk, config.policy)


@task(name="supplier-risk", cache_policy=NO_CACHE)
def supplier_task(
    risk: pd.DataFrame, inputs: LoadedInputs, lead_times: LeadTimes, config: PipelineConfig
) -> pd.DataFrame:
    return rollup_suppliers(risk, inputs.suppliers, lead_times, config.policy)


@task(name="excess-stock", cache_policy=NO_CACHE)
def excess_task(planning: PlanningInputs, risk: pd.DataFrame, policy: pd.DataFrame, forecast: ForecastResult,
                sales: DemandMatrix, config: PipelineConfig) -> pd.DataFrame:
    """Stock above order-up-to plus cover, dead and discontinued stock (models/inventory/excess.py),
    judged on what sold (``sales``), not the unconstrained demand."""
    return excess_stock(planning, risk["inventory_position"].to_numpy(float), policy["order_up_to"].to_numpy(float),
                        forecast.mean, sales.quantity, sales.start,
                        cover_weeks=config.excess_cover_weeks, dead_weeks=config.dead_stock_weeks)


@task(name="exceptions", cache_policy=NO_CACHE)
def exceptions_task(
    planning: PlanningInputs, risk: pd.DataFrame, orders: pd.DataFrame, inputs: LoadedInputs
) -> pd.DataFrame:
    """Order lines to expedite or already overdue, late purchase orders, suppliers to chase."""
    return find_exceptions(planning, risk, orders, inputs.purchase_orders)


@task(name="lost-sales", cache_policy=NO_CACHE)
def lost_sales_task(demand_weekly: pd.DataFrame | None, sales: DemandMatrix, demand: DemandMatrix,
                    planning: PlanningInputs) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Lost units and value, backordered units and backorder rate per SKU and per supplier over the
    last 13 and 52 weeks (models/lost_sales.py), over the weeks `demand_weekly` covers; None without."""
    if demand_weekly is None or demand_weekly.empty:
        return None
    share = in_stock_share_matrix(demand_weekly["sku"].to_numpy(dtype=object), demand_weekly["week"].to_numpy(),
                                  demand_weekly["in_stock_share"].to_numpy(), sales.skus, sales.weeks.values)
    per_sku = lost_sales_by_sku(planning.sku, planning.supplier_id, planning.unit_cost, planning.lost_sales,
                                sales.quantity, demand.quantity, share, sales.start)
    return per_sku, lost_sales_by_supplier(per_sku)
