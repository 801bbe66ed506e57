"""Weeks of cover and safety stock a planner can read (issue 19.6): never negative, NULL only with
a stated meaning; numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PolicyConfig,
    build_planning_inputs,
    compute_policy,
    project_risk,
)
from safestock.models.inventory.projection import weeks_of_cover

AS_OF = pd.Timestamp("2026-01-07")
FIRST_WEEK = pd.Timestamp("2026-01-12")


def _inputs(skus: list[str], on_hand: list[float], backordered: list[float], *, lead_weeks: float = 1.0,
            review_days: float = 7.0, service_level: float = np.nan):
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": 2.0,
                          "pack_size": 1.0, "moq": 0.0, "service_level": service_level, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [7.0],
                              "review_period_days": [review_days], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": lead_weeks,
                            "lead_time_weeks_sd": 0.0, "lead_time_weeks_p90": lead_weeks, "receipts": 9,
                            "source": "sku"})
    per_supplier = pd.DataFrame({"supplier_id": ["V1"], "lead_time_weeks_mean": [lead_weeks],
                                 "lead_time_weeks_sd": [0.0], "lead_time_weeks_p90": [lead_weeks],
                                 "on_time_rate": [1.0], "receipts": [9], "mean_days_late": [0.0],
                                 "lateness_trend_days": [0.0]})
    inventory = pd.DataFrame({"sku": skus, "on_hand": on_hand, "backordered": backordered, "as_of": AS_OF})
    no_orders = pd.DataFrame(columns=["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
                                      "received_date", "received_quantity", "status"])
    return build_planning_inputs(np.array(skus), items, suppliers, LeadTimes(per_sku, per_supplier), inventory,
                                 no_orders, AS_OF)


def test_weeks_of_cover_for_backorders_and_zero_forecasts() -> None:
    # on hand, backordered, weekly forecast -> cover, worked by hand:
    #   P: 60 - 0 = 60 net, 20/week        -> 60 / 20 = 3.0 weeks
    #   B: 50 - 80 = -30 net, 10/week       -> 0 (was -3.0: backorders take all the stock)
    #   Z: 40 - 0 = 40 net, no forecast     -> NaN: stock that is not drawn down has no finite cover
    #   N: 0 - 5 = -5 net, no forecast      -> 0 (nothing on the shelf; was NaN)
    #   E: 0 - 0 = 0 net, 4/week            -> 0
    skus = ["P", "B", "Z", "N", "E"]
    weekly = np.array([20.0, 10.0, 0.0, 0.0, 4.0])
    inputs = _inputs(skus, [60.0, 50.0, 40.0, 0.0, 0.0], [0.0, 80.0, 0.0, 5.0, 0.0])
    policy = pd.DataFrame({"sku": skus, "supplier_id": "V1", "protection_demand_mean": 2 * weekly,
                           "protection_demand_sd": 1.0})
    mean = np.repeat(weekly[:, None], 8, axis=1)
    _, risk = project_risk(inputs, mean, np.full((5, 8), 1.0), np.full(5, "normal"), FIRST_WEEK, policy,
                           PolicyConfig(horizon_weeks=8))
    cover = risk.set_index("sku")["weeks_of_cover"]
    assert cover["P"] == pytest.approx(3.0)
    assert cover["B"] == 0.0 and cover["N"] == 0.0 and cover["E"] == 0.0
    assert np.isnan(cover["Z"])
    assert (risk["weeks_of_cover"].dropna() >= 0).all()
    # the inventory position keeps the signed figure a planner needs to see the backorders
    assert risk.set_index("sku").loc["B", "inventory_position"] == -30.0


def test_weeks_of_cover_function_matches_its_rule() -> None:
    net = np.array([12.0, -4.0, 0.0, 7.0, -1.0])
    weekly = np.array([4.0, 2.0, 3.0, 0.0, 0.0])
    np.testing.assert_array_equal(weeks_of_cover(net, weekly), [3.0, 0.0, 0.0, np.nan, 0.0])


def test_safety_stock_never_negative_and_the_method_says_why() -> None:
    # Two Poisson SKUs, lead time 1 week, review 1 week -> protection interval P = 2 weeks, textbook
    # (R, s, S) without the undershoot correction, so s is the cycle quantile of Poisson(2 d):
    #   LOW:  0.3/week -> Poisson(0.6); target 0.5: P(X <= 0) = e^-0.6 = 0.5488 >= 0.5 -> s = 0,
    #         s - mu_P = -0.6 -> safety stock 0 (was -0.6), method '...+s_below_mean'
    #   HIGH: 5/week -> Poisson(10); target 0.9: P(X <= 13) = 0.8645, P(X <= 14) = 0.9165 -> s = 14,
    #         safety stock 14 - 10 = 4, no suffix
    inputs = _inputs(["LOW", "HIGH"], [0.0, 0.0], [0.0, 0.0])
    inputs_levels = np.array([0.5, 0.9])
    inputs = type(inputs)(**{**vars(inputs), "service_level": inputs_levels})
    mean = np.array([np.full(26, 0.3), np.full(26, 5.0)])
    config = PolicyConfig(undershoot_correction=False, lattice_undershoot=False, lead_time_mixture=False)
    policy = compute_policy(inputs, mean, np.sqrt(mean), np.array(["poisson", "poisson"]),
                            np.array(["smooth", "smooth"]), np.array(["C", "C"]), config).set_index("sku")
    assert policy.loc["LOW", "protection_demand_mean"] == pytest.approx(0.6)
    assert policy.loc["LOW", "reorder_point"] == 0.0
    assert policy.loc["LOW", "safety_stock"] == 0.0
    assert policy.loc["LOW", "method"] == "cycle/poisson+s_below_mean"
    assert policy.loc["HIGH", "reorder_point"] == 14.0
    assert policy.loc["HIGH", "safety_stock"] == pytest.approx(4.0)
    assert policy.loc["HIGH", "method"] == "cycle/poisson"


def test_long_review_with_undershoot_puts_s_below_the_interval_mean() -> None:
    # The demo's case: normal demand 100/week (sd 10), lead time 1 week, review 4 weeks, target 0.9.
    # With the undershoot correction s protects D_L + U (mean about 100 + E[U] < mu_P = 500), so
    # s - mu_P < 0: safety stock 0, the reorder point unchanged and flagged.
    inputs = _inputs(["R4"], [0.0], [0.0], review_days=28.0, service_level=0.9)
    policy = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 10.0), np.array(["normal"]),
                            np.array(["smooth"]), np.array(["A"]), PolicyConfig()).iloc[0]
    assert policy["protection_demand_mean"] == pytest.approx(500.0)
    assert policy["reorder_point"] < 500.0
    assert policy["safety_stock"] == 0.0
    assert policy["method"].endswith("+s_below_mean")
