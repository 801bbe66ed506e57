"""Shape the stages' results into the per-run output tables of the registry (storage/tables.py), without run_id."""

from __future__ import annotations

import numpy as np
import pandas as pd
from safestock.models.demand_matrix import DemandMatrix, first_forecast_week
from safestock.models.forecasting import ForecastResult
from safestock.models.inventory import LeadTimes
from safestock.pipelines.inputs import DataQualityNote, LoadedInputs
from safestock.pipelines.storage.tables import RUN_TABLES, check_run_outputs


def forecast_table(skus: np.ndarray, forecast: ForecastResult, first_week: pd.Timestamp) -> pd.DataFrame:
    """Long ``forecasts`` rows: one per SKU and week ahead (step 1 = first_week)."""
    n_skus, horizon = forecast.mean.shape
    steps = np.tile(np.arange(1, horizon + 1), n_skus)
    return pd.DataFrame(
        {
            "sku": np.repeat(skus, horizon),
            "week": pd.Timestamp(first_week) + pd.to_timedelta((steps - 1) * 7, unit="D"),
            "step": steps,
            "mean": forecast.mean.ravel(),
            "lo80": forecast.lo80.ravel(),
            "hi80": forecast.hi80.ravel(),
            "lo95": forecast.lo95.ravel(),
            "hi95": forecast.hi95.ravel(),
            "model": np.repeat(forecast.model, horizon),
            "sd": forecast.sd.ravel(),
            "family": np.repeat(forecast.family, horizon),
        }
    )


def history_window_notes(sales_weekly: pd.DataFrame, demand: DemandMatrix) -> list[DataQualityNote]:
    """A note when weekly sales older than the history window were left out of the forecasts."""
    older = sales_weekly[sales_weekly["week"] < demand.weeks[0]] if len(demand.weeks) else sales_weekly.iloc[:0]
    if older.empty:
        return []
    weeks = older["week"].nunique()
    return [DataQualityNote(
        file="sales", line=None, column="date", severity="info", rows=len(older),
        message=(f"{weeks} week(s) of sales before {demand.weeks[0]:%Y-%m-%d} are outside the "
                 f"{len(demand.weeks)}-week history window (history_weeks) and were not used"),
    )]


def demand_weekly_table(sales: DemandMatrix, in_stock_share: np.ndarray, demand_estimate: np.ndarray,
                        censored: np.ndarray, unmet_demand: np.ndarray,
                        inferred: np.ndarray | None = None) -> pd.DataFrame:
    """``demand_weekly`` rows: the SKU-weeks of each SKU's history that the stock history covers
    (``in_stock_share`` not NaN), with sales, share, demand estimate and the censored flag.
    ``stockout_source``: where a week's out-of-stock time comes from — 'inferred' where
    ``inferred`` (SKU x week) is True, else 'stock_history'; NULL for a week fully in stock."""
    in_history = np.arange(len(sales.weeks))[None, :] >= sales.start[:, None]
    sku_index, week_index = np.nonzero(in_history & ~np.isnan(in_stock_share))
    share = in_stock_share[sku_index, week_index]
    from_inference = (np.zeros(len(sku_index), dtype=bool) if inferred is None
                      else np.asarray(inferred, dtype=bool)[sku_index, week_index])
    source = np.full(len(share), None, dtype=object)
    source[(share < 1.0) & from_inference] = "inferred"
    source[(share < 1.0) & ~from_inference] = "stock_history"
    return pd.DataFrame({  # fresh arrays: no copy (millions of rows at 100,000 SKUs)
        "sku": sales.skus[sku_index],
        "week": sales.weeks.values[week_index],
        "sales": sales.quantity[sku_index, week_index],
        "in_stock_share": share,
        "demand_estimate": demand_estimate[sku_index, week_index],
        "censored": censored[sku_index, week_index],
        "unmet_demand": np.asarray(unmet_demand, dtype=object)[sku_index],
        "stockout_source": source,
    }, copy=False)


def data_quality_table(inputs: LoadedInputs, extra_notes: list[DataQualityNote] | None = None) -> pd.DataFrame:
    """One row per data-quality note raised while loading (and by the run itself)."""
    columns = ["file", "line", "column_name", "severity", "message", "rows"]
    notes = [*inputs.notes, *(extra_notes or [])]
    rows = [(n.file, n.line, n.column, n.severity, n.message, n.rows) for n in notes]
    return pd.DataFrame(rows, columns=columns).astype({"line": "Int64", "rows": "Int64"})


def assemble_outputs(
    inputs: LoadedInputs,
    demand: DemandMatrix,
    forecast: ForecastResult,
    lead_times: LeadTimes,
    policy: pd.DataFrame,
    projection: pd.DataFrame,
    risk: pd.DataFrame,
    orders: pd.DataFrame,
    supplier_risk: pd.DataFrame,
    policy_backtest: pd.DataFrame,
    exceptions: pd.DataFrame,
    extra_notes: list[DataQualityNote] | None = None,
    service_calibration: pd.DataFrame | None = None,
    demand_weekly: pd.DataFrame | None = None,
    overrides_applied: pd.DataFrame | None = None,
    excess_stock: pd.DataFrame | None = None,
    lost_sales: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every per-run output table of the registry keyed by its name, in registry order.

    Refuses (ValueError) a result that is not exactly the registry's per-run tables.
    """
    outputs = {
        "sku_class": forecast.classes,
        "forecasts": forecast_table(demand.skus, forecast, first_forecast_week(inputs.as_of)),
        "forecast_accuracy": forecast.accuracy,
        "forecast_coverage": forecast.coverage,
        "lead_times": lead_times.per_sku,
        "inventory_policy": policy,
        "backorder_risk": risk,
        "projection": projection,
        "supplier_risk": supplier_risk,
        "purchase_recommendations": orders,
        "exceptions": exceptions,
        "data_quality": data_quality_table(inputs, extra_notes),
        "items_snapshot": inputs.items,
        "suppliers_snapshot": inputs.suppliers,
        "inventory_snapshot": inputs.inventory,
        "purchase_orders_snapshot": inputs.purchase_orders,
        "policy_backtest": policy_backtest,
        "service_calibration": pd.DataFrame() if service_calibration is None else service_calibration,
        "demand_weekly": pd.DataFrame() if demand_weekly is None else demand_weekly,
        "overrides_applied": pd.DataFrame() if overrides_applied is None else overrides_applied,
        "excess_stock": pd.DataFrame() if excess_stock is None else excess_stock,
        "lost_sales": pd.DataFrame() if lost_sales is None else lost_sales[0],
        "lost_sales_by_supplier": pd.DataFrame() if lost_sales is None else lost_sales[1],
    }
    check_run_outputs(outputs)
    return {name: outputs[name] for name in RUN_TABLES}
