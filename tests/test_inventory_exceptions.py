"""Exceptions a buyer acts on first (issue 19.8): expedite, overdue, late purchase orders and the
suppliers to chase, on a small case worked by hand (models/inventory/exceptions.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import LeadTimes, build_planning_inputs
from safestock.models.inventory.exceptions import EXCEPTION_COLUMNS, find_exceptions

AS_OF = pd.Timestamp("2026-01-07")   # a Wednesday
SKUS = ["A", "B", "C", "D"]
SUPPLIER = {"A": "V1", "B": "V2", "C": "V1", "D": "V2"}
P90_WEEKS = {"A": 2.0, "B": 2.0, "C": 2.0, "D": 1.0}
STOCKOUT = {"A": "2026-01-12", "B": "2026-02-09", "C": None, "D": "2026-01-19"}


def _inputs(purchase_orders: pd.DataFrame):
    items = pd.DataFrame({"sku": SKUS, "supplier_id": [SUPPLIER[s] for s in SKUS], "description": "",
                          "unit_cost": 1.0, "pack_size": 1.0, "moq": 0.0, "service_level": np.nan,
                          "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1", "V2"], "name": ["One", "Two"], "lead_time_days": [14.0, 7.0],
                              "review_period_days": [7.0, 7.0], "min_order_value": [0.0, 0.0]})
    per_sku = pd.DataFrame({"sku": SKUS, "supplier_id": [SUPPLIER[s] for s in SKUS], "lead_time_weeks_mean": 2.0,
                            "lead_time_weeks_sd": 0.5, "lead_time_weeks_p90": [P90_WEEKS[s] for s in SKUS],
                            "receipts": 9, "source": "sku"})
    per_supplier = pd.DataFrame({"supplier_id": ["V1", "V2"], "mean_days_late": [0.0, 0.0]})
    inventory = pd.DataFrame({"sku": SKUS, "on_hand": 10.0, "backordered": 0.0, "as_of": AS_OF})
    return build_planning_inputs(np.array(SKUS), items, suppliers, LeadTimes(per_sku, per_supplier), inventory,
                                 purchase_orders, AS_OF)


def _purchase_orders() -> pd.DataFrame:
    rows = [  # po_id, sku, supplier_id, quantity, order_date, expected_date, received_date, received_qty, status
        ("P1", "A", "V1", 100.0, "2025-11-01", "2025-12-01", None, 40.0, "open"),      # 37 days late, 60 open
        ("P2", "B", "V2", 30.0, "2025-12-20", "2026-01-06", None, None, "open"),       # 1 day late
        ("P3", "C", "V1", 10.0, "2025-12-20", "2026-01-07", None, None, "open"),       # due today: not late
        ("P4", "C", "V1", 10.0, "2025-10-01", "2025-11-01", "2025-11-20", 10.0, "closed"),
        ("P5", "D", None, 8.0, "2025-12-01", "2025-12-31", None, None, ""),           # open (not received), 7 days
        ("P6", "A", "V1", 5.0, "2025-12-01", None, None, None, "open"),               # no promise: not listed
    ]
    frame = pd.DataFrame(rows, columns=["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
                                        "received_date", "received_quantity", "status"])
    for column in ("order_date", "expected_date", "received_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _risk() -> pd.DataFrame:
    return pd.DataFrame({"sku": SKUS, "supplier_id": [SUPPLIER[s] for s in SKUS],
                         "projected_stockout_week": pd.to_datetime([STOCKOUT[s] for s in SKUS])})


def _orders() -> pd.DataFrame:
    rows = [  # sku, supplier, quantity, order_by, expected_arrival, status
        ("A", "V1", 50.0, "2026-01-07", "2026-01-28", "recommended"),   # stock-out week 01-12: arrives 16 days in
        ("B", "V2", 20.0, "2026-01-26", "2026-02-11", "recommended"),   # inside its stock-out week 02-09: in time
        ("C", "V1", 5.0, "2026-01-07", "2026-01-21", "recommended"),    # no stock-out projected
        ("D", "V2", 12.0, "2026-01-12", "2026-01-26", "deferred"),      # the Monday after stock-out week 01-19
    ]
    frame = pd.DataFrame(rows, columns=["sku", "supplier_id", "order_quantity", "order_by", "expected_arrival",
                                        "status"])
    for column in ("order_by", "expected_arrival"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_exceptions_worked_by_hand() -> None:
    po = _purchase_orders()
    table = find_exceptions(_inputs(po), _risk(), _orders(), po)
    assert list(table.columns) == EXCEPTION_COLUMNS
    rows = [(r.kind, r.supplier_id, r.sku, r.value) for r in table.itertuples()]
    assert rows == [
        # expedite: A arrives 01-28, 16 days after the start of stock-out week 01-12; D arrives 01-26,
        # exactly the Monday after stock-out week 01-19 -> 7 days. B arrives inside its week: in time.
        ("expedite", "V1", "A", 16.0),
        ("expedite", "V2", "D", 7.0),
        # overdue: A's latest order date 01-12 - 14 days = 2025-12-29, 9 days before as_of;
        # D: 01-19 - 7 = 01-12 (future), B: 02-09 - 14 = 01-26 (future)
        ("overdue", "V1", "A", 9.0),
        # late_po: P1 2025-12-01 -> 37 days, P5 2025-12-31 -> 7 days (supplier from the item), P2 -> 1 day;
        # P3 is due today, P4 closed, P6 has no expected date
        ("late_po", "V1", "A", 37.0),
        ("late_po", "V2", "D", 7.0),
        ("late_po", "V2", "B", 1.0),
        # chase: V2 has 2 late PO lines + 1 expedite line, V1 1 + 1
        ("chase_supplier", "V2", None, 3.0),
        ("chase_supplier", "V1", None, 2.0),
    ]
    detail = dict(zip(zip(table["kind"], table["supplier_id"], table["sku"]), table["detail"]))
    assert detail[("expedite", "V1", "A")] == (
        "arrives 2026-01-28, 16 days after the start of the projected stock-out week 2026-01-12: expedite 50 units")
    assert detail[("expedite", "V2", "D")].endswith("(deferred line)")
    assert detail[("overdue", "V1", "A")] == (
        "overdue by 9 days: should have been ordered by 2025-12-29 (stock-out week 2026-01-12 - lead-time p90 "
        "14 days); order today")
    assert detail[("late_po", "V1", "A")] == "P1: 60 of 100 units open, expected 2025-12-01, 37 days late"
    assert detail[("chase_supplier", "V2", None)] == (
        "2 open PO line(s) past their expected date (oldest 7 days late, 38 units open); 1 new order line(s) "
        "arrive after the projected stock-out: ask for a shorter lead time")
    assert detail[("chase_supplier", "V1", None)].startswith(
        "1 open PO line(s) past their expected date (oldest 37 days late, 60 units open)")


def test_no_exceptions_gives_an_empty_table_with_the_columns() -> None:
    po = _purchase_orders().iloc[[2, 3]]          # one due today, one closed
    orders = _orders().iloc[[1, 2]]                # in time, and no stock-out
    table = find_exceptions(_inputs(po), _risk(), orders, po)
    assert table.empty and list(table.columns) == EXCEPTION_COLUMNS


def test_risk_rows_must_follow_the_planning_inputs() -> None:
    po = _purchase_orders()
    with pytest.raises(ValueError, match="risk rows are not the planning inputs' SKUs"):
        find_exceptions(_inputs(po), _risk().iloc[::-1], _orders(), po)
