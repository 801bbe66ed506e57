"""Stock projection and backorder risk: hand-built SKU, order-by arithmetic, loop equality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PlanningInputs,
    PolicyConfig,
    build_planning_inputs,
    project_risk,
)
from safestock.models.inventory.distribution import _count_params
from scipy import stats

AS_OF = pd.Timestamp("2026-01-07")          # a Wednesday
FIRST_WEEK = pd.Timestamp("2026-01-12")     # Monday of the next ISO week


def _lead_times(skus, p90: float = 2.0, late_days: float = 7.0) -> LeadTimes:
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": 1.5,
                            "lead_time_weeks_sd": 0.3, "lead_time_weeks_p90": p90, "receipts": 9, "source": "sku"})
    per_supplier = pd.DataFrame({"supplier_id": ["V1"], "lead_time_weeks_mean": [1.5], "lead_time_weeks_sd": [0.3],
                                 "lead_time_weeks_p90": [p90], "on_time_rate": [0.5], "receipts": [9],
                                 "mean_days_late": [late_days], "lateness_trend_days": [0.0]})
    return LeadTimes(per_sku=per_sku, per_supplier=per_supplier)


def _inputs(skus, inventory: pd.DataFrame, purchase_orders: pd.DataFrame, lead_times: LeadTimes,
            unit_cost: float = 2.0) -> PlanningInputs:
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": unit_cost,
                          "pack_size": 1.0, "moq": 0.0, "service_level": np.nan, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [10.0],
                              "review_period_days": [7.0], "min_order_value": [0.0]})
    return build_planning_inputs(skus, items, suppliers, lead_times, inventory, purchase_orders, AS_OF)


def _policy(skus, protection_mean, protection_sd) -> pd.DataFrame:
    return pd.DataFrame({"sku": skus, "supplier_id": "V1", "protection_demand_mean": protection_mean,
                         "protection_demand_sd": protection_sd})


def _orders(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
                                        "received_date", "received_quantity", "status"])
    for column in ("order_date", "expected_date", "received_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_hand_built_projection_with_open_partial_po_and_backorders() -> None:
    skus = np.array(["X"])
    inventory = pd.DataFrame({"sku": ["X"], "on_hand": [100.0], "backordered": [20.0], "as_of": [AS_OF]})
    po = _orders([
        # open, 40 of 100 already received -> 60 remaining; due 2026-01-19 (week 2) + 7 days late -> week 3
        ("P1", "X", "V1", 100, "2025-12-20", "2026-01-19", "2026-01-05", 40, "open"),
        # closed short shipment: nothing more to come
        ("P2", "X", "V1", 50, "2025-12-01", "2025-12-15", "2025-12-16", 30, "closed"),
        # far beyond the 8-week horizon: counts in on_order only
        ("P3", "X", "V1", 25, "2026-01-02", "2026-06-01", None, None, "open"),
    ])
    mean, sd = np.full((1, 8), 30.0), np.zeros((1, 8))
    config = PolicyConfig(horizon_weeks=8)
    projection, risk = project_risk(_inputs(skus, inventory, po, _lead_times(skus)), mean, sd, np.array(["normal"]),
                                    FIRST_WEEK, _policy(skus, 45.0, 10.0), config)
    # net 80; -30/week; +60 in week 3: 50, 20, 50, 20, -10, -40, -70, -100
    assert list(projection["on_hand_expected"]) == pytest.approx([50, 20, 50, 20, -10, -40, -70, -100])
    assert list(projection["receipts"]) == pytest.approx([0, 0, 60, 0, 0, 0, 0, 0])
    assert list(projection["backorder_probability"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert list(projection["expected_backorder_units"]) == pytest.approx([0, 0, 0, 0, 10, 40, 70, 100])
    assert projection["week"].iloc[2] == pd.Timestamp("2026-01-26") and projection["step"].iloc[2] == 3
    r = risk.iloc[0]
    assert r["on_order"] == pytest.approx(85.0)
    assert r["inventory_position"] == pytest.approx(100 + 85 - 20)
    assert r["weeks_of_cover"] == pytest.approx(80 / 30)
    # protection demand N(45, 10): position 165 -> P ~ 0; the value uses the unit cost
    assert r["stockout_probability"] == pytest.approx(stats.norm.sf(165, 45, 10))
    assert r["projected_stockout_week"] == pd.Timestamp("2026-02-09")  # week 5
    # order-by = stock-out week - p90 lead time (2 weeks = 14 days)
    assert r["order_by"] == pd.Timestamp("2026-01-26")


def test_risk_probability_loss_and_order_by_clipped_at_as_of() -> None:
    skus = np.array(["Y"])
    inventory = pd.DataFrame({"sku": ["Y"], "on_hand": [10.0], "backordered": [0.0], "as_of": [AS_OF]})
    po = _orders([])
    inputs = _inputs(skus, inventory, po, _lead_times(skus, p90=6.0), unit_cost=3.0)
    projection, risk = project_risk(inputs, np.full((1, 6), 8.0), np.full((1, 6), 4.0), np.array(["normal"]),
                                    FIRST_WEEK, _policy(skus, 20.0, 5.0), PolicyConfig(horizon_weeks=6))
    r = risk.iloc[0]
    assert r["stockout_probability"] == pytest.approx(stats.norm.sf(10, 20, 5))
    ebo = 5 * (stats.norm.pdf(-2) + 2 * stats.norm.sf(-2))  # sigma G(k), k = (10-20)/5 = -2
    assert r["expected_backorder_units"] == pytest.approx(ebo)
    assert r["expected_backorder_value"] == pytest.approx(3 * ebo)
    # P(D_1 > 10) = P(N(8, 4) > 10) = 0.31; P(D_2 > 10) = P(N(16, 5.66) > 10) = 0.86 -> week 2
    assert projection["backorder_probability"].iloc[1] == pytest.approx(stats.norm.sf(10, 16, np.sqrt(32)))
    assert r["projected_stockout_week"] == FIRST_WEEK + pd.Timedelta(days=7)
    assert r["order_by"] == AS_OF  # 2026-01-19 - 42 days is before as_of


def _loop_reference(on_hand, backordered, receipts, mean, sd, family):
    """Plain per-SKU, per-week loop with scipy.stats (the reference for the vectorised code)."""
    n, h = mean.shape
    prob, ebo = np.zeros((n, h)), np.zeros((n, h))
    for i in range(n):
        cumulative_mean = cumulative_var = 0.0
        available = on_hand[i] - backordered[i]
        for t in range(h):
            cumulative_mean += mean[i, t]
            cumulative_var += sd[i, t] ** 2
            available += receipts[i, t]
            if family[i] == "normal":
                dist = stats.norm(cumulative_mean, np.sqrt(cumulative_var))
                prob[i, t] = dist.sf(available)
                ebo[i, t] = dist.expect(lambda d: np.maximum(d - available, 0), lb=available) if cumulative_var else 0
            else:
                r, p, negbin = _count_params(np.array(cumulative_mean), np.array(cumulative_var))
                dist = stats.nbinom(r, p) if negbin else stats.poisson(cumulative_mean)
                prob[i, t] = dist.sf(np.floor(available)) if available >= 0 else 1.0
                k = np.arange(0, int(cumulative_mean + 40 * np.sqrt(cumulative_var) + 50))
                ebo[i, t] = np.sum(np.maximum(k - available, 0) * dist.pmf(k))
    return prob, ebo


def test_vectorised_projection_equals_plain_loop() -> None:
    rng = np.random.default_rng(11)
    n, h = 12, 6
    skus = np.array([f"S{i}" for i in range(n)])
    family = np.array(["normal", "poisson", "negbin"] * 4)
    mean = rng.uniform(0.5, 20, (n, h))
    sd = np.where(family[:, None] == "poisson", np.sqrt(mean), np.sqrt(mean) * rng.uniform(1.2, 2.5, (n, 1)))
    on_hand = rng.integers(0, 60, n).astype(float)
    backordered = rng.integers(0, 5, n).astype(float)
    inventory = pd.DataFrame({"sku": skus, "on_hand": on_hand, "backordered": backordered, "as_of": AS_OF})
    rows = [(f"P{i}", skus[i], "V1", 30, "2025-12-01", str((FIRST_WEEK + pd.Timedelta(days=7 * (i % h))).date()),
             None, None, "open") for i in range(0, n, 2)]
    inputs = _inputs(skus, inventory, _orders(rows), _lead_times(skus, late_days=0.0))
    projection, _ = project_risk(inputs, mean, sd, family, FIRST_WEEK, _policy(skus, 10.0, 3.0),
                                 PolicyConfig(horizon_weeks=h))
    receipts = projection["receipts"].to_numpy().reshape(n, h)
    expected_receipts = np.zeros((n, h))
    for i in range(0, n, 2):
        expected_receipts[i, i % h] = 30
    np.testing.assert_allclose(receipts, expected_receipts)
    prob, ebo = _loop_reference(on_hand, backordered, receipts, mean, sd, family)
    np.testing.assert_allclose(projection["backorder_probability"].to_numpy().reshape(n, h), prob, atol=1e-9)
    np.testing.assert_allclose(projection["expected_backorder_units"].to_numpy().reshape(n, h), ebo,
                               rtol=1e-6, atol=1e-7)
