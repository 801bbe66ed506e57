"""Policy maths against hand-worked textbook formulas (Silver, Pyke & Thomas 4th ed., ch. 4 and 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PlanningInputs,
    PolicyConfig,
    build_planning_inputs,
    compute_policy,
)
from safestock.models.inventory.distribution import (
    fill_rate_level,
    loss,
    normal_loss_function,
    quantile,
)
from safestock.models.inventory.policy import cumulative_at
from safestock.models.inventory.undershoot import undershoot_moments
from scipy import stats


def _inputs(n: int = 1, *, unit_cost: float = 10.0, review_days: float = 0.0, lead_mean: float = 4.0,
            lead_sd: float = 1.0, service_level: float = np.nan, status: str | list[str] = "active") -> PlanningInputs:
    skus = np.array([f"S{i}" for i in range(n)])
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": unit_cost,
                          "pack_size": 1.0, "moq": 0.0, "service_level": service_level, "status": status})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [28.0],
                              "review_period_days": [review_days], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": lead_mean,
                            "lead_time_weeks_sd": lead_sd, "lead_time_weeks_p90": lead_mean + 1.28 * lead_sd,
                            "receipts": 10, "source": "sku"})
    return build_planning_inputs(skus, items, suppliers, LeadTimes(per_sku=per_sku, per_supplier=pd.DataFrame()))


def test_safety_stock_with_variable_lead_time_worked_example() -> None:
    # SPT ch. 6, variable lead time: sigma = sqrt(E[L] sd_d^2 + d^2 sd_L^2), continuous review (R = 0).
    # d = 100/week, sd_d = 20, L = 4 weeks, sd_L = 1 week:
    # sigma = sqrt(4*400 + 100^2*1) = sqrt(11600) = 107.703; z(0.95) = 1.6449 -> SS = 177.16, s = 577.16.
    # (the two-moment normal: PolicyConfig(lead_time_mixture=False); the default mixture is below)
    inputs = _inputs(service_level=0.95)
    policy = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 20.0), np.array(["normal"]),
                            np.array(["smooth"]), np.array(["A"]),
                            PolicyConfig(lead_time_mixture=False))
    row = policy.iloc[0]
    assert row["protection_demand_mean"] == pytest.approx(400.0)
    assert row["protection_demand_sd"] == pytest.approx(107.703, abs=1e-3)
    assert row["safety_stock"] == pytest.approx(177.16, abs=0.01)
    assert row["reorder_point"] == pytest.approx(577.16, abs=0.01)
    # EOQ by hand: D = 52*100 = 5200/yr, K = 50, h c = 0.25*10 = 2.5 -> sqrt(2*5200*50/2.5) = 456.07
    assert row["eoq"] == pytest.approx(456.07, abs=0.01)
    assert row["order_up_to"] == pytest.approx(577.16 + 456.07, abs=0.02)
    assert row["method"] == "cycle/normal"
    assert row["service_level"] == 0.95  # the item's service_level wins over ABC (A = 0.98)
    # default: the mixture over a gamma lead time (mean 4, sd 1) - the same moments, right-skewed, so a
    # higher 95 % point; the other columns are unchanged
    mixture = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 20.0), np.array(["normal"]),
                             np.array(["smooth"]), np.array(["A"]), PolicyConfig()).iloc[0]
    assert mixture["method"] == "cycle/normal+lt_mixture"
    assert mixture["reorder_point"] == pytest.approx(590.85, abs=0.05)   # +0.13 σ
    assert mixture["protection_demand_sd"] == pytest.approx(107.703, abs=1e-3)
    assert mixture["eoq"] == pytest.approx(row["eoq"])


def test_review_period_extends_protection_interval_and_abc_service_level() -> None:
    # Textbook (R, s, S) (SPT §7.x: the (s, Q) rule with L replaced by R + L):
    # R = 7 days -> P = 5 weeks: mean 500, var = 5*400 + 100^2*1 = 12000; class B -> 0.95.
    inputs = _inputs(review_days=7.0)
    policy = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 20.0), np.array(["normal"]),
                            np.array(["smooth"]), np.array(["B"]),
                            PolicyConfig(undershoot_correction=False, lead_time_mixture=False))
    row = policy.iloc[0]
    assert row["review_period_weeks"] == pytest.approx(1.0)
    assert row["service_level"] == pytest.approx(0.95)
    assert row["protection_demand_mean"] == pytest.approx(500.0)
    assert row["protection_demand_sd"] == pytest.approx(np.sqrt(12000.0))
    assert row["reorder_point"] == pytest.approx(500.0 + 1.644854 * np.sqrt(12000.0), abs=1e-3)
    # order quantity = max(EOQ 456.07, review demand 100)
    assert row["order_up_to"] - row["reorder_point"] == pytest.approx(456.07, abs=0.01)


def test_seasonal_forecast_summed_over_actual_weeks_with_fraction() -> None:
    weekly = np.array([[10.0, 20.0, 30.0, 40.0, 50.0]])
    # 2.5 weeks: 10 + 20 + 0.5*30 = 45 ; past the horizon: 150 + 1 * mean(last weeks) = 150 + 30
    assert cumulative_at(weekly, np.array([2.5]))[0] == pytest.approx(45.0)
    assert cumulative_at(weekly, np.array([6.0]))[0] == pytest.approx(180.0)
    inputs = _inputs(lead_mean=2.5, lead_sd=0.0)
    policy = compute_policy(inputs, weekly, np.zeros((1, 5)), np.array(["normal"]), np.array(["smooth"]),
                            np.array(["C"]), PolicyConfig())
    assert policy.loc[0, "protection_demand_mean"] == pytest.approx(45.0)
    assert policy.loc[0, "safety_stock"] == pytest.approx(0.0)


def test_fill_rate_safety_factor_from_normal_loss_table() -> None:
    # SPT §6.7 (P2): G(k) = (1 - P2) Q / sigma. Q = 300, sigma = 100, P2 = 0.95 -> G(k) = 0.15.
    # Table: G(0.67) = 0.1503, G(0.68) = 0.1478 -> k = 0.671 (interpolated).
    assert normal_loss_function(np.array([0.67]))[0] == pytest.approx(0.1503, abs=1e-4)
    level = fill_rate_level(np.array([0.95]), np.array([300.0]), np.array([1000.0]), np.array([100.0**2]),
                            np.array([False]))
    k = (level[0] - 1000.0) / 100.0
    assert k == pytest.approx(0.671, abs=0.003)


def test_fill_rate_policy_end_to_end_uses_eoq_as_order_quantity() -> None:
    # L = 4, sd_L = 0, sd_d = 50 -> sigma = 100; unit cost chosen so EOQ = 300:
    # 300 = sqrt(2*5200*50/(0.25 c)) -> c = 2*5200*50/(0.25*90000) = 23.111
    inputs = _inputs(unit_cost=2 * 5200 * 50 / (0.25 * 90000.0), lead_sd=0.0,
                                           service_level=0.95)
    config = PolicyConfig(service_level_type="fill_rate")
    policy = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 50.0), np.array(["normal"]),
                            np.array(["smooth"]), np.array(["A"]), config)
    assert policy.loc[0, "eoq"] == pytest.approx(300.0)
    assert policy.loc[0, "safety_stock"] / 100.0 == pytest.approx(0.671, abs=0.003)
    assert policy.loc[0, "method"] == "fill_rate/normal"


def test_count_families_use_poisson_and_negative_binomial_quantiles() -> None:
    # Poisson: mean 2/week, L = 3, no lead-time variance -> Poisson(6); P(<=9) = 0.916, P(<=10) = 0.957 -> s = 10.
    inputs = _inputs(n=2, lead_mean=3.0, lead_sd=0.0, service_level=0.95)
    mean = np.full((2, 26), 2.0)
    sd = np.array([np.full(26, np.sqrt(2.0)), np.full(26, 3.0)])  # second: var 9 > mean -> negbin
    policy = compute_policy(inputs, mean, sd, np.array(["poisson", "negbin"]), np.array(["smooth", "lumpy"]),
                            np.array(["A", "A"]), PolicyConfig())
    assert policy.loc[0, "reorder_point"] == 10.0
    assert policy.loc[0, "method"] == "cycle/poisson"
    m, v = 6.0, 27.0
    expected = stats.nbinom.ppf(0.95, m * m / (v - m), m / v)
    assert policy.loc[1, "reorder_point"] == expected
    assert policy.loc[1, "method"] == "cycle/negbin"


def test_count_loss_matches_direct_summation() -> None:
    mean, var = np.array([4.0, 4.0]), np.array([4.0, 10.0])
    x = np.array([5.5, 3.0])
    support = np.arange(400)
    r, p = 16.0 / 6.0, 0.4
    direct = [np.sum(np.maximum(support - 5.5, 0) * stats.poisson.pmf(support, 4.0)),
              np.sum(np.maximum(support - 3.0, 0) * stats.nbinom.pmf(support, r, p))]
    assert loss(x, mean, var, np.array([True, True])) == pytest.approx(direct, rel=1e-9)
    assert quantile(np.array([0.5]), np.array([0.0]), np.array([0.0]), np.array([True]))[0] == 0.0


def test_discontinued_and_zero_demand_get_no_stock() -> None:
    inputs = _inputs(n=2, status=["Discontinued", "active"])
    mean = np.array([np.full(26, 5.0), np.zeros(26)])
    policy = compute_policy(inputs, mean, np.ones((2, 26)), np.array(["normal", "poisson"]),
                            np.array(["smooth", "inactive"]), np.array(["C", "C"]),
                            PolicyConfig())
    assert list(policy["method"]) == ["discontinued", "no_demand"]
    assert (policy[["reorder_point", "order_up_to", "safety_stock"]].to_numpy() == 0).all()


def test_policy_is_vectorised_over_many_skus() -> None:
    n = 2000
    rng = np.random.default_rng(3)
    inputs = _inputs(n=n)
    mean = rng.gamma(2.0, 5.0, size=(n, 26))
    family = rng.choice(["normal", "poisson", "negbin"], n)
    policy = compute_policy(inputs, mean, np.sqrt(mean) * 1.5, family, np.full(n, "smooth"),
                            rng.choice(["A", "B", "C"], n), PolicyConfig())
    assert len(policy) == n and policy["reorder_point"].notna().all()
    assert (policy["order_up_to"] >= policy["reorder_point"]).all()


def test_undershoot_moments_limits() -> None:
    # Q >> mu_R: equilibrium excess, E[U] = E[D^2] / (2 mu) = (20^2 + 6^2) / 40 = 10.9,
    # E[U^2] = E[D^3] / (3 mu) = (mu^3 + 3 mu sigma^2) / (3 mu) = (8000 + 2160) / 60 = 169.33 -> Var = 50.52
    mean, var = undershoot_moments(np.array([20.0]), np.array([6.0]), np.array([1e5]))
    assert mean[0] == pytest.approx(10.9, abs=1e-3)
    assert var[0] == pytest.approx(169.333 - 10.9**2, abs=1e-2)
    # Q -> 0: an order at every review, U = D_R (the ladder sum treats D_R as normal: equal to the
    # normal truncated at 0 up to its 4e-4 lower tail)
    mean, var = undershoot_moments(np.array([20.0]), np.array([6.0]), np.array([1e-9]))
    truncated = stats.truncnorm(-20 / 6, np.inf, loc=20, scale=6)
    assert mean[0] == pytest.approx(truncated.mean(), abs=1e-2) and var[0] == pytest.approx(truncated.var(), rel=1e-2)
    # no demand: no undershoot
    assert undershoot_moments(np.array([0.0]), np.array([0.0]), np.array([5.0]))[0][0] == 0.0


def test_undershoot_corrected_reorder_point() -> None:
    # d = 100, sd_d = 20, L = 4 (sd_L = 1), R = 1, EOQ 456.07: X = D_L + U,
    # mean 400 + E[U], var 4*400 + 100^2 + Var U; s = quantile of X at 0.95 (two-moment normal; the
    # default lead-time mixture: tests/test_inventory_mixture.py).
    inputs = _inputs(review_days=7.0, service_level=0.95)
    policy = compute_policy(inputs, np.full((1, 26), 100.0), np.full((1, 26), 20.0), np.array(["normal"]),
                            np.array(["smooth"]), np.array(["A"]),
                            PolicyConfig(lead_time_mixture=False))
    u_mean, u_var = undershoot_moments(np.array([100.0]), np.array([20.0]), np.array([456.07]))
    expected = 400 + u_mean[0] + 1.644854 * np.sqrt(11600 + u_var[0])
    assert policy.loc[0, "reorder_point"] == pytest.approx(expected, abs=0.01)
    assert policy.loc[0, "method"] == "cycle/normal+undershoot"
    # between the continuous-review level (577.16) and the textbook periodic one (680.19)
    assert 577.16 < policy.loc[0, "reorder_point"] < 500 + 1.644854 * np.sqrt(12000.0)


def test_undershoot_moments_match_monte_carlo_when_order_quantity_is_near_review_demand() -> None:
    # Q = mu_R: the renewal (uniform) approximation is poor here; the ladder sum is exact.
    rng = np.random.default_rng(3)
    mu, sigma, q = 20.0, 6.0, np.array([10.0, 20.0, 40.0])
    draws = np.maximum(rng.normal(mu, sigma, (200_000, 12)), 0.0).cumsum(axis=1)
    mean, var = undershoot_moments(np.full(3, mu), np.full(3, sigma), q)
    for j, quantity in enumerate(q):
        first = np.argmax(draws >= quantity, axis=1)
        u = draws[np.arange(len(draws)), first] - quantity
        assert mean[j] == pytest.approx(u.mean(), abs=0.1)
        assert var[j] == pytest.approx(u.var(), rel=0.03)
