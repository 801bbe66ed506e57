"""Tasks that read and shape the run's inputs: load or pull, the sales history, weekly demand
(and its unconstrained estimate), supplier lead times, the SKU-aligned planning inputs and the
buyers' earlier decisions. Retries only on I/O."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from safestock.models.demand_censoring import in_stock_share_matrix, unconstrain_demand
from safestock.models.demand_matrix import DemandMatrix, build_demand_matrix, last_complete_week
from safestock.models.inventory import LeadTimes, PlanningInputs, build_planning_inputs, estimate_lead_times
from safestock.pipelines import storage
from safestock.pipelines.config import InputsConfig, PipelineConfig
from safestock.pipelines.inputs import LoadedInputs, load_inputs
from safestock.pipelines.progress import announce
from safestock.pipelines.storage import history
from safestock.pipelines.storage.decisions import decisions_before
from safestock.pipelines.storage.outputs import demand_weekly_table


def retry_on_io_error(task: object, task_run: TaskRun, state: State) -> bool:
    """Retry only I/O failures (a busy disk, a file being replaced, a DuckDB I/O error); a bad
    input file or a bug fails at once, since retrying cannot fix it."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, (OSError, duckdb.IOException))


@task(name="load-and-validate", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE,
      retry_condition_fn=retry_on_io_error)
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
              sales_history_path: Path | None = None, snapshots=None) -> LoadedInputs:
    """The inputs read from PostgreSQL (``inputs.postgres``), validated as an input folder; the
    sales only from ``sales_from`` on when given (an incremental pull); the tables with an
    ``updated_column`` only their changed rows, merged into ``snapshots``
    (``storage.source_snapshots.SnapshotPlan``)."""
    from safestock.pipelines.inputs.postgres import load_postgres_inputs, shown_uri

    announce(f"Pulling and validating {shown_uri(source_uri)}"
             + (f" (sales from {sales_from} on)" if sales_from else ""))
    return load_postgres_inputs(source_uri, config.source, as_of, config.inputs, sales_from=sales_from,
                                sales_history_path=sales_history_path, snapshots=snapshots)


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
