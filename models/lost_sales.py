"""Lost sales and backorder tracking per SKU and per supplier (issue 16, item 4).

Inputs per SKU x week (the demand matrix's last complete weeks, oldest first): ``sales`` (units
sold), ``demand`` (what the forecast used: sales, or the unconstrained estimate of a censored
week, models/demand_censoring.py) and ``in_stock_share`` e_t (weekday-weighted share of the week
in stock; NaN = no stock information for the week: the `demand_weekly` rows of the run, from the
stock history or from inferred stock-outs). A SKU is tracked when it has stock information for at
least one week; its other history weeks count as in stock (e_t = 1), as the forecast takes them
(demand = sales there; inferred stock-outs only give rows for the weeks found out of stock). A
SKU without any stock information gets no row.

Definitions, per history week t of a tracked SKU:

* demand D_t = ``demand`` (a `backorder` item's sales already hold its demand: the customer waited);
* unmet demand U_t = the part of D_t not served from stock when it arrived:
  - `lost` item:      U_t = D_t − sales_t  (the demand of the time out of stock, lost; the
    estimate's E-step term (1 − e_t) λ̂_t, capped as in demand_censoring);
  - `backorder` item: U_t = (1 − e_t) · D_t  (the demand that arrived while the shelf was empty,
    weekday-weighted like e_t: backlogged, served later from a receipt);
* lost units = Σ U_t of `lost` items; backordered units = Σ U_t of `backorder` items;
* lost value = lost units × unit cost (the items contract has ``unit_cost``, no selling price:
  the value is at cost, the stock that would have been sold, not the margin);
* backorder rate = Σ U_t / Σ D_t = 1 − fill rate (the share of demand not met from stock on
  arrival, SPT 4th ed. §7.2 P2), NaN without demand.

Each figure is summed over the last 13 and 52 weeks of the matrix (``WINDOWS``); a supplier's
figures are the sums over its SKUs, its backorder rate Σ U / Σ D (demand-weighted); a rate is NaN
without demand in the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS: tuple[int, ...] = (13, 52)
FIGURES = ("demand_units", "lost_units", "lost_value", "backordered_units", "backorder_rate")


def unmet_demand_units(sales: np.ndarray, demand: np.ndarray, in_stock_share: np.ndarray,
                       lost: np.ndarray) -> np.ndarray:
    """U_t per SKU x week (module docstring): D − sales for `lost` items, (1 − e) · D for
    `backorder` items; 0 where the week is not covered (e NaN) or fully in stock."""
    sales = np.asarray(sales, dtype=np.float64)
    demand = np.asarray(demand, dtype=np.float64)
    share = np.asarray(in_stock_share, dtype=np.float64)
    covered = ~np.isnan(share)
    out_share = np.where(covered, 1.0 - np.clip(np.nan_to_num(share, nan=1.0), 0.0, 1.0), 0.0)
    lost_rows = np.asarray(lost, dtype=bool)[:, None]
    unmet = np.where(lost_rows, np.maximum(demand - sales, 0.0), out_share * np.maximum(demand, 0.0))
    return np.where(covered, unmet, 0.0)


def lost_sales_by_sku(sku: np.ndarray, supplier_id: np.ndarray, unit_cost: np.ndarray, lost: np.ndarray,
                      sales: np.ndarray, demand: np.ndarray, in_stock_share: np.ndarray,
                      start: np.ndarray | None = None,
                      windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """One row per tracked SKU (module docstring): demand, lost units and value,
    backordered units and backorder rate over each window (columns ``<figure>_<w>w``), plus
    ``out_of_stock_weeks_<w>w`` (covered weeks with e_t < 1) and ``unmet_demand``.

    Columns before ``start`` (first history week per SKU) are not history and count nowhere.
    Vectorised: sums over the week axis, no loop per SKU."""
    sales = np.asarray(sales, dtype=np.float64)
    n_weeks = sales.shape[1]
    share = np.array(in_stock_share, dtype=np.float64, copy=True)
    if start is not None:
        share[np.arange(n_weeks)[None, :] < np.asarray(start, dtype=np.int64)[:, None]] = np.nan
    lost = np.asarray(lost, dtype=bool)
    tracked = (~np.isnan(share)).any(axis=1)
    in_history = np.ones(share.shape, dtype=bool) if start is None else (
        np.arange(n_weeks)[None, :] >= np.asarray(start, dtype=np.int64)[:, None])
    share = np.where(tracked[:, None] & in_history & np.isnan(share), 1.0, share)
    covered = ~np.isnan(share)
    unmet = unmet_demand_units(sales, demand, share, lost)
    demand_covered = np.where(covered, np.maximum(np.asarray(demand, dtype=np.float64), 0.0), 0.0)
    stockout = covered & (np.nan_to_num(share, nan=1.0) < 1.0)
    cost = np.nan_to_num(np.asarray(unit_cost, dtype=np.float64), nan=0.0)
    columns: dict[str, np.ndarray] = {
        "sku": np.asarray(sku, dtype=object),
        "supplier_id": np.asarray(supplier_id, dtype=object),
        "unmet_demand": np.where(lost, "lost", "backorder").astype(object),
    }
    for weeks in windows:
        last = slice(max(n_weeks - weeks, 0), n_weeks)
        total_demand = demand_covered[:, last].sum(axis=1)
        total_unmet = unmet[:, last].sum(axis=1)
        lost_units = np.where(lost, total_unmet, 0.0)
        columns[f"demand_units_{weeks}w"] = total_demand
        columns[f"lost_units_{weeks}w"] = lost_units
        columns[f"lost_value_{weeks}w"] = lost_units * cost
        columns[f"backordered_units_{weeks}w"] = np.where(lost, 0.0, total_unmet)
        columns[f"backorder_rate_{weeks}w"] = _rate(total_unmet, total_demand)
    for weeks in windows:
        last = slice(max(n_weeks - weeks, 0), n_weeks)
        columns[f"out_of_stock_weeks_{weeks}w"] = stockout[:, last].sum(axis=1).astype(np.int64)
    frame = pd.DataFrame(columns)
    return frame[covered.any(axis=1)].reset_index(drop=True)


def lost_sales_by_supplier(per_sku: pd.DataFrame, windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """Sums of ``lost_sales_by_sku`` per supplier (``skus`` = SKUs covered, ``lost_skus`` = of them
    `lost` items); backorder rate = Σ unmet / Σ demand over the supplier's SKUs (demand-weighted),
    ordered by 52-week (largest window) lost value, then backordered units."""
    sums = [f"{figure}_{weeks}w" for weeks in windows
            for figure in ("demand_units", "lost_units", "lost_value", "backordered_units")]
    if per_sku.empty:
        return pd.DataFrame(columns=["supplier_id", "skus", "lost_skus", *_supplier_columns(windows)])
    grouped = per_sku.assign(lost_sku=(per_sku["unmet_demand"] == "lost").astype(np.int64)).groupby(
        "supplier_id", sort=True)
    table = grouped[sums].sum()
    table.insert(0, "lost_skus", grouped["lost_sku"].sum())
    table.insert(0, "skus", grouped["sku"].size())
    for weeks in windows:
        unmet = table[f"lost_units_{weeks}w"] + table[f"backordered_units_{weeks}w"]
        table[f"backorder_rate_{weeks}w"] = _rate(unmet.to_numpy(), table[f"demand_units_{weeks}w"].to_numpy())
    largest = max(windows)
    table = table.reset_index().sort_values([f"lost_value_{largest}w", f"backordered_units_{largest}w",
                                             "supplier_id"], ascending=[False, False, True], kind="stable")
    return table[["supplier_id", "skus", "lost_skus", *_supplier_columns(windows)]].reset_index(drop=True)


def _supplier_columns(windows: tuple[int, ...]) -> list[str]:
    return [f"{figure}_{weeks}w" for weeks in windows for figure in FIGURES]


def _rate(unmet: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """unmet / demand, NaN where demand <= 0."""
    return np.divide(unmet, demand, out=np.full(np.shape(demand), np.nan), where=np.asarray(demand) > 0)
