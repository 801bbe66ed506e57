"""The weekly safestock flow: load → validate → weekly demand → forecast → policy → risk →
recommendations → write → reports.

The flow only wires small typed tasks (``pipelines/tasks/``, one module per stage); the maths
lives in ``models/`` and the SQL in ``sql/``.
Retries are set only on the I/O tasks (reading inputs, writing results, writing reports).
Runs without a Prefect server (ephemeral mode); ``PREFECT_API_URL`` points it at one.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from safestock.models.demand_matrix import first_forecast_week
from safestock.models.inventory.decisions import (
    mark_rejected,
    pending_approvals,
    recent_rejections,
    with_approved_orders,
)
from safestock.pipelines import storage
from safestock.pipelines.config import load_config
from safestock.pipelines.inputs.overrides import read_overrides
from safestock.pipelines.inputs.postgres_overrides import pull_overrides
from safestock.pipelines.reporting import artifacts
from safestock.pipelines.storage import RunSummary, history
from safestock.pipelines.storage.forecast_cache import (
    forecast_cache_dir,
    prune_forecast_cache,
    prune_legacy_forecast_entries,
)
from safestock.pipelines.storage.source_snapshots import plan_snapshots
from safestock.pipelines.storage.outputs import assemble_outputs, history_window_notes
from safestock.pipelines.tasks.forecast import forecast_all, price_matrix, unit_costs
from safestock.pipelines.tasks.inputs import (
    decisions_task,
    lead_time_task,
    load_task,
    planning_inputs_task,
    pull_task,
    sales_history_task,
    unconstrained_demand_task,
    weekly_demand_task,
)
from safestock.pipelines.tasks.outputs import ReportsFailedError, reports_task, write_task
from safestock.pipelines.tasks.overrides import like_item_task, overrides_task, stock_limits_task
from safestock.pipelines.tasks.planning import (
    exceptions_task,
    excess_task,
    lost_sales_task,
    orders_task,
    policy_backtest_task,
    policy_task,
    risk_task,
    supplier_task,
    zero_policy_task,
)

__all__ = ["ReportsFailedError", "configured_flow", "pull_task", "weekly_run"]


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
        # partitions of versions before <db>.cache/ in Prefect's result storage: never read any more
        prune_legacy_forecast_entries(Path(get_current_settings().results.local_storage_path))
        # a validation error stops here: nothing written
        reload_all = full_reload or config.source.full_reload
        plan = history.plan_pull(db_path, str(input_dir) if source_uri is None else source_uri,
                                 from_database=source_uri is not None, lookback_days=config.source.lookback_days,
                                 full_reload=reload_all, wait_seconds=wait_seconds)
        inputs = (load_task(Path(input_dir), as_of, config.inputs, plan.path) if source_uri is None
                  else pull_task(source_uri, as_of, config, plan.sales_from, plan.path,  # snapshots: updated_column
                                 plan_snapshots(db_path, source_uri, config.source, full_reload=reload_all,
                                                wait_seconds=wait_seconds)))
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
            forecast = forecast_all(borrowed, unit_costs(inputs, demand), config, forecast_cache_dir(db_path),
                                    price_matrix(inputs, demand, config))
            lead_times = lead_time_task(inputs, config)
            planning = planning_inputs_task(demand, inputs, lead_times)
            decisions = decisions_task(db_path, inputs.as_of, wait_seconds)  # approved: on order until in the ERP
            planning = with_approved_orders(planning, pending_approvals(decisions, inputs.purchase_orders,
                                                                        config.approval_match_days))
            engine_mean, item_discontinued = forecast.mean, planning.discontinued   # before the overrides
            forecast, planning, override_rows = overrides_task(overrides, matches, forecast, planning)
            backtest, calibration, nominal_level, empirical = policy_backtest_task(borrowed, forecast, planning, config)
            policy = policy_task(planning, borrowed, forecast, config, nominal_level, empirical)
            policy_order_up_to = policy["order_up_to"].to_numpy(float).copy()   # before min/max stock overrides
            policy, overrides_applied = stock_limits_task(overrides, matches, policy, planning, inputs,
                                                          [like_rows, *override_rows])
            policy = zero_policy_task(policy, planning, demand, engine_mean, forecast, item_discontinued,
                                      policy_order_up_to)
            projection, risk = risk_task(planning, forecast, policy, config)
            orders = mark_rejected(orders_task(planning, policy, risk, config),
                                   recent_rejections(decisions, inputs.as_of, config.rejected_memory_weeks))
            supplier_risk = supplier_task(risk, inputs, lead_times, config)
            excess = excess_task(planning, risk, policy, forecast, sales, config)
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
