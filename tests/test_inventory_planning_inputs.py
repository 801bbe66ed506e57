"""build_planning_inputs: the frames aligned once to the SKU order, by hand-checked rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PolicyConfig,
    build_planning_inputs,
    compute_policy,
    project_risk,
    recommend_orders,
)

AS_OF = pd.Timestamp("2026-01-07")

ITEMS = pd.DataFrame({
    "sku": ["A", "B", "C", "A", "D"],
    "supplier_id": ["V1", "V2", None, "V9", "V3"],
    "description": "",
    "unit_cost": [2.0, 3.0, 4.0, 99.0, 5.0],
    "pack_size": [6.0, 1.0, 1.0, 1.0, 12.0],
    "moq": [0.0, 10.0, 0.0, 0.0, 0.0],
    "service_level": [np.nan, 0.97, np.nan, 0.5, np.nan],
    "status": ["active", "DISCONTINUED", "active", "discontinued", "active"],
})
SUPPLIERS = pd.DataFrame({"supplier_id": ["V1", "V2", "V3", "V4"], "name": ["One", "Two", "Three", "Four"],
                          "lead_time_days": 14.0, "review_period_days": [14.0, np.nan, -3.0, 7.0],
                          "min_order_value": [100.0, np.nan, 0.0, 50.0]})
PER_SKU = pd.DataFrame({"sku": ["A", "B", "C", "D"], "supplier_id": ["V1", "V2", "V4", "V3"],
                        "lead_time_weeks_mean": [2.0, 3.0, 1.0, 4.0], "lead_time_weeks_sd": [0.5, 0.0, 0.1, 1.0],
                        "lead_time_weeks_p90": [2.5, 3.0, 1.2, 5.0], "receipts": 5, "source": "sku"})
PER_SUPPLIER = pd.DataFrame({"supplier_id": ["V1", "V2", "V3", "V4"], "mean_days_late": [3.0, np.nan, -2.0, 0.0]})
LEAD = LeadTimes(per_sku=PER_SKU, per_supplier=PER_SUPPLIER)
INVENTORY = pd.DataFrame({"sku": ["C", "A", "A"], "on_hand": [7.0, 20.0, 1.0], "backordered": [np.nan, 4.0, 0.0]})
PURCHASE_ORDERS = pd.DataFrame({
    "po_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
    "sku": ["A", "ZZ", "C", "A", "D", "C"],
    "supplier_id": ["V1", "V1", None, "V1", None, "V4"],
    "quantity": [50.0, 9.0, 30.0, 40.0, 12.0, 5.0],
    "order_date": pd.to_datetime(["2025-12-20", "2025-12-20", "2026-01-01", "2025-11-01", None, "2026-01-02"]),
    "expected_date": pd.to_datetime(["2026-01-19", "2026-01-19", None, "2025-11-20", None, "2026-01-30"]),
    "received_date": pd.to_datetime([None, None, None, "2025-11-21", None, "2026-01-05"]),
    "received_quantity": [20.0, np.nan, np.nan, 40.0, np.nan, 5.0],
    "status": ["open", "open", "open", "closed", "OPEN", "open"],
})


def test_frames_aligned_to_the_sku_order() -> None:
    inputs = build_planning_inputs(np.array(["D", "C", "A", "B", "X"]), ITEMS, SUPPLIERS, LEAD, INVENTORY,
                                   PURCHASE_ORDERS, AS_OF)
    np.testing.assert_array_equal(inputs.sku, ["D", "C", "A", "B", "X"])
    # first item row per sku; C has no supplier of its own: the lead-time table's (V4); X: none at all
    assert list(inputs.supplier_id[:4]) == ["V3", "V4", "V1", "V2"] and pd.isna(inputs.supplier_id[4])
    np.testing.assert_array_equal(inputs.unit_cost, [5.0, 4.0, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(inputs.pack_size, [12.0, 1.0, 6.0, 1.0, np.nan])
    np.testing.assert_array_equal(inputs.moq, [0.0, 0.0, 0.0, 10.0, np.nan])
    np.testing.assert_array_equal(inputs.service_level, [np.nan, np.nan, np.nan, 0.97, np.nan])
    assert list(inputs.discontinued) == [False, False, False, True, False]
    # review: V3 negative -> 0; V4 7 days; V1 14 days; V2 missing -> 7 days; no supplier -> 7 days
    np.testing.assert_array_equal(inputs.review_period_weeks, [0.0, 1.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(inputs.min_order_value, [0.0, 50.0, 100.0, 0.0, 0.0])
    np.testing.assert_array_equal(inputs.lead_time_weeks_mean, [4.0, 1.0, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(inputs.lead_time_weeks_p90, [5.0, 1.2, 2.5, 3.0, np.nan])
    # first inventory row per sku; NaN backorders and SKUs without a row -> 0
    np.testing.assert_array_equal(inputs.on_hand, [0.0, 7.0, 20.0, 0.0, 0.0])
    np.testing.assert_array_equal(inputs.backordered, [0.0, 0.0, 4.0, 0.0, 0.0])
    assert inputs.as_of == AS_OF


def test_open_order_lines_resolved_to_sku_rows() -> None:
    inputs = build_planning_inputs(np.array(["D", "C", "A", "B"]), ITEMS, SUPPLIERS, LEAD, INVENTORY,
                                   PURCHASE_ORDERS, AS_OF)
    # P1 (A): 30 remaining, expected 2026-01-19 + 3 days V1 lateness; P2 unknown SKU and P4 closed: dropped;
    # P3 (C, no expected date): ordered 2026-01-01 + 1 week lead, no lateness shift; P5 (D, 'OPEN', no dates):
    # as_of + 4 weeks; P6 (C): not closed, received -> 0 remaining, still an open line
    np.testing.assert_array_equal(inputs.open_order_row, [2, 1, 0, 1])
    np.testing.assert_array_equal(inputs.open_order_quantity, [30.0, 30.0, 12.0, 0.0])
    assert list(pd.DatetimeIndex(inputs.open_order_arrival)) == [
        pd.Timestamp("2026-01-22"), pd.Timestamp("2026-01-08"), AS_OF + pd.Timedelta(days=28),
        pd.Timestamp("2026-01-30")]


def test_policy_follows_the_inputs_order() -> None:
    """compute_policy reads the aligned arrays: the rows are the inputs' SKUs in their order, equal
    row for row to the inputs of the same SKUs in another order."""
    skus = np.array(["D", "C", "A", "B"])
    rng = np.random.default_rng(5)
    mean = rng.gamma(2.0, 5.0, size=(4, 26))
    sd = np.sqrt(mean) * 1.3
    family, classes = np.array(["normal", "negbin", "normal", "poisson"]), np.full(4, "smooth")
    abc = np.array(["A", "B", "C", "A"])
    config = PolicyConfig()
    policy = compute_policy(build_planning_inputs(skus, ITEMS, SUPPLIERS, LEAD), mean, sd, family, classes, abc,
                            config)
    assert list(policy["sku"]) == list(skus)
    order = np.array([2, 0, 3, 1])
    reordered = compute_policy(build_planning_inputs(skus[order], ITEMS, SUPPLIERS, LEAD), mean[order], sd[order],
                               family[order], classes[order], abc[order], config)
    pd.testing.assert_frame_equal(reordered, policy.iloc[order].reset_index(drop=True))
    assert list(policy["supplier_id"]) == ["V3", "V4", "V1", "V2"]
    assert list(policy["review_period_weeks"]) == [0.0, 1.0, 2.0, 1.0]
    assert policy.loc[3, "method"] == "discontinued" and policy.loc[3, "service_level"] == 0.97


def test_misaligned_or_incomplete_inputs_are_refused() -> None:
    skus = np.array(["A", "C"])
    inputs = build_planning_inputs(skus, ITEMS, SUPPLIERS, LEAD, INVENTORY, PURCHASE_ORDERS, AS_OF)
    mean, sd = np.full((2, 8), 3.0), np.ones((2, 8))
    policy = compute_policy(inputs, mean, sd, np.full(2, "normal"), np.full(2, "smooth"), np.full(2, "B"),
                            PolicyConfig())
    first_week = pd.Timestamp("2026-01-12")
    with pytest.raises(ValueError, match="not the planning inputs' SKUs"):
        project_risk(inputs, mean, sd, np.full(2, "normal"), first_week, policy.iloc[::-1], PolicyConfig())
    _, risk = project_risk(inputs, mean, sd, np.full(2, "normal"), first_week, policy, PolicyConfig())
    with pytest.raises(ValueError, match="risk rows"):
        recommend_orders(inputs, policy, risk.iloc[:1], PolicyConfig())
    policy_only = build_planning_inputs(skus, ITEMS, SUPPLIERS, LEAD)
    assert policy_only.as_of is None and len(policy_only.open_order_row) == 0
    with pytest.raises(ValueError, match="without as_of"):
        recommend_orders(policy_only, policy, risk, PolicyConfig())
    with pytest.raises(ValueError, match="need as_of"):
        build_planning_inputs(skus, ITEMS, SUPPLIERS, LEAD, INVENTORY, PURCHASE_ORDERS)
    with pytest.raises(ValueError, match="service_level has 3 values for 2 SKUs"):
        dataclasses.replace(inputs, service_level=np.full(3, 0.9))
    with pytest.raises(ValueError, match="forecast has 3 rows for 2 SKUs"):
        compute_policy(inputs, np.ones((3, 8)), np.ones((3, 8)), np.full(3, "normal"), np.full(3, "smooth"),
                       np.full(3, "B"), PolicyConfig())
