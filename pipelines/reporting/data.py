"""Data access for the planner and buyer reports.

Every query lives in ``sql/report_*.sql`` (one ``with … select * from final`` statement per file)
and is run with bound parameters on a read-only DuckDB connection. This module only fetches and
shapes frames; formatting and charts live in ``safestock.pipelines.reporting.render`` / ``safestock.pipelines.reporting.charts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
from safestock.models.inventory.whatif import service_value_curve
import pandas as pd
from safestock.pipelines.sqlfiles import sql


@dataclass(frozen=True)
class ReportLimits:
    """Size limits and thresholds that keep reports fast and small at 100,000 SKUs."""

    top_n: int = 20                    # SKUs with a full drill-down chart
    table_rows: int = 500              # rows of the planner's risk, supplier and quality tables
    history_weeks: int = 104           # weeks of demand history in a drill-down
    tracking_runs: int = 12            # earlier runs in "accuracy over recent runs"
    tracking_steps: int = 4            # forecast steps 1..n compared with actuals
    buyer_max_lines: int = 5000        # above this, the buyer report shows top lines per supplier
    at_risk_probability: float = 0.5   # stock-out probability from which a SKU counts "at risk"
    below_target_margin: float = 0.02  # policy backtest: flag a class this far below its target


LOST_SALES_CHART_SKUS = 6   # SKUs with a stock-out history chart (largest 52-week lost value)


@dataclass(frozen=True)
class RunInfo:
    """The run a report describes and the previous succeeded run it is compared with."""

    run_id: str
    as_of: Any
    status: str
    previous_run_id: str | None
    previous_as_of: Any
    is_latest: bool
    skus: int | None
    horizon_weeks: int | None
    service_level_type: str | None
    at_risk_probability: float | None   # from the run's configuration, when recorded
    backtest_reforecast_weeks: int | None = None   # runs.config policy_backtest_reforecast_weeks
    backtest_max_skus: int | None = None           # runs.config policy_backtest_max_skus
    currency: str | None = None                    # runs.config currency (ISO 4217), None: not stated


@dataclass
class SkuDetail:
    """Frames behind the per-SKU drill-down charts (long format, all drill-down SKUs)."""

    history: pd.DataFrame
    forecast: pd.DataFrame
    projection: pd.DataFrame
    open_orders: pd.DataFrame


@dataclass
class PlannerData:
    """Everything the planner report shows, fetched in one connection."""

    run: RunInfo
    kpis: dict[str, Any]
    previous_kpis: dict[str, Any] | None
    top_risk: pd.DataFrame
    sku_detail: SkuDetail
    supplier_risk: pd.DataFrame
    accuracy_by_class: pd.DataFrame
    forecast_tracking: pd.DataFrame
    data_quality: pd.DataFrame
    policy_backtest: pd.DataFrame = field(default_factory=pd.DataFrame)
    service_calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    limits: ReportLimits = field(default_factory=ReportLimits)
    models_used: pd.DataFrame = field(default_factory=pd.DataFrame)   # model, skus
    overrides: pd.DataFrame = field(default_factory=pd.DataFrame)     # report_overrides_applied rows
    excess: pd.DataFrame = field(default_factory=pd.DataFrame)        # report_excess_stock rows
    excess_by_supplier: pd.DataFrame = field(default_factory=pd.DataFrame)  # report_excess_by_supplier rows
    excess_by_category: pd.DataFrame = field(default_factory=pd.DataFrame)  # report_excess_by_category rows
    service_curve: pd.DataFrame = field(default_factory=pd.DataFrame)  # whatif.service_value_curve rows
    sku_plans: pd.DataFrame = field(default_factory=pd.DataFrame)     # report_sku_plans: order-line link targets
    facets: pd.DataFrame = field(default_factory=pd.DataFrame)        # report_sku_facets of the listed SKUs
    lost_sales_by_supplier: pd.DataFrame = field(default_factory=pd.DataFrame)  # report_lost_sales_by_supplier
    lost_sales_history: pd.DataFrame = field(default_factory=pd.DataFrame)  # report_lost_sales_history (top SKUs)


@dataclass
class BuyerData:
    """Everything the buyer report shows: exceptions, supplier totals, order lines and the schedule."""

    run: RunInfo
    suppliers: pd.DataFrame
    lines: pd.DataFrame
    schedule: pd.DataFrame
    total_lines: int
    lines_per_supplier: int | None   # None when every line is shown
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)   # report_buyer_exceptions rows
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)    # report_buyer_decisions rows
    facets: pd.DataFrame = field(default_factory=pd.DataFrame)       # report_sku_facets of the listed SKUs


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pd.DataFrame:
    """Run the named SQL file with bound ``$name`` parameters and return a frame."""
    return con.execute(sql(name), params).df()


def _first_row(frame: pd.DataFrame) -> dict[str, Any] | None:
    """First row as a dict with missing values as None, or None for an empty frame."""
    if frame.empty:
        return None
    return records(frame.head(1))[0]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, with NaN/NaT turned into None (templates show them as a dash)."""
    if frame.empty:
        return []
    cleaned = frame.astype(object).where(frame.notna(), None)
    return cleaned.to_dict("records")


def fetch_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunInfo:
    """Run metadata; raises ``LookupError`` for an unknown run id."""
    row = _first_row(query(con, "report_run", run_id=run_id))
    if row is None:
        raise LookupError(f"run {run_id!r} not found in table runs")
    return RunInfo(
        run_id=row["run_id"],
        as_of=row["as_of"],
        status=row["status"],
        previous_run_id=row["previous_run_id"],
        previous_as_of=row["previous_as_of"],
        is_latest=bool(row["is_latest"]),
        skus=row["skus"],
        horizon_weeks=row["horizon_weeks"],
        service_level_type=row["service_level_type"],
        at_risk_probability=row["at_risk_probability"],
        backtest_reforecast_weeks=row["backtest_reforecast_weeks"],
        backtest_max_skus=row["backtest_max_skus"],
        currency=row["currency"],
    )


def fetch_kpis(con: duckdb.DuckDBPyConnection, run_id: str, limits: ReportLimits) -> dict[str, Any]:
    """Headline KPI values of one run."""
    row = _first_row(
        query(con, "report_kpis", run_id=run_id, at_risk_probability=limits.at_risk_probability)
    )
    return row or {}


def fetch_sku_detail(
    con: duckdb.DuckDBPyConnection, run_id: str, skus: list[str], limits: ReportLimits
) -> SkuDetail:
    """Drill-down frames for the given SKUs."""
    return SkuDetail(
        history=query(
            con, "report_sku_history", run_id=run_id, skus=skus, history_weeks=limits.history_weeks
        ),
        forecast=query(con, "report_sku_forecast", run_id=run_id, skus=skus),
        projection=query(con, "report_sku_projection", run_id=run_id, skus=skus),  # with the plan's arrivals
        open_orders=query(con, "report_sku_open_orders", run_id=run_id, skus=skus),
    )


def fetch_sku_facets(
    con: duckdb.DuckDBPyConnection, run_id: str, frames: list[pd.DataFrame], limits: ReportLimits
) -> pd.DataFrame:
    """Supplier, ABC class, category and risk status (report_sku_facets.sql) of every SKU listed in
    ``frames`` (their ``sku`` columns): what the report filters offer on each row."""
    skus = sorted({str(sku) for frame in frames if "sku" in frame.columns
                   for sku in frame["sku"].dropna()})
    return query(con, "report_sku_facets", run_id=run_id, skus=skus,
                 at_risk_probability=limits.at_risk_probability)


def fetch_buyer_lines(
    con: duckdb.DuckDBPyConnection, run_id: str, limits: ReportLimits
) -> tuple[pd.DataFrame, pd.DataFrame, int, int | None]:
    """Supplier totals, the order lines the buyer report shows, the total line count and the
    per-supplier cap (None: every line shown; above ``limits.buyer_max_lines`` lines in total each
    supplier shows its first max(5, buyer_max_lines / suppliers))."""
    suppliers = query(con, "report_buyer_suppliers", run_id=run_id)
    total_lines = int(suppliers["lines"].sum()) if not suppliers.empty else 0
    lines_per_supplier: int | None = None
    if total_lines > limits.buyer_max_lines:
        lines_per_supplier = max(5, limits.buyer_max_lines // max(len(suppliers), 1))
    lines = query(
        con,
        "report_buyer_lines",
        run_id=run_id,
        lines_per_supplier=lines_per_supplier or max(total_lines, 1),
    )
    return suppliers, lines, total_lines, lines_per_supplier


def fetch_planner_data(
    con: duckdb.DuckDBPyConnection, run_id: str, limits: ReportLimits
) -> PlannerData:
    """All planner report data for ``run_id``.

    "At risk" uses the run's configured threshold (``limits.at_risk_probability`` when the run
    did not record one), for the previous run's KPIs too, so the change compares like with like.
    """
    run = fetch_run(con, run_id)
    if run.at_risk_probability is not None:
        limits = replace(limits, at_risk_probability=run.at_risk_probability)
    top_risk = query(con, "report_top_risk", run_id=run_id, row_limit=limits.table_rows,
                     at_risk_probability=limits.at_risk_probability)
    drilldown_skus = [str(sku) for sku in top_risk["sku"].head(limits.top_n)]
    previous_kpis = (
        fetch_kpis(con, run.previous_run_id, limits) if run.previous_run_id is not None else None
    )
    order_lines = fetch_buyer_lines(con, run_id, limits)[1]   # the buyer report's lines link here
    sku_plans = query(con, "report_sku_plans", run_id=run_id,
                      skus=sorted({str(sku) for sku in order_lines["sku"]}))
    overrides = query(con, "report_overrides_applied", run_id=run_id, row_limit=limits.table_rows)
    excess = query(con, "report_excess_stock", run_id=run_id, row_limit=limits.table_rows)
    return PlannerData(
        run=run,
        kpis=fetch_kpis(con, run_id, limits),
        previous_kpis=previous_kpis,
        top_risk=top_risk,
        sku_detail=fetch_sku_detail(con, run_id, drilldown_skus, limits),
        supplier_risk=query(con, "report_supplier_risk", run_id=run_id, row_limit=limits.table_rows),
        accuracy_by_class=query(con, "report_accuracy_by_class", run_id=run_id),
        models_used=query(con, "report_models_used", run_id=run_id),
        forecast_tracking=query(
            con,
            "report_forecast_tracking",
            run_id=run_id,
            max_runs=limits.tracking_runs,
            max_step=limits.tracking_steps,
        ),
        data_quality=query(con, "report_data_quality", run_id=run_id, row_limit=limits.table_rows),
        policy_backtest=query(
            con, "report_policy_backtest", run_id=run_id, below_target_margin=limits.below_target_margin
        ),
        service_calibration=query(con, "report_service_calibration", run_id=run_id),
        service_curve=service_value_curve(query(con, "whatif_policy", run_id=run_id)),
        overrides=overrides,
        excess=excess,
        sku_plans=sku_plans,
        facets=fetch_sku_facets(con, run_id, [top_risk, sku_plans, overrides, excess], limits),
        excess_by_supplier=query(con, "report_excess_by_supplier", run_id=run_id),
        excess_by_category=query(con, "report_excess_by_category", run_id=run_id),
        lost_sales_by_supplier=query(con, "report_lost_sales_by_supplier", run_id=run_id),
        lost_sales_history=query(con, "report_lost_sales_history", run_id=run_id, top_n=LOST_SALES_CHART_SKUS),
        limits=limits,
    )


def fetch_buyer_data(
    con: duckdb.DuckDBPyConnection, run_id: str, limits: ReportLimits
) -> BuyerData:
    """All buyer report data; caps lines per supplier when there are too many lines in total."""
    run = fetch_run(con, run_id)
    if run.at_risk_probability is not None:
        limits = replace(limits, at_risk_probability=run.at_risk_probability)
    suppliers, lines, total_lines, lines_per_supplier = fetch_buyer_lines(con, run_id, limits)
    exceptions = query(con, "report_buyer_exceptions", run_id=run_id, rows_per_kind=limits.table_rows)
    return BuyerData(
        run=run,
        suppliers=suppliers,
        lines=lines,
        schedule=query(con, "report_buyer_schedule", run_id=run_id),
        total_lines=total_lines,
        lines_per_supplier=lines_per_supplier,
        exceptions=exceptions,
        decisions=query(con, "report_buyer_decisions", run_id=run_id),
        facets=fetch_sku_facets(con, run_id, [lines, exceptions], limits),
    )
