"""Empirical protection-interval demand (models/inventory/empirical_demand.py, issue 14 item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import PolicyConfig, backtest_policy
from safestock.models.inventory.calibration import (
    calibrate_service,
    empirical_classes,
    with_interval_models,
)
from safestock.models.inventory.empirical_demand import (
    EMPIRICAL,
    MIN_CLASS_ERRORS,
    PARAMETRIC,
    EmpiricalChoice,
    ErrorLedger,
    ErrorPool,
    choose_interval_models,
    mixture_level,
    ratio_quantile,
)
from scipy.stats import norm


def _pool(ratios: list[float], skus: int = 25, origins: int = 5, demand_class: str = "erratic",
          group: str = "interval demand 10-40") -> ErrorPool:
    """The same ``ratios`` repeated by ``skus`` SKUs at ``origins`` origin weeks (enough for a class pool)."""
    ratio = np.tile(np.asarray(ratios, dtype=float), skus * origins)
    size = ratio.size
    return ErrorPool(ratio, np.full(size, demand_class), np.full(size, group),
                     np.repeat(np.arange(skus), len(ratios) * origins),
                     np.tile(np.repeat(np.arange(origins), len(ratios)), skus))


def test_empirical_quantile_and_scaled_level_worked_by_hand() -> None:
    # five realised / forecast ratios: demand 5, 8, 10, 12, 20 against a forecast of 10 over the interval
    ledger = ErrorLedger(np.array([[5.0, 8.0, 10.0, 12.0, 20.0, 0.0, 0.0]]))
    for origin in range(5):
        ledger.add(np.array([0]), origin, np.array([1.0]), np.array([10.0]), np.array(["erratic"]), np.array(["g"]))
    ledger.complete(5)
    ratios = np.sort(ledger.errors()["ratio"].to_numpy(float))
    assert ratios == pytest.approx([0.5, 0.8, 1.0, 1.2, 2.0])
    # inverted CDF: k = ceil(alpha m): 0.9 x 5 = 4.5 -> the 5th value; 0.6 x 5 = 3 -> the 3rd; 0.61 -> the 4th
    assert ratio_quantile(ratios, np.array([0.9, 0.6, 0.61])) == pytest.approx([2.0, 1.0, 1.2])
    # s = q(rho) x forecast over the lead time + the pool's mean ratio x E[U] (Var U = 0 here):
    # the pool repeats the five ratios (mean 1.1); target 0.9, forecast 30 over the lead time, E[U] = 4:
    # s = 2.0 x 30 + 1.1 x 4 = 64.4
    pool = _pool([0.5, 0.8, 1.0, 1.2, 2.0])
    s = pool.levels(np.array(["erratic"]), np.array(["interval demand 10-40"]), np.array([0.9]), np.array([30.0]),
                    np.array([4.0]), np.array([0.0]))
    assert s == pytest.approx([64.4])
    # fractional interval: demand over 2.5 weeks from week 1 = 8 + 10 + 0.5 x 12 = 24
    ledger.add(np.array([0]), 1, np.array([2.5]), np.array([20.0]), np.array(["erratic"]), np.array(["g"]))
    ledger.complete(4)
    assert ledger.errors()["ratio"].iloc[-1] == pytest.approx(24.0 / 20.0)


def test_the_mixture_with_the_undershoot_meets_its_level() -> None:
    # X = rho mu_B + U, rho in {0.8, 1.2} (equally likely), mu_B = 50, U ~ N(5, 2^2):
    # P(X <= s) = (Phi((s - 45) / 2) + Phi((s - 65) / 2)) / 2 = (1 + 1/2) / 2 = 0.75 at s = 65
    s = mixture_level(np.array([0.8, 1.2]), np.array([50.0]), np.array([5.0]), np.array([2.0]), np.array([0.75]))[0]
    assert (norm.cdf((s - 45) / 2) + norm.cdf((s - 65) / 2)) / 2 == pytest.approx(0.75, abs=1e-6)
    assert s == pytest.approx(65.0, abs=0.01)


def test_thin_pools_give_no_empirical_level_and_groups_fall_back_to_their_class() -> None:
    pool = _pool([0.9, 1.1], skus=25, origins=3)          # 150 errors, but 3 origin weeks only
    assert np.isnan(pool.levels(np.array(["erratic"]), np.array(["interval demand 10-40"]), np.array([0.9]),
                                np.array([10.0]), np.array([0.0]), np.array([0.0]))).all()
    few = _pool([1.0], skus=10, origins=5)                 # 50 errors < MIN_CLASS_ERRORS
    assert few.ratio.size < MIN_CLASS_ERRORS
    assert np.isnan(few.levels(np.array(["erratic"]), np.array(["x"]), np.array([0.9]), np.array([10.0]),
                               np.array([0.0]), np.array([0.0]))).all()
    # a group with no errors of its own uses its class's pool; another class gets nothing
    pool = _pool([0.5, 1.5], skus=25, origins=5)
    s = pool.levels(np.array(["erratic", "smooth"]), np.array(["interval demand 160+", "interval demand 10-40"]),
                    np.array([0.75, 0.75]), np.array([10.0, 10.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    assert s[0] == pytest.approx(15.0) and np.isnan(s[1])


def test_no_leakage_an_error_needs_its_interval_over_and_uses_only_the_weeks_after_its_origin() -> None:
    rng = np.random.default_rng(3)
    history = rng.poisson(5.0, (4, 30)).astype(float)
    changed = history.copy()
    changed[:, 20:] = 1000.0        # the future after week 20 (and the past before the origins) differ
    changed[:, :10] = 1000.0
    ledgers = [ErrorLedger(history), ErrorLedger(changed)]
    for ledger in ledgers:
        for origin in (10, 12, 14):
            ledger.add(np.arange(4), origin, np.array([3.0, 4.0, 6.0, 8.0]), np.full(4, 20.0), np.full(4, "smooth"),
                       np.full(4, "g"))
        ledger.complete(20)                               # demand of weeks 0..19 seen
    first, second = (ledger.errors().sort_values(["origin", "sku"]) for ledger in ledgers)
    assert (first["origin"] + first["span"] <= 20).all()    # intervals ending after week 20 are not errors yet
    assert len(first) == 3 * 4 - 1                         # origin 14 + span 8 ends at 22: not yet
    assert first["ratio"].to_numpy() == pytest.approx(second["ratio"].to_numpy())


MEAN = np.random.default_rng(0).uniform(4.0, 16.0, 200)


def _biased_setting(n: int) -> dict:
    def forecast(history: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
        """Forecast 30 % low for the 'erratic' half, right for the 'smooth' half; Poisson variance."""
        mean = np.repeat((MEAN * np.where(np.arange(n) < n // 2, 0.7, 1.0))[:, None], 26, axis=1)
        return mean, np.sqrt(mean), np.full(n, "normal")

    return dict(demand_class=np.where(np.arange(n) < n // 2, "erratic", "smooth"),
                lead_time_weeks_mean=np.full(n, 3.0), lead_time_weeks_sd=np.zeros(n),
                review_period_weeks=np.ones(n), config=PolicyConfig(), weeks=40, forecast_fn=forecast,
                unit_cost=np.full(n, 10.0))


def test_a_forecast_30_percent_low_meets_its_target_with_the_empirical_interval_on_fresh_weeks() -> None:
    n, target = MEAN.size, np.full(MEAN.size, 0.95)
    setting = _biased_setting(n)
    rng = np.random.default_rng(11)
    fitted_weeks = rng.poisson(MEAN[:, None], (n, 54)).astype(float)
    fitted = ErrorLedger(fitted_weeks)
    replay = backtest_policy(fitted_weeks, np.zeros(n, int), service_level=target, nominal_levels=target[None, :],
                             empirical=fitted, **setting)
    assert set(replay["interval_model"]) == {PARAMETRIC, EMPIRICAL}
    errors = fitted.errors()
    assert errors.groupby("demand_class")["ratio"].mean()["erratic"] == pytest.approx(1 / 0.7, rel=0.03)

    # fresh weeks of the same world: the pool starts with the fitted weeks' errors
    fresh_weeks = rng.poisson(MEAN[:, None], (n, 54)).astype(float)
    judged = ErrorLedger(fresh_weeks)
    judged.extend(errors)
    fresh = backtest_policy(fresh_weeks, np.zeros(n, int), service_level=target, nominal_levels=target[None, :],
                            empirical=judged, seed=5, **setting)
    erratic = fresh[fresh["demand_class"] == "erratic"]
    achieved = erratic.groupby("interval_model")[["ok", "cycles"]].sum()
    achieved = achieved["ok"] / achieved["cycles"]
    assert achieved[PARAMETRIC] < 0.95 - 0.10           # the uncorrected parametric misses by far
    assert abs(achieved[EMPIRICAL] - 0.95) <= 0.015     # the empirical candidate meets the target

    # the choice, recorded per class in the calibration table: erratic -> empirical
    groups = np.full(n, "g")
    table, _ = calibrate_service(replay, groups, "cycle")
    table = with_interval_models(table, replay, groups)
    classes = table[table["calibration_group"] == "all"].set_index("demand_class")
    assert classes.loc["erratic", "interval_model"] == EMPIRICAL
    assert classes.loc["erratic", "achieved_empirical"] > classes.loc["erratic", "achieved_before"] + 0.10
    assert (table.loc[table["demand_class"] == "erratic", "interval_model"] == EMPIRICAL).all()  # groups too
    assert "erratic" in empirical_classes(table)


def test_choice_rule_within_tolerance_less_stock_else_nearer_target_thin_evidence_parametric() -> None:
    target = np.full(7, 0.95)
    choice = choose_interval_models(
        achieved_parametric=np.array([0.950, 0.950, 0.950, 0.900, 0.930, 0.900, 0.800]),
        on_hand_parametric=np.full(7, 100.0),
        achieved_empirical=np.array([0.940, 0.940, 0.940, 0.930, 0.900, 0.905, 0.950]),
        on_hand_empirical=np.array([97.0, 99.0, 110.0, 150.0, 50.0, 90.0, 90.0]),
        target=target, empirical_cycles=np.array([500, 500, 500, 500, 500, 500, 50]))
    # both within 1.5 points: 3 % less stock wins, 1 % less does not (2 % needed), more stock loses;
    # else nearer to target by at least 1 point (5 -> 2 points: yes; 5 -> 4.5: no); 50 cycles: parametric
    assert list(choice) == [EMPIRICAL, PARAMETRIC, PARAMETRIC, EMPIRICAL, PARAMETRIC, PARAMETRIC, PARAMETRIC]


def test_the_policy_uses_the_empirical_level_where_chosen_and_says_so() -> None:
    from safestock.models.inventory import (
        LeadTimes,
        build_planning_inputs,
        compute_policy,
    )

    skus = np.array(["S0", "S1"])
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": 10.0, "pack_size": 1.0,
                          "moq": 0.0, "service_level": 0.9, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [28.0],
                              "review_period_days": [0.0], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": 4.0, "lead_time_weeks_sd": 0.0,
                            "lead_time_weeks_p90": 4.0, "receipts": 10, "source": "sku"})
    inputs = build_planning_inputs(skus, items, suppliers, LeadTimes(per_sku=per_sku, per_supplier=pd.DataFrame()))
    config = PolicyConfig(undershoot_correction=False)       # R = 0, no undershoot: s = q(rho) x mu_P
    pool = _pool([0.5, 0.8, 1.0, 1.2, 2.0], group="interval demand 160+")
    choice = EmpiricalChoice(pool, recent_orders=np.array([26, 26]), use=np.array([True, False]))
    policy = compute_policy(inputs, np.full((2, 26), 100.0), np.full((2, 26), 20.0), np.array(["normal"] * 2),
                            np.array(["erratic"] * 2), np.array(["A"] * 2), config, empirical=choice)
    # S0: mu_P = 4 x 100 = 400, q_0.9 = 2.0 -> s = 800; S1 keeps the parametric s = 400 + 1.28155 x 40
    assert policy.loc[0, "reorder_point"] == pytest.approx(800.0)
    assert policy.loc[0, "method"] == "cycle/normal+empirical"
    assert policy.loc[0, "order_up_to"] == pytest.approx(800.0 + policy.loc[0, "eoq"])
    assert policy.loc[1, "reorder_point"] == pytest.approx(400 + norm.ppf(0.9) * 40.0, abs=0.01)
    assert policy.loc[1, "method"] == "cycle/normal"


def test_empirical_interval_setting_must_be_true_or_false(tmp_path) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    path = tmp_path / "safestock.toml"
    path.write_text('[policy]\nempirical_interval = "no"\n')
    with pytest.raises(ConfigError, match=r"\[policy\]: empirical_interval must be true or false, not 'no'"):
        load_config(path)
    path.write_text("[policy]\nempirical_interval = false\n")
    assert load_config(path).policy.empirical_interval is False


@pytest.mark.slow
def test_the_flow_records_the_choice_in_service_calibration_and_the_planner_report(
        prefect_harness: None, demo_input, tmp_path) -> None:
    import duckdb
    from safestock.pipelines.flow import weekly_run

    config = tmp_path / "safestock.toml"
    config.write_text("[policy]\nempirical_interval = true\n")
    weekly_run(input_dir=demo_input, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "reports",
               config_path=config)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        table = con.execute("select * from service_calibration").df()
        methods = con.execute("select p.method, c.demand_class from inventory_policy p join sku_class c "
                              "using (run_id, sku)").df()
    classes = table[table["calibration_group"] == "all"].set_index("demand_class")
    assert set(table["interval_model"]) <= {PARAMETRIC, EMPIRICAL}
    replayed = classes[classes["cycles"] >= 50]
    assert len(replayed) and replayed["achieved_empirical"].notna().all()
    assert replayed["average_on_hand_empirical"].gt(0).all()
    # a SKU's method says '+empirical' only in a class that chose it (and a chosen class has some)
    chosen = set(classes.index[classes["interval_model"] == EMPIRICAL])
    empirical_skus = methods[methods["method"].str.contains(r"\+empirical")]
    assert set(empirical_skus["demand_class"]) <= chosen
    assert not (empirical_skus["method"].str.contains(r"\+calibrated")).any()
    html = next((tmp_path / "reports").glob("planner*.html")).read_text()
    assert "Interval model used" in html and "Achieved empirical" in html
