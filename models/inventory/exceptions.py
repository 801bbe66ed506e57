"""Exceptions a buyer acts on first: one row per fact that needs a phone call or a change today.

Rules (``find_exceptions``; ``as_of`` the planning date, all dates whole days):

* ``expedite`` - an order line (recommended or deferred) whose expected arrival (order_by + mean
  lead time, ``orders``) falls after the SKU's projected stock-out week (``backorder_risk``: the
  first week with P(backorder) >= 0.5, projected without new orders), i.e. on or after the Monday
  that follows it. The projection is weekly and counts a receipt for the whole week it arrives
  in, so an arrival inside the stock-out week is in time. value = days from the start of the
  stock-out week to the arrival (about the days without stock unless the line is expedited).
* ``overdue`` - an order line whose latest order date (projected stock-out week - lead-time p90,
  ``projection.latest_order_date``, before it is clipped at as_of) is before as_of. value =
  days overdue (as_of - that date). The line's own order_by shows as_of: it is due today.
* ``late_po`` - an open purchase-order line (``planning_inputs.open_order_mask``) whose
  expected_date is before as_of. value = days late (as_of - expected_date); the detail names
  the PO and its open quantity (quantity - received_quantity). Lines without an expected date
  have no promise to be late against and are not listed.
* ``chase_supplier`` - one row per supplier with ``late_po`` or ``expedite`` rows: sku empty,
  value = the number of those lines (the calls to make), the detail counts both kinds and names
  the oldest late line's days and the open units.

Rows come ordered by kind (the order above), then value (largest first), supplier and sku.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .planning_inputs import PlanningInputs, open_order_mask
from .projection import latest_order_date

EXCEPTION_COLUMNS = ["sku", "supplier_id", "kind", "detail", "value"]
EXCEPTION_KINDS = ("expedite", "overdue", "late_po", "chase_supplier")
WEEK_DAYS = 7


def _day(values: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """ISO dates as text ('' for NaT), an object array (vectorised)."""
    return np.asarray(pd.Series(pd.DatetimeIndex(values).strftime("%Y-%m-%d"), dtype=object).fillna(""), dtype=object)


def _number(values: np.ndarray | pd.Series) -> np.ndarray:
    """Whole numbers as text with thousands separators, an object array (vectorised)."""
    return np.asarray(pd.Series(np.round(np.asarray(values, dtype=float)), dtype=float).map("{:,.0f}".format),
                      dtype=object)


def _frame(sku, supplier_id, kind: str, detail, value) -> pd.DataFrame:
    return pd.DataFrame({"sku": pd.Series(sku, dtype=object).to_numpy(),
                         "supplier_id": pd.Series(supplier_id, dtype=object).to_numpy(),
                         "kind": kind, "detail": pd.Series(detail, dtype=object).to_numpy(),
                         "value": np.asarray(value, dtype=float)})


def order_line_exceptions(inputs: PlanningInputs, risk: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """The ``expedite`` and ``overdue`` rows of the order lines (module docstring)."""
    as_of = pd.Timestamp(inputs.planning_date()).normalize()
    row = pd.Index(inputs.sku).get_indexer(orders["sku"].astype(str))
    if (row < 0).any():
        raise ValueError("order lines name SKUs that are not in the planning inputs")
    stockout_week = pd.DatetimeIndex(risk["projected_stockout_week"]).normalize()[row]
    arrival = pd.DatetimeIndex(orders["expected_arrival"]).normalize()
    deferred = np.where(orders["status"].astype(str).to_numpy() == "deferred", " (deferred line)", "")

    late = np.asarray(arrival >= stockout_week + pd.Timedelta(days=WEEK_DAYS))   # NaT compares False
    days_without_stock = np.asarray((arrival - stockout_week).days, dtype=float)
    expedite = _frame(
        orders["sku"][late], orders["supplier_id"][late], "expedite",
        ("arrives " + _day(arrival[late]) + ", " + _number(days_without_stock[late])
         + " days after the start of the projected stock-out week " + _day(stockout_week[late])
         + ": expedite " + _number(orders["order_quantity"].to_numpy()[late]) + " units" + deferred[late]),
        days_without_stock[late])

    latest = latest_order_date(stockout_week, inputs.lead_time_weeks_p90[row])
    overdue_days = np.asarray((as_of - latest).days, dtype=float)
    overdue_mask = np.nan_to_num(overdue_days, nan=0.0) > 0
    overdue = _frame(
        orders["sku"][overdue_mask], orders["supplier_id"][overdue_mask], "overdue",
        ("overdue by " + _number(overdue_days[overdue_mask]) + " days: should have been ordered by "
         + _day(latest[overdue_mask]) + " (stock-out week " + _day(stockout_week[overdue_mask])
         + " - lead-time p90 " + _number(inputs.lead_time_weeks_p90[row][overdue_mask] * WEEK_DAYS)
         + " days); order today" + deferred[overdue_mask]),
        overdue_days[overdue_mask])
    return pd.concat([expedite, overdue], ignore_index=True)


def late_purchase_orders(inputs: PlanningInputs, purchase_orders: pd.DataFrame) -> pd.DataFrame:
    """The ``late_po`` rows: open purchase-order lines past their expected date (module docstring),
    with their open quantity in ``open_units`` (for the supplier rollup)."""
    as_of = pd.Timestamp(inputs.planning_date()).normalize()
    po = purchase_orders[open_order_mask(purchase_orders)]
    expected = pd.to_datetime(po["expected_date"], errors="coerce").dt.normalize()
    days_late = (as_of - expected).dt.days.to_numpy(dtype=float)
    late = np.nan_to_num(days_late, nan=0.0) > 0
    po, expected, days_late = po[late], expected[late], days_late[late]
    item_supplier = pd.Series(inputs.supplier_id, index=inputs.sku)
    supplier = po["supplier_id"].astype(object).where(po["supplier_id"].notna(),
                                                      po["sku"].astype(str).map(item_supplier))
    quantity = po["quantity"].astype(float).to_numpy()
    remaining = np.maximum(quantity - po["received_quantity"].astype(float).fillna(0.0).to_numpy(), 0.0)
    detail = (po["po_id"].astype(str).to_numpy(dtype=object) + ": " + _number(remaining) + " of "
              + _number(quantity) + " units open, expected " + _day(expected) + ", "
              + _number(days_late) + " days late")
    return _frame(po["sku"].astype(str), supplier, "late_po", detail, days_late).assign(open_units=remaining)


def suppliers_to_chase(lines: pd.DataFrame, purchase_lines: pd.DataFrame) -> pd.DataFrame:
    """One ``chase_supplier`` row per supplier with late PO lines (``late_purchase_orders``) or
    expedite lines (``order_line_exceptions``)."""
    expedite = lines[lines["kind"] == "expedite"]
    frame = pd.concat([purchase_lines.assign(_late=1, _expedite=0, _days=purchase_lines["value"]),
                       expedite.assign(_late=0, _expedite=1, _days=np.nan, open_units=0.0)], ignore_index=True)
    if frame.empty:
        return _frame([], [], "chase_supplier", [], [])
    frame["supplier_id"] = frame["supplier_id"].astype(str)
    grouped = frame.groupby("supplier_id", sort=True)
    summary = pd.DataFrame({"late": grouped["_late"].sum(), "expedite": grouped["_expedite"].sum(),
                            "oldest": grouped["_days"].max(), "units": grouped["open_units"].sum()})
    late_text = np.where(summary["late"] > 0,
                         summary["late"].astype(str) + " open PO line(s) past their expected date (oldest "
                         + _number(summary["oldest"].fillna(0)) + " days late, "
                         + _number(summary["units"]) + " units open)", "")
    expedite_text = np.where(summary["expedite"] > 0,
                             summary["expedite"].astype(str) + " new order line(s) arrive after the projected "
                             "stock-out: ask for a shorter lead time", "")
    joiner = np.where((summary["late"] > 0) & (summary["expedite"] > 0), "; ", "")
    detail = pd.Series(late_text, dtype=object) + joiner + expedite_text
    return _frame(np.full(len(summary), None), summary.index, "chase_supplier", detail.to_numpy(),
                  summary["late"].to_numpy() + summary["expedite"].to_numpy())


def find_exceptions(inputs: PlanningInputs, risk: pd.DataFrame, orders: pd.DataFrame,
                    purchase_orders: pd.DataFrame) -> pd.DataFrame:
    """The exceptions of one run (columns ``EXCEPTION_COLUMNS``; rules: module docstring).

    ``risk``: the ``project_risk`` frame of ``inputs`` (one row per SKU, in their order);
    ``orders``: the ``recommend_orders`` lines; ``purchase_orders``: the loaded purchase-order
    lines (open and closed; the open ones are picked here)."""
    inputs.check_rows(risk, "risk")
    lines = order_line_exceptions(inputs, risk, orders)
    purchase_lines = late_purchase_orders(inputs, purchase_orders)
    chase = suppliers_to_chase(lines, purchase_lines)
    table = pd.concat([frame for frame in (lines, purchase_lines, chase) if not frame.empty] or [lines],
                      ignore_index=True)
    table = table.assign(_rank=table["kind"].map({kind: number for number, kind in enumerate(EXCEPTION_KINDS)}))
    table = table.sort_values(["_rank", "value", "supplier_id", "sku"], ascending=[True, False, True, True],
                              kind="stable", na_position="first")
    return table.reset_index(drop=True)[EXCEPTION_COLUMNS]
