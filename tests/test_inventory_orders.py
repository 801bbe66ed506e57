"""Order recommendations: triggers, pack / MOQ rounding, supplier minimum top-up and deferral; rollup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PolicyConfig,
    build_planning_inputs,
    recommend_orders,
    rollup_suppliers,
)

AS_OF = pd.Timestamp("2026-01-07")
NAT = pd.NaT

#           sku  sup   IP   ROP   S   SS  pack moq cost  status          p     stock-out week        order_by
LINES = [("A", "V1", 40, 95, 200, 30, 12, 0, 1.0, "active", 0.62, "2026-03-02", "2026-02-16"),
         ("B", "V1", 10, 20, 25, 5, 1, 50, 1.0, "active", 0.40, None, None),
         ("C", "V1", 100, 50, 150, 10, 1, 0, 1.0, "active", 0.01, None, None),
         ("D", "V1", 0, 20, 60, 5, 1, 0, 1.0, "discontinued", 0.99, "2026-01-12", "2026-01-07"),
         ("E", "V1", 60, 50, 120, 10, 1, 0, 1.0, "active", 0.30, "2026-01-26", "2026-01-09"),
         ("F", "V2", 0, 5, 10, 2, 5, 0, 10.0, "active", 0.80, "2026-01-19", "2026-01-07"),
         ("G", "V2", 0, 20, 30, 5, 10, 0, 2.0, "active", 0.30, None, None)]


def _frames(min_order_v2: float = 500.0):
    t = pd.DataFrame(LINES, columns=["sku", "supplier_id", "ip", "rop", "S", "ss", "pack", "moq", "cost", "status",
                                     "p", "stockout", "order_by"])
    policy = pd.DataFrame({"sku": t["sku"], "supplier_id": t["supplier_id"], "reorder_point": t["rop"].astype(float),
                           "order_up_to": t["S"].astype(float), "safety_stock": t["ss"].astype(float),
                           "demand_per_week_mean": 28.0, "review_period_weeks": 1.0, "lead_time_weeks_mean": 2.0,
                           "method": np.where(t["status"] == "discontinued", "discontinued", "cycle/normal")})
    risk = pd.DataFrame({"sku": t["sku"], "supplier_id": t["supplier_id"], "inventory_position": t["ip"].astype(float),
                         "stockout_probability": t["p"], "expected_backorder_units": t["p"] * 10,
                         "expected_backorder_value": t["p"] * 10 * t["cost"],
                         "projected_stockout_week": pd.to_datetime(t["stockout"]),
                         "order_by": pd.to_datetime(t["order_by"])})
    items = pd.DataFrame({"sku": t["sku"], "supplier_id": t["supplier_id"], "description": "",
                          "unit_cost": t["cost"], "pack_size": t["pack"].astype(float), "moq": t["moq"].astype(float),
                          "service_level": np.nan, "status": t["status"]})
    suppliers = pd.DataFrame({"supplier_id": ["V1", "V2", "V3"], "name": ["One", "Two", "Three"],
                              "lead_time_days": [14.0, 14.0, 7.0], "review_period_days": [7.0, 7.0, 7.0],
                              "min_order_value": [0.0, min_order_v2, 0.0]})
    per_supplier = pd.DataFrame({"supplier_id": ["V1", "V2", "V3"], "lead_time_weeks_mean": [2.0, 2.0, 1.0],
                                 "lead_time_weeks_sd": 0.2, "lead_time_weeks_p90": [2.5, 2.6, 1.0],
                                 "on_time_rate": [0.9, 0.5, np.nan], "receipts": [10, 4, 0],
                                 "mean_days_late": [1.0, 6.0, np.nan], "lateness_trend_days": [0.0, 3.0, np.nan]})
    per_sku = pd.DataFrame({"sku": t["sku"], "supplier_id": t["supplier_id"], "lead_time_weeks_mean": 2.0,
                            "lead_time_weeks_sd": 0.2, "lead_time_weeks_p90": 2.5, "receipts": 10, "source": "sku"})
    lead = LeadTimes(per_sku=per_sku, per_supplier=per_supplier)
    inputs = build_planning_inputs(t["sku"].to_numpy(), items, suppliers, lead, as_of=AS_OF)
    return inputs, policy, risk, suppliers, lead


def test_triggers_rounding_and_reason() -> None:
    inputs, policy, risk, _, _ = _frames(min_order_v2=0.0)
    orders = recommend_orders(inputs, policy, risk, PolicyConfig()).set_index("sku")
    # C above s with no urgent stock-out; D discontinued
    assert sorted(orders.index) == ["A", "B", "E", "F", "G"]
    # A: 200 - 40 = 160 -> 14 packs of 12 = 168
    assert orders.loc["A", "order_quantity"] == 168 and orders.loc["A", "packs"] == 14
    # B: need 15 but MOQ 50 (pack 1) -> 50
    assert orders.loc["B", "order_quantity"] == 50
    # E: above s, but order_by 2026-01-09 is before the next review 2026-01-14 -> 120 - 60
    assert orders.loc["E", "order_quantity"] == 60
    assert "before the next review" in orders.loc["E", "reason"]
    # protection interval = 2 weeks mean lead time + 1 week review; p = 0.62; stock-out week 2026-03-02
    assert orders.loc["A", "reason"] == ("position 40 <= reorder point 95 (safety stock 30); P(stock-out within lead "
                                         "time + review, 3.0 weeks) 62 %; without new orders a stock-out is more "
                                         "likely than not from the week of 2026-03-02; order covers 6.0 weeks")
    assert orders.loc["A", "order_by"] == pd.Timestamp("2026-02-16")
    assert orders.loc["B", "order_by"] == AS_OF
    # arrival when placed on its order-by date: 2026-02-16 + 2 weeks mean lead time
    assert orders.loc["A", "expected_arrival"] == pd.Timestamp("2026-03-02")
    assert orders.loc["B", "expected_arrival"] == AS_OF + pd.Timedelta(days=14)
    assert orders.loc["F", "line_value"] == pytest.approx(100.0)
    assert (orders["status"] == "recommended").all()


def test_reason_never_calls_an_unlikely_stock_out_expected() -> None:
    """Issue 19.7: "stock-out expected week of … (p=0.04)" called a 4 % chance expected."""
    inputs, policy, risk, _, _ = _frames(min_order_v2=0.0)
    risk = risk.assign(stockout_probability=[0.04, 0.004, 0.01, 0.99, 0.9999, 0.80, 0.30])
    orders = recommend_orders(inputs, policy, risk, PolicyConfig()).set_index("sku")
    assert not orders["reason"].str.contains("expected").any()
    assert "review, 3.0 weeks) 4 %; without new orders a stock-out is more likely than not from the week of 2026-03-02" \
        in orders.loc["A", "reason"]
    assert "review, 3.0 weeks) <1 %; no stock-out projected in the horizon" in orders.loc["B", "reason"]
    assert "review, 3.0 weeks) >99 %; without new orders" in orders.loc["E", "reason"]
    assert "review, 3.0 weeks) 80 %;" in orders.loc["F", "reason"]


def test_min_order_value_deferral_when_top_up_exceeds_cap() -> None:
    inputs, policy, risk, _, _ = _frames(min_order_v2=500.0)
    orders = recommend_orders(inputs, policy, risk, PolicyConfig()).set_index("sku")
    # V2 lines F (2 packs of 5 at 10 = 100) and G (3 packs of 10 at 2 = 60): 160 < 500, top-up 340 > cap 160
    assert list(orders.loc[["F", "G"], "status"]) == ["deferred", "deferred"]
    assert orders.loc["F", "reason"].startswith("deferred: supplier order 160.00 below minimum 500.00")
    assert list(orders.loc[["F", "G"], "packs"]) == [2, 3]
    assert orders.loc["A", "status"] == "recommended"


def test_min_order_value_top_up_by_packs_in_risk_order() -> None:
    inputs, policy, risk, _, _ = _frames(min_order_v2=500.0)
    orders = recommend_orders(inputs, policy, risk, PolicyConfig(max_top_up_ratio=3.0)).set_index("sku")
    # shortfall 340; one round of a pack each = 50 + 20 = 70: 4 rounds (280) + F (60 left, +50) + G (+20)
    assert list(orders.loc[["F", "G"], "packs"]) == [2 + 5, 3 + 5]
    v2_total = orders.loc[["F", "G"], "line_value"].sum()
    assert v2_total == pytest.approx(7 * 50 + 8 * 20) and v2_total >= 500
    assert (orders.loc[["F", "G"], "status"] == "recommended").all()
    assert "topped up 5 pack(s)" in orders.loc["F", "reason"]


def test_top_up_stops_as_soon_as_minimum_met() -> None:
    inputs, policy, risk, _, _ = _frames(min_order_v2=190.0)
    orders = recommend_orders(inputs, policy, risk, PolicyConfig()).set_index("sku")
    # shortfall 30: F (highest risk) +1 pack (50) is enough; G untouched
    assert list(orders.loc[["F", "G"], "packs"]) == [3, 3]


def test_supplier_rollup() -> None:
    _, _, risk, suppliers, lead = _frames()
    rollup = rollup_suppliers(risk, suppliers, lead, PolicyConfig(at_risk_probability=0.5)).set_index("supplier_id")
    assert rollup.loc["V1", "skus"] == 5 and rollup.loc["V1", "skus_at_risk"] == 2   # A 0.62, D 0.99
    assert rollup.loc["V2", "skus_at_risk"] == 1
    assert rollup.loc["V2", "expected_backorder_value"] == pytest.approx(0.8 * 10 * 10 + 0.3 * 10 * 2)
    assert rollup.loc["V3", "skus"] == 0 and rollup.loc["V3", "name"] == "Three"
    assert rollup.loc["V2", "on_time_rate"] == 0.5 and rollup.loc["V2", "mean_days_late"] == 6.0
