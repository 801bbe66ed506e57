"""Inferred stock-out weeks for lost-sales SKUs without a stock history (issue 16.2).

Orchestration only: picks the SKUs the rule can apply to, reads their daily sales from the
loader's DuckDB (``sales_daily``) onto a SKU x day grid, marks the receipt days from the
purchase orders, calls `safestock.models.stockout_inference.infer_stockout_days` and returns the
weeks with inferred out-of-stock days in the shape of the loader's ``stock_weekly`` frame, with
``stockout_source = 'inferred'``. The grid is built in chunks of SKUs, so memory stays bounded
whatever the number of SKUs (the chunking is over blocks of SKUs; each block is vectorised).

Which SKUs: items whose ``unmet_demand`` is ``lost`` (a backorder item's sales already record
the demand that waited, so an empty shelf does not censor them), with no row in
``stock_history`` (observed stock beats inference) and at least one purchase-order line
received (``received_date`` on or before as_of, ``received_quantity`` > 0): a run must end with
a receipt.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from safestock.models.stockout_inference import infer_stockout_days
from safestock.pipelines.inputs.contract import DataQualityNote
from safestock.pipelines.sqlfiles import sql

#: SKU x day cells per chunk of the grid (working arrays of well under 1 GB per chunk).
GRID_CELLS_PER_CHUNK = 8_000_000

STOCK_WEEKLY_COLUMNS = ["sku", "week", "in_stock_share", "out_of_stock_days", "out_of_stock_day_equivalents",
                        "stockout_source"]


def inference_skus(items: pd.DataFrame, purchase_orders: pd.DataFrame, stock_history_skus: set[str],
                   as_of: pd.Timestamp) -> np.ndarray:
    """The SKUs the inference examines (see the module docstring), in items order."""
    lost = items.loc[items["unmet_demand"] == "lost", "sku"]
    lost = lost[~lost.isin(stock_history_skus)]
    received = purchase_orders[(purchase_orders["received_quantity"].fillna(0) > 0)
                               & purchase_orders["received_date"].notna()
                               & (pd.to_datetime(purchase_orders["received_date"]) <= as_of)]
    return lost[lost.isin(set(received["sku"]))].to_numpy(dtype=object)


def infer_stock_weekly(con: duckdb.DuckDBPyConnection, items: pd.DataFrame, purchase_orders: pd.DataFrame,
                       stock_history_skus: set[str], as_of: pd.Timestamp, sales_file: str,
                       ) -> tuple[pd.DataFrame | None, list[DataQualityNote]]:
    """Inferred stock-out weeks (columns of ``STOCK_WEEKLY_COLUMNS``, complete ISO weeks up to
    ``as_of``, only weeks with an inferred day; None when no SKU qualifies) and a note counting
    them. ``con`` holds ``sales_daily`` (the loader's daily sales)."""
    skus = inference_skus(items, purchase_orders, stock_history_skus, as_of)
    if len(skus) == 0:
        return None, []
    parameters = {"as_of": as_of.date()}
    sku_positions = pd.DataFrame({"sku": pd.Series(skus, dtype=object),
                                  "position": np.arange(len(skus), dtype=np.int64)})
    # a temp table from the frame (a DuckDB replacement scan of the local variable)
    con.execute("create or replace temp table inference_skus as select * from sku_positions")
    try:
        first_sale = con.execute(sql("stockout_inference_first_day"), parameters).fetchone()[0]
        if first_sale is None:
            return None, []
        first_day = pd.Timestamp(first_sale) - pd.Timedelta(days=pd.Timestamp(first_sale).weekday())  # Monday
        weights = con.execute(sql("stockout_inference_weekday_weights"), parameters).fetchnumpy()["weight"]
        con.execute("create or replace temp table inference_sales as " + sql("stockout_inference_sales"),
                    {**parameters, "first_day": first_day.date()})
    finally:
        con.execute("drop table if exists inference_skus")
    n_days = (as_of.normalize() - first_day).days + 1
    receipts = _receipt_cells(purchase_orders, skus, first_day, as_of)
    frames = []
    chunk = max(1, GRID_CELLS_PER_CHUNK // max(n_days, 1))
    try:
        for low in range(0, len(skus), chunk):  # blocks of SKUs, each read by DuckDB's filter
            high = min(low + chunk, len(skus))
            frames.append(_infer_chunk(con, skus, low, high, n_days, receipts, weights, first_day))
    finally:
        con.execute("drop table if exists inference_sales")
    weekly = pd.concat(frames, ignore_index=True)
    weekly_skus = int(weekly["sku"].nunique())
    note = DataQualityNote(
        sales_file, None, "quantity", "info",
        f"{len(weekly)} sku-week(s) of {weekly_skus} of {len(skus)} lost-sales sku(s) without stock_history "
        "flagged as inferred stock-outs (zero-sales runs ending with a receipt, improbable at the sku's "
        "rate; demand_weekly.stockout_source = 'inferred'; [inputs] infer_stockouts = false turns this off)",
        len(weekly))
    return weekly, [note]


def _infer_chunk(con: duckdb.DuckDBPyConnection, skus: np.ndarray, low: int, high: int, n_days: int,
                 receipts: tuple[np.ndarray, np.ndarray], weights: np.ndarray, first_day: pd.Timestamp,
                 ) -> pd.DataFrame:
    """Inferred weeks of the SKUs at positions low..high-1 (temp table inference_sales)."""
    cells = con.execute("select position, day_offset, quantity from inference_sales "
                        "where position >= $low and position < $high", {"low": low, "high": high}).fetchnumpy()
    sales = np.zeros((high - low, n_days), dtype=np.float64)
    sales[np.asarray(cells["position"], dtype=np.int64) - low, np.asarray(cells["day_offset"], dtype=np.int64)] = (
        np.asarray(cells["quantity"], dtype=np.float64))
    received = np.zeros((high - low, n_days), dtype=bool)
    in_chunk = (receipts[0] >= low) & (receipts[0] < high)
    received[receipts[0][in_chunk] - low, receipts[1][in_chunk]] = True
    result = infer_stockout_days(sales, received, np.asarray(weights, dtype=np.float64), first_day.weekday())
    sku_index, week_index = np.nonzero(result.weekly_in_stock_share < 1.0)
    days = result.weekly_out_of_stock_days[sku_index, week_index]
    return pd.DataFrame({
        "sku": skus[low + sku_index],
        "week": (first_day + pd.to_timedelta(7 * week_index, unit="D")).astype("datetime64[us]"),
        "in_stock_share": result.weekly_in_stock_share[sku_index, week_index],
        "out_of_stock_days": days.astype(np.int64),
        "out_of_stock_day_equivalents": days.astype(np.float64),
        "stockout_source": "inferred",
    })


def _receipt_cells(purchase_orders: pd.DataFrame, skus: np.ndarray, first_day: pd.Timestamp,
                   as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """(SKU position, day offset) of every receipt of ``skus`` within the grid."""
    received = purchase_orders[purchase_orders["received_quantity"].fillna(0) > 0]
    days = pd.to_datetime(received["received_date"]).dt.normalize()
    inside = days.notna() & (days >= first_day) & (days <= as_of.normalize())
    position = pd.Series(np.arange(len(skus)), index=pd.Index(skus, dtype=object))
    sku_position = received["sku"].map(position)
    keep = inside & sku_position.notna()
    return (sku_position[keep].to_numpy(dtype=np.int64),
            ((days[keep] - first_day).dt.days).to_numpy(dtype=np.int64))
