"""The weekly safestock flow: load → validate → weekly demand → forecast → policy → risk →
recommendations → write → reports.

The flow only wires small typed tasks; the maths lives in ``models/`` and the SQL in ``sql/``.
Retries are set only on the I/O tasks (reading inputs, writing results, writing reports).
Runs without a Prefect server (ephemeral mode); ``PREFECT_API_URL`` points it at one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import safestock.models.forecasting as forecasting_package
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run
from prefect.states import State
from safestock.models.demand_censoring import in_stock_share_matrix, unconstrain_demand
from safestock.models.demand_matrix import (
    DemandMatrix,
    build_demand_matrix,
    first_forecast_week,
    last_complete_week,
)
from safestock.models.forecasting import ForecastResult, forecast_demand
from safestock.models.forecasting.prices import weekly_price_matrix
from safestock.models.inventory import (
    LeadTimes,
    PlanningInputs,
    backtest_policy,
    build_planning_inputs,
    compute_policy,
    estimate_lead_times,
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
    replay_levels,
    sku_groups,
)
from safestock.models.inventory.decisions import (
    mark_rejected,
    pending_approvals,
    recent_rejections,
    with_approved_orders,
)
from safestock.models.inventory.excess import excess_stock
from safestock.models.inventory.zero_policy import zero_policy_reasons
from safestock.models.lost_sales import lost_sales_by_sku, lost_sales_by_supplier
from safestock.models.inventory.exceptions import find_exceptions
from safestock.models.like_item import borrow_like_history
from safestock.models.override_conflicts import override_conflicts
from safestock.models.override_limits import apply_stock_limits
from safestock.models.overrides import applied_table, apply_overrides, override_matches
from safestock.models.inventory.policy import policy_lead_times, service_levels
from safestock.models.partition import merge_forecasts, partition_skus, sample_skus
from safestock.pipelines import storage
from safestock.pipelines.config import InputsConfig, PipelineConfig, load_config
from safestock.pipelines.inputs import LoadedInputs, load_inputs
from safestock.pipelines.inputs.overrides import read_overrides
from safestock.pipelines.inputs.postgres_overrides import pull_overrides
from safestock.pipelines.progress import announce
from safestock.pipelines.reporting import artifacts
from safestock.pipelines.reporting import orders as exports
from safestock.pipelines.reporting.render import render_reports
from safestock.pipelines.storage import RunSummary
from safestock.pipelines.storage import history
from safestock.pipelines.storage.decisions import decisions_before
from safestock.pipelines.storage.forecast_cache import FORECAST_CACHE_MAX_AGE, forecast_cache_dir, prune_forecast_cache
from safestock.pipelines.storage.outputs import assemble_outputs, demand_weekly_table, history_window_notes


def _retry_on_io_error(task: object, task_run: TaskRun, state: State) -> bool:
    """Retry only I/O failures (a busy disk, a file being replaced, a DuckDB I/O error); a bad
    input file or a bug fails at once, since retrying cannot fix it."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, (OSError, duckdb.IOException))


@task(name="load-and-validate", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE,
      retry_condition_fn=_retry_on_io_error)
def load_task(input_dir: Path, as_of: date | None, options: InputsConfig,
              sales_history_path: Path | None = None) -> LoadedInputs:
    announce(f"Loading and validating {input_dir}")
    return load_inputs(input_dir, as_of, allow_extra_columns=options.allow_extra_columns,
                       max_sales_age_days=options.max_sales_age_days, sales_history_path=sales_history_path,
                       unmet_demand=options.unmet_demand, infer_stockouts=options.infer_stockouts)


def _retry_on_connection_lost(task: object, task_run: TaskRun, state: State) -> bool:
    """Retry a pull only when the connection dropped in its middle (nothing was ingested); a
    missing table, a wrong password or bad rows fail at once."""
    from safestock.pipelines.inputs.postgres import SourceConnectionLostError

    return isinstance(state.result(raise_on_failure=False), SourceConnectionLostError)


@task(name="pull-and-validate", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE,
      retry_condition_fn=_retry_on_connection_lost)
def pull_task(source_uri: str, as_of: date | None, config: PipelineConfig, sales_from: date | None = None,
              sales_history_path: Path | None = None) -> LoadedInputs:
    """The inputs read from PostgreSQL (``inputs.postgres``), validated as an input folder; the
    sales only from ``sales_from`` on when given (an incremental pull)."""
    from safestock.pipelines.inputs.postgres import load_postgres_inputs, shown_uri

    announce(f"Pulling and validating {shown_uri(source_uri)}"
             + (f" (sales from {sales_from} on)" if sales_from else ""))
    return load_postgres_inputs(source_uri, config.source, as_of, config.inputs, sales_from=sales_from,
                                sales_history_path=sales_history_path)


@task(name="sales-history", cache_policy=NO_CACHE)
def sales_history_task(db_path: Path, inputs: LoadedInputs, plan: history.PullPlan,
                       wait_seconds: float = 0.0) -> tuple[history.SalesHistoryUpdate, LoadedInputs]:
    """The run's pull on its way into ``sales_history`` (written with the outputs); a database
    source plans from the history as it will be after the pull, files from themselves."""
    update = history.describe_pull(plan.path, plan.source, plan.sales_from, open_end=plan.from_database,
                                   skus=inputs.items["sku"].tolist())
    if not plan.from_database:
        return update, inputs
    announce("Reading the sales history")
    weekly = history.weekly_sales(db_path, update, inputs.as_of, wait_seconds=wait_seconds)
    return update, dataclasses.replace(inputs, sales_weekly=weekly, notes=history.history_notes(
        inputs.notes, weekly, inputs.items["sku"], update))


@task(name="weekly-demand", cache_policy=NO_CACHE)
def weekly_demand_task(inputs: LoadedInputs, history_weeks: int) -> DemandMatrix:
    announce("Aggregating weekly demand")
    skus = inputs.items["sku"].to_numpy(dtype=object)
    return build_demand_matrix(inputs.sales_weekly, skus, last_complete_week(inputs.as_of), history_weeks)


@task(name="unconstrained-demand", cache_policy=NO_CACHE)
def unconstrained_demand_task(inputs: LoadedInputs, sales: DemandMatrix) -> tuple[DemandMatrix, pd.DataFrame | None]:
    """The demand the forecast uses: `sales` with the censored weeks of `lost` items (stock-outs in
    the stock history) replaced by their unconstrained estimate (models/demand_censoring.py), and
    the `demand_weekly` rows. Without a stock history (nor inferred stock-outs): `sales` itself and
    no rows."""
    if inputs.stock_weekly is None:
        return sales, None
    announce("Estimating demand in stock-out weeks")
    stock = inputs.stock_weekly
    share = in_stock_share_matrix(stock["sku"].to_numpy(dtype=object), stock["week"].to_numpy(),
                                  stock["in_stock_share"].to_numpy(), sales.skus, sales.weeks.values)
    unmet = (inputs.items.set_index("sku")["unmet_demand"].reindex(sales.skus).fillna("backorder")
             .to_numpy(dtype=object))
    from_inference = (stock["stockout_source"] == "inferred").to_numpy()  # weeks whose share was inferred (16.2)
    inferred = (in_stock_share_matrix(stock["sku"].to_numpy(dtype=object)[from_inference],
                                      stock["week"].to_numpy()[from_inference], np.ones(int(from_inference.sum())),
                                      sales.skus, sales.weeks.values) == 1) if from_inference.any() else None
    estimate = unconstrain_demand(sales.quantity, share, unmet == "lost", sales.start)
    demand = dataclasses.replace(sales, quantity=estimate.demand)
    return demand, demand_weekly_table(sales, share, estimate.demand, estimate.censored, unmet, inferred)


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


@lru_cache(maxsize=1)
def _forecasting_code_digest() -> str:
    """Hash of the forecasting code, so a code change invalidates cached forecasts."""
    digest = hashlib.sha256()
    sources = [entry for entry in files(forecasting_package).iterdir() if entry.name.endswith(".py")]
    for source in sorted(sources, key=lambda entry: entry.name):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _forecast_cache_key(context: object, parameters: dict[str, Any]) -> str:
    """Key of a partition's forecast: its SKUs, history, costs, configuration and the code."""
    digest = hashlib.sha256(_forecasting_code_digest().encode())
    digest.update("\x1f".join(map(str, parameters["skus"])).encode("utf-8", "surrogatepass"))
    for name in ("history", "start", "unit_cost", "weeks"):
        digest.update(np.ascontiguousarray(parameters[name]).tobytes())
    if parameters.get("prices") is not None:
        digest.update(b"prices" + np.ascontiguousarray(parameters["prices"]).tobytes())
    digest.update(repr(parameters["config"]).encode())
    return f"safestock-forecast-{digest.hexdigest()}"


# Cached by input: a re-run after a failed write (or a retried flow) reuses finished partitions.
# The entries live in <db>.cache/ (forecast_all sets the result storage), pruned at each run start.
@task(name="forecast-partition", cache_key_fn=_forecast_cache_key, persist_result=True,
      cache_expiration=FORECAST_CACHE_MAX_AGE)
def forecast_partition_task(
    skus: np.ndarray, history: np.ndarray, start: np.ndarray, unit_cost: np.ndarray, weeks: np.ndarray,
    config: PipelineConfig, prices: np.ndarray | None = None,
) -> ForecastResult:
    """Forecast one partition of SKUs (runs on a Dask worker when the flow uses Dask).
    ``weeks``: the Monday of each history column (for the calendar of events); ``prices``: the
    weekly selling prices on the same grid (the global model's price features) or None."""
    return forecast_demand(
        skus,
        history,
        start,
        config.horizon_weeks,
        unit_cost,
        **config.forecast.engine_options(weeks),
        prices=prices,
    )


def price_matrix(inputs: LoadedInputs, demand: DemandMatrix, config: PipelineConfig) -> np.ndarray | None:
    """The input's weekly selling prices (sales.unit_price) on the demand grid, filled forward
    (models/forecasting/prices.py), for the global model; None without prices or with the global
    model off (nothing else uses them)."""
    prices = inputs.prices_weekly
    if prices is None or not config.forecast.global_model:
        return None
    return weekly_price_matrix(prices["sku"].to_numpy(dtype=object), prices["week"].to_numpy(),
                               prices["unit_price"].to_numpy(dtype=np.float64), demand.skus,
                               demand.weeks.to_numpy())


def forecast_all(demand: DemandMatrix, unit_cost: np.ndarray, config: PipelineConfig,
                 cache_dir: Path | None = None, prices: np.ndarray | None = None) -> ForecastResult:
    """Fan the forecast out over deterministic SKU partitions and merge the results; finished
    partitions are cached in ``cache_dir`` (default: Prefect's result storage). ``prices``:
    weekly selling prices on the demand grid (``price_matrix``) or None."""
    partitions = partition_skus(demand.skus, config.partition_size)
    announce(f"Forecasting {len(demand.skus):,} SKUs in {len(partitions)} partition(s)")
    partition_task = forecast_partition_task if cache_dir is None else forecast_partition_task.with_options(
        result_storage=cache_dir.resolve())  # a Path: a local folder, no saved block needed
    futures = [
        partition_task.submit(
            demand.skus[rows], demand.quantity[rows], demand.start[rows], unit_cost[rows], demand.weeks.to_numpy(), config,
            None if prices is None else prices[rows],
        )
        for rows in partitions
    ]
    return merge_forecasts([future.result() for future in futures], partitions, len(demand.skus))


@task(name="lead-times", cache_policy=NO_CACHE)
def lead_time_task(inputs: LoadedInputs, config: PipelineConfig) -> LeadTimes:
    announce("Estimating supplier lead times")
    return estimate_lead_times(inputs.purchase_orders, inputs.items, inputs.suppliers, inputs.as_of, config.policy)


@task(name="planning-inputs", cache_policy=NO_CACHE)
def planning_inputs_task(demand: DemandMatrix, inputs: LoadedInputs, lead_times: LeadTimes) -> PlanningInputs:
    """Items, suppliers, lead times, stock and open orders aligned once to the demand matrix's SKUs."""
    return build_planning_inputs(demand.skus, inputs.items, inputs.suppliers, lead_times, inputs.inventory,
                                 inputs.purchase_orders, inputs.as_of)


@task(name="order-decisions", cache_policy=NO_CACHE)
def decisions_task(db_path: Path, as_of: pd.Timestamp, wait_seconds: float = 0.0) -> pd.DataFrame:
    """Buyers' decisions on the order lines of runs planned on or before ``as_of`` (order_decisions)."""
    with storage.connect(db_path, read_only=True, wait_seconds=wait_seconds) as con:
        return decisions_before(con, as_of)


def _item_values(inputs: LoadedInputs, skus: np.ndarray, column: str) -> np.ndarray:
    """``items.<column>`` in the order of ``skus`` (None where the item master has no value)."""
    items = inputs.items.set_index("sku")
    values = items[column] if column in items else pd.Series(None, index=items.index, dtype=object)
    return values.reindex(skus).astype(object).where(lambda v: v.notna(), None).to_numpy()


@task(name="planner-overrides-history", cache_policy=NO_CACHE)
def like_item_task(overrides: pd.DataFrame | None, demand: DemandMatrix, inputs: LoadedInputs,
                   ) -> tuple[pd.DataFrame, DemandMatrix, pd.DataFrame]:
    """The overrides matched to the run's SKUs (by SKU, category, supplier) and the like_item
    history borrowed before the forecast (models/like_item.py); without overrides nothing."""
    if overrides is None:
        return pd.DataFrame({"override": [], "row": []}, dtype=int), demand, pd.DataFrame()
    announce(f"Applying {len(overrides)} planner override(s)")
    matches = override_matches(overrides, demand.skus, _item_values(inputs, demand.skus, "supplier_id"),
                               _item_values(inputs, demand.skus, "category"))
    demand, like_rows = borrow_like_history(demand, overrides, matches, inputs.as_of)
    return matches, demand, like_rows


@task(name="planner-overrides", cache_policy=NO_CACHE)
def overrides_task(overrides: pd.DataFrame | None, matches: pd.DataFrame, forecast: ForecastResult,
                   planning: PlanningInputs) -> tuple[ForecastResult, PlanningInputs, list[pd.DataFrame]]:
    """The planner's forecast and planning overrides (models/overrides.py) applied to the forecast
    and the planning inputs, and their applied records; without an overrides file everything as it was."""
    if overrides is None:
        return forecast, planning, []
    as_of = planning.planning_date()
    weeks = pd.DatetimeIndex(first_forecast_week(as_of) + pd.to_timedelta(7 * np.arange(forecast.mean.shape[1]),
                                                                            unit="D"))
    names = ("mean", "sd", "lo80", "hi80", "lo95", "hi95")
    bands, level, stopped, applied = apply_overrides({name: getattr(forecast, name) for name in names}, weeks,
                                                     planning.service_level, planning.discontinued, as_of,
                                                     overrides, matches, planning.sku)
    return (dataclasses.replace(forecast, **bands),
            dataclasses.replace(planning, service_level=level, discontinued=stopped), applied)


@task(name="planner-overrides-stock", cache_policy=NO_CACHE)
def stock_limits_task(overrides: pd.DataFrame | None, matches: pd.DataFrame, policy: pd.DataFrame,
                      planning: PlanningInputs, inputs: LoadedInputs,
                      applied: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """min_stock / max_stock on the policy (models/override_limits.py), then the run's
    ``overrides_applied`` rows: every step's records, contradictions noted (models/override_conflicts.py)."""
    if overrides is None:
        return policy, pd.DataFrame()
    as_of = planning.planning_date()
    policy, limit_rows = apply_stock_limits(policy, overrides, matches, as_of, planning.discontinued)
    conflicts = override_conflicts(overrides, matches, planning.sku,
                                   _item_values(inputs, planning.sku, "status") == "discontinued", as_of)
    return policy, applied_table(overrides, [*applied, limit_rows], as_of, conflicts)


@task(name="policy", cache_policy=NO_CACHE)
def policy_task(
    planning: PlanningInputs, demand: DemandMatrix, forecast: ForecastResult, config: PipelineConfig,
    nominal_level: np.ndarray | None = None,
) -> pd.DataFrame:
    """The (R, s, S) policy; ``nominal_level``: the calibrated level per SKU (None: the targets)."""
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
    )


@task(name="policy-backtest", cache_policy=NO_CACHE)
def policy_backtest_task(
    demand: DemandMatrix, forecast: ForecastResult, planning: PlanningInputs, config: PipelineConfig
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None]:
    """Replay recent weeks of real demand under the policy at the targets, re-forecasting with the
    same engine every few weeks as the pipeline would (on a fixed hash sample of SKUs for large
    runs). With ``[policy] service_calibration`` the same weeks are also replayed at shifted
    nominal levels (shared forecasts, demand and lead times) and calibrated (calibration.py).

    Returns (policy_backtest: the replay at the targets, per class; service_calibration; the
    nominal level per SKU of the run for the policy, None = the targets)."""
    if config.policy_backtest_weeks <= 0:
        return pd.DataFrame(), pd.DataFrame(), None
    policy_config = config.policy
    calibrate = policy_config.service_calibration
    announce("Replaying recent weeks under the policy" + (" and calibrating service levels" if calibrate else ""))
    demand_class = forecast.classes["demand_class"].to_numpy()
    target = service_levels(planning.service_level, forecast.classes["abc"].to_numpy(), policy_config)
    lead_mean, lead_sd = policy_lead_times(planning, policy_config)
    rows = sample_skus(demand.skus, config.policy_backtest_max_skus)
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
    )
    weeks = max(replayed_weeks(demand.quantity.shape[1], config.policy_backtest_weeks), 0)
    backtest = summarise_backtest(replay[replay["replay"] == 0], weeks, policy_config.service_level_type)
    if not calibrate or replay.empty:
        return backtest, pd.DataFrame(), None
    groups = sku_groups(forecast.mean.mean(axis=1), planning.unit_cost, planning.review_period_weeks,
                        lead_mean, lead_sd, policy_config)
    table, offsets = calibrate_service(replay, groups[rows], policy_config.service_level_type)
    return backtest, table, calibrated_levels(target, demand_class, groups, offsets)


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


@task(name="exceptions", cache_policy=NO_CACHE)
def exceptions_task(
    planning: PlanningInputs, risk: pd.DataFrame, orders: pd.DataFrame, inputs: LoadedInputs
) -> pd.DataFrame:
    """Order lines to expedite or already overdue, late purchase orders, suppliers to chase."""
    return find_exceptions(planning, risk, orders, inputs.purchase_orders)


@task(name="write-results", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE,
      retry_condition_fn=_retry_on_io_error)
def write_task(
    db_path: Path, run: storage.RunRecord, outputs: dict[str, pd.DataFrame], sales_weekly: pd.DataFrame,
    summary: dict[str, object], wait_seconds: float = 0.0, sales_history: history.SalesHistoryUpdate | None = None,
) -> list[str]:
    announce(f"Writing results to {db_path}")
    return storage.write_run(db_path, run, outputs, sales_weekly, summary, wait_seconds=wait_seconds,
                             history=sales_history)


@task(name="reports", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE, retry_condition_fn=_retry_on_io_error)
def reports_task(
    db_path: Path, run: storage.RunRecord, reports_dir: Path, orders: pd.DataFrame, items: pd.DataFrame,
    currency: str | None,
) -> dict[str, Path]:
    """The run's reports and its order files in ``orders/<as_of>/``, the folder its buyer report
    links to; once the run is the newest, the flat ``orders/*.csv`` of earlier versions go."""
    announce(f"Writing reports to {reports_dir}")
    order_files = exports.write_supplier_orders(orders, items, exports.run_orders_dir(reports_dir, run.as_of),
                                                run_id=run.run_id, as_of=run.as_of, currency=currency)
    reports = render_reports(db_path, run.run_id, reports_dir)
    if storage.latest_run_id(db_path) == run.run_id:
        exports.remove_flat_order_files(reports_dir)
    return {**reports, **{f"orders:{k}": v for k, v in order_files.items()}}


class ReportsFailedError(RuntimeError):
    """The run's results were committed, but writing its reports or order files failed."""

    def __init__(self, run_id: str, error: BaseException) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} succeeded and its results are in the database, but writing the reports "
            f"failed: {type(error).__name__}: {error}"
        )


def _run_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"weekly-as-of-{as_of or 'latest'}"


@flow(name="safestock-weekly", flow_run_name=_run_name, validate_parameters=False)
def weekly_run(
    input_dir: Path | None,
    db_path: Path,
    reports_dir: Path,
    as_of: date | None = None,
    config_path: Path | None = None,
    wait_seconds: float = 0.0,
    source: str | None = None,
    full_reload: bool = False,
) -> RunSummary:
    """One weekly planning run over the input folder, or without one over the PostgreSQL
    source (``source`` URI, else the configuration's ``[source] uri``); see the module docstring.
    The sales read go into ``sales_history`` (storage/history.py); ``full_reload``: a source run
    pulls every sales row instead of those after the history's watermark minus the look-back."""
    db_path, reports_dir = Path(db_path), Path(reports_dir)
    config = load_config(Path(config_path) if config_path else None)
    source_uri = None if input_dir is not None else source or config.source.uri
    if input_dir is None and source_uri is None:
        raise ValueError("no input: give input_dir or a source URI (--source, or [source] uri in the config)")
    with storage.run_lock(db_path, wait_seconds):
        prune_forecast_cache(forecast_cache_dir(db_path))  # under the lock: no run of this db reads it
        # a validation error stops here: nothing written
        plan = history.plan_pull(db_path, str(input_dir) if source_uri is None else source_uri,
                                 from_database=source_uri is not None, lookback_days=config.source.lookback_days,
                                 full_reload=full_reload or config.source.full_reload, wait_seconds=wait_seconds)
        inputs = (load_task(Path(input_dir), as_of, config.inputs, plan.path) if source_uri is None
                  else pull_task(source_uri, as_of, config, plan.sales_from, plan.path))
        overrides = (read_overrides(Path(input_dir)) if source_uri is None  # [source.tables.overrides]
                     else pull_overrides(source_uri, config.source))
        run = storage.start_run(db_path, inputs.as_of, str(input_dir) if source_uri is None else source_uri,
                                config.as_dict(), wait_seconds=wait_seconds)
        try:
            sales_history, inputs = sales_history_task(db_path, inputs, plan, wait_seconds)
            sales = weekly_demand_task(inputs, config.history_weeks)
            demand, demand_weekly = unconstrained_demand_task(inputs, sales)
            # like_item overrides: new SKUs borrow history for the forecast and policy (the tables keep what sold)
            matches, borrowed, like_rows = like_item_task(overrides, demand, inputs)
            forecast = forecast_all(borrowed, _unit_cost(inputs, demand), config, forecast_cache_dir(db_path),
                                    price_matrix(inputs, demand, config))
            lead_times = lead_time_task(inputs, config)
            planning = planning_inputs_task(demand, inputs, lead_times)
            decisions = decisions_task(db_path, inputs.as_of, wait_seconds)  # approved: on order until in the ERP
            planning = with_approved_orders(planning, pending_approvals(decisions, inputs.purchase_orders,
                                                                        config.approval_match_days))
            engine_mean, item_discontinued = forecast.mean, planning.discontinued   # before the overrides
            forecast, planning, override_rows = overrides_task(overrides, matches, forecast, planning)
            backtest, calibration, nominal_level = policy_backtest_task(borrowed, forecast, planning, config)
            policy = policy_task(planning, borrowed, forecast, config, nominal_level)
            policy_order_up_to = policy["order_up_to"].to_numpy(float).copy()   # before min/max stock overrides
            policy, overrides_applied = stock_limits_task(overrides, matches, policy, planning, inputs,
                                                          [like_rows, *override_rows])
            policy["zero_policy_reason"] = zero_policy_reasons(
                policy["order_up_to"].to_numpy(float), item_discontinued, planning.discontinued, demand.quantity,
                demand.start, engine_mean, forecast.mean,
                (policy["lead_time_weeks_mean"] + policy["review_period_weeks"]).to_numpy(float),
                policy_order_up_to=policy_order_up_to)
            projection, risk = risk_task(planning, forecast, policy, config)
            orders = mark_rejected(orders_task(planning, policy, risk, config),
                                   recent_rejections(decisions, inputs.as_of, config.rejected_memory_weeks))
            supplier_risk = supplier_task(risk, inputs, lead_times, config)
            excess = excess_stock(planning, risk["inventory_position"].to_numpy(float),
                                  policy["order_up_to"].to_numpy(float), forecast.mean, sales.quantity, sales.start,
                                  cover_weeks=config.excess_cover_weeks, dead_weeks=config.dead_stock_weeks)
            lost_sales = lost_sales_task(demand_weekly, sales, demand, planning)
            exceptions = exceptions_task(planning, risk, orders[orders["status"] != "rejected"] if len(orders)
                                         else orders, inputs)
            outputs = assemble_outputs(
                inputs, demand, forecast, lead_times, policy, projection, risk, orders, supplier_risk, backtest,
                exceptions,
                extra_notes=history_window_notes(inputs.sales_weekly, demand),
                service_calibration=calibration,
                demand_weekly=demand_weekly,
                overrides_applied=overrides_applied,
                excess_stock=excess,
                lost_sales=lost_sales,
            )
            summary = {
                "skus": len(demand.skus),
                "first_forecast_week": first_forecast_week(inputs.as_of).date(),
                "horizon_weeks": config.horizon_weeks,
                "service_level_type": config.policy.service_level_type,
                "input_files": json.dumps(inputs.files, sort_keys=True),
            }
            superseded = write_task(db_path, run, outputs, sales.to_long(), summary, wait_seconds, sales_history)
            plan.folder.cleanup()
        except BaseException as error:
            storage.fail_run(db_path, run.run_id, f"{type(error).__name__}: {error}")
            raise
        try:  # still under the run lock: two runs never interleave their report files
            reports = reports_task(db_path, run, reports_dir, orders, inputs.items, config.currency)
        except Exception as error:
            raise ReportsFailedError(run.run_id, error) from error
    recommended = orders[orders["status"] == "recommended"] if len(orders) else orders
    result = RunSummary(
        run_id=run.run_id,
        as_of=inputs.as_of.date(),
        db_path=db_path,
        reports=reports,
        skus=len(demand.skus),
        skus_at_risk=int(supplier_risk["skus_at_risk"].sum()),
        order_lines=len(recommended),
        order_value=float(recommended["line_value"].sum()) if len(recommended) else 0.0,
        superseded=superseded,
        rows_pulled=sales_history.source_rows,
        pulled_from=sales_history.pulled_from,
    )
    artifacts.publish(result, risk, inputs.items)
    return result


def _unit_cost(inputs: LoadedInputs, demand: DemandMatrix) -> np.ndarray:
    return inputs.items.set_index("sku")["unit_cost"].reindex(demand.skus).to_numpy(dtype=np.float64)


def configured_flow(workers: int | None = None, dask_address: str | None = None):
    """The weekly flow with its task runner: threads by default; a local Dask cluster of
    ``workers`` processes (prefect-dask's DaskTaskRunner); or an existing cluster at
    ``dask_address`` (``tcp://host:port``). Partitions are identical either way."""
    if not workers and not dask_address:
        return weekly_run
    from prefect_dask import DaskTaskRunner

    if dask_address:
        runner = DaskTaskRunner(address=dask_address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                                "processes": True, "dashboard_address": None})
    return weekly_run.with_options(task_runner=runner)
