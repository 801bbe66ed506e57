"""Lead-time statistics on a hand-built purchase-order table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import PolicyConfig, estimate_lead_times

AS_OF = pd.Timestamp("2025-06-30")


def _po(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
                                        "received_date", "received_quantity", "status"])
    for column in ("order_date", "expected_date", "received_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


ITEMS = pd.DataFrame({"sku": ["A", "B", "C"], "supplier_id": ["V1", "V1", "V2"], "unit_cost": 1.0,
                      "pack_size": 1.0, "moq": 0.0, "service_level": np.nan, "status": "active"})
SUPPLIERS = pd.DataFrame({"supplier_id": ["V1", "V2"], "name": ["One", "Two"], "lead_time_days": [14.0, 21.0],
                          "review_period_days": [7.0, 7.0], "min_order_value": [0.0, 0.0]})

# SKU A at V1: durations 14, 21, 28, 14, 21 days (the 21-day one partial) -> 2, 3, 4, 2, 3 weeks.
# SKU B at V1: one receipt of 35 days (5 weeks). Plus: open line, negative duration, missing order date,
# a receipt after as_of - all ignored.
PO = _po([
    ("P1", "A", "V1", 10, "2025-01-06", "2025-01-20", "2025-01-20", 10, "closed"),   # 14 d, on time
    ("P2", "A", "V1", 10, "2025-02-03", "2025-02-17", "2025-02-24", 6, "closed"),    # 21 d partial, 7 late
    ("P3", "A", "V1", 10, "2025-03-03", "2025-03-17", "2025-03-31", 10, "closed"),   # 28 d, 14 late (recent? no)
    ("P4", "A", "V1", 10, "2025-04-07", "2025-04-21", "2025-04-21", 10, "closed"),   # 14 d, on time (recent)
    ("P5", "A", "V1", 10, "2025-05-05", "2025-05-19", "2025-05-26", 10, "closed"),   # 21 d, 7 late (recent)
    ("P6", "B", "V1", 10, "2025-04-01", "2025-04-29", "2025-05-06", 10, "closed"),   # 35 d, 7 late (recent)
    ("P7", "A", "V1", 10, "2025-06-02", "2025-06-16", None, None, "open"),           # open: ignored
    ("P8", "A", "V1", 10, "2025-06-02", "2025-06-16", "2025-05-30", 10, "closed"),   # negative: ignored
    ("P9", "B", "V1", 10, None, "2025-06-16", "2025-06-20", 10, "closed"),           # no order date: ignored
    ("P10", "B", "V1", 10, "2025-06-20", "2025-07-01", "2025-07-04", 10, "closed"),  # after as_of: ignored
])


def test_supplier_statistics() -> None:
    result = estimate_lead_times(PO, ITEMS, SUPPLIERS, AS_OF, PolicyConfig())
    v1 = result.per_supplier.set_index("supplier_id").loc["V1"]
    weeks = np.array([2, 3, 4, 2, 3, 5], dtype=float)
    assert v1["receipts"] == 6
    assert v1["lead_time_weeks_mean"] == pytest.approx(weeks.mean())
    assert v1["lead_time_weeks_sd"] == pytest.approx(weeks.std(ddof=1))
    assert v1["lead_time_weeks_p90"] == pytest.approx(np.quantile(weeks, 0.9))  # 4.5
    assert v1["on_time_rate"] == pytest.approx(2 / 6)
    assert v1["mean_days_late"] == pytest.approx((0 + 7 + 14 + 0 + 7 + 7) / 6)
    # recent = received after 2025-03-31 (91 days before as_of): P4 0, P5 7, P6 7 -> 14/3; past: P1 0, P2 7, P3 14 -> 7
    assert v1["lateness_trend_days"] == pytest.approx(14 / 3 - 7)
    assert v1["source"] == "receipts"


def test_nominal_supplier_uses_default_cv() -> None:
    result = estimate_lead_times(PO, ITEMS, SUPPLIERS, AS_OF, PolicyConfig(nominal_lead_time_cv=0.2))
    v2 = result.per_supplier.set_index("supplier_id").loc["V2"]
    assert v2["receipts"] == 0 and v2["source"] == "nominal"
    assert v2["lead_time_weeks_mean"] == pytest.approx(3.0)
    assert v2["lead_time_weeks_sd"] == pytest.approx(0.6)
    c = result.per_sku.set_index("sku").loc["C"]
    assert c["source"] == "nominal" and c["lead_time_weeks_mean"] == pytest.approx(3.0)
    assert c["lead_time_weeks_sd"] == pytest.approx(0.6)


def test_sku_own_statistics_and_shrinkage_to_supplier() -> None:
    result = estimate_lead_times(PO, ITEMS, SUPPLIERS, AS_OF, PolicyConfig(min_receipts_for_sku_lead_time=5))
    per_sku = result.per_sku.set_index("sku")
    own = np.array([2, 3, 4, 2, 3], dtype=float)
    a = per_sku.loc["A"]
    assert a["source"] == "sku" and a["receipts"] == 5
    assert a["lead_time_weeks_mean"] == pytest.approx(own.mean())
    assert a["lead_time_weeks_sd"] == pytest.approx(own.std(ddof=1))
    # B: one receipt (5 weeks) -> weight 1/5 on its own mean, 4/5 on the supplier's (19/6 weeks)
    b = per_sku.loc["B"]
    supplier_mean, supplier_sd = 19 / 6, np.array([2, 3, 4, 2, 3, 5.0]).std(ddof=1)
    assert b["source"] == "supplier" and b["receipts"] == 1
    assert b["lead_time_weeks_mean"] == pytest.approx(0.2 * 5 + 0.8 * supplier_mean)
    mixture_var = supplier_sd**2 + 0.2 * 0.8 * (5 - supplier_mean) ** 2  # own sd unknown -> supplier's
    assert b["lead_time_weeks_sd"] == pytest.approx(np.sqrt(mixture_var))
    assert list(result.per_sku["sku"]) == ["A", "B", "C"]


def test_no_purchase_orders_at_all() -> None:
    empty = PO.iloc[:0]
    result = estimate_lead_times(empty, ITEMS, SUPPLIERS, AS_OF, PolicyConfig())
    assert (result.per_sku["source"] == "nominal").all()
    assert result.per_sku.set_index("sku").loc["A", "lead_time_weeks_mean"] == pytest.approx(2.0)
