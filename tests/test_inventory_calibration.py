"""Closed-loop service calibration (models/inventory/calibration.py, issue 14 item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import PolicyConfig, backtest_policy
from safestock.models.inventory.calibration import (
    MIN_CLASS_CYCLES,
    achieved_curve,
    calibrate_service,
    calibrated_levels,
    invert_curve,
    nominal_levels,
    replay_levels,
)
from scipy.stats import norm


def test_inverting_a_hand_made_achieved_curve() -> None:
    # achieved 0.80 / 0.85 / 0.84 / 0.93 at offsets -0.4 / 0 / 0.4 / 1.0: 0.85 -> 0.84 breaks
    # monotonicity, so PAV pools them at the mean of their z: (1.03643 + 0.99446) / 2 = 1.01545.
    # Target 0.90 (z 1.28155) lies on the segment 0.4 -> 1.0 (z 1.01545 -> 1.47579):
    # δ = 0.4 + 0.6 (1.28155 - 1.01545) / (1.47579 - 1.01545) = 0.74683
    offsets, z = achieved_curve(np.array([0.0, -0.4, 0.4, 1.0]), np.array([0.85, 0.80, 0.84, 0.93]), np.ones(4))
    assert z[1] == pytest.approx(z[2]) == pytest.approx(1.01545, abs=1e-4)
    offset, slope = invert_curve(offsets, z, 0.90)
    assert offset == pytest.approx(0.74683, abs=1e-4)
    assert slope == pytest.approx(0.46034 / 0.6, abs=1e-4)
    # the policy then sets s at Φ(1.28155 + 0.74683) = 0.97875 for a 0.90 target
    assert nominal_levels(np.array([0.90]), offset)[0] == pytest.approx(0.97875, abs=1e-4)


def test_inversion_beyond_the_replayed_levels_extrapolates_and_clamps() -> None:
    offsets = np.array([-0.4, 0.0, 0.4, 1.0])
    # z rises 0.5 per unit offset and reaches target 0.95 (z 1.64485) nowhere in the range:
    # from the last point z = 1.0 + 0.5 = 1.5: δ = 1.0 + (1.64485 - 1.5) / 0.5 = 1.2897
    z = 1.0 + 0.5 * offsets
    assert invert_curve(offsets, z, 0.95)[0] == pytest.approx(1.2897, abs=1e-4)
    # a flat curve (s does not move the achieved level): slope floored at 0.3, clamped at 1.5
    assert invert_curve(offsets, np.full(4, 0.0), 0.95)[0] == 1.5
    # over-achieving at every level: a negative correction, clamped at -1
    assert invert_curve(offsets, np.full(4, 3.0), 0.90)[0] == -1.0


def _replay_frame(cycles_per_sku: int, skus: int, achieved: dict[float, float], target: float = 0.95) -> pd.DataFrame:
    """A per-SKU replay frame (the columns backtest_policy(nominal_levels=...) returns): every SKU
    gets ``cycles_per_sku`` cycles per replay, a share achieved[offset] of them without a stock-out,
    half of them in each half of the measured weeks."""
    rows = []
    for replay, (offset, share) in enumerate(achieved.items()):
        ok = round(share * cycles_per_sku)
        for sku in range(skus):
            rows.append({"sku_index": sku, "replay": replay, "nominal_level": float(nominal_levels(target, offset)),
                         "demand_class": "lumpy", "judged_class": "lumpy", "service_level": target,
                         "cycles": cycles_per_sku, "ok": ok, "demand_units": 10.0 * cycles_per_sku,
                         "served": 10.0 * ok, "reviews": cycles_per_sku, "reviews_ok": ok,
                         "cycles_first": cycles_per_sku // 2, "ok_first": ok // 2,
                         "demand_first": 5.0 * cycles_per_sku, "served_first": 5.0 * ok,
                         "reviews_first": cycles_per_sku // 2, "reviews_ok_first": ok // 2,
                         "average_on_hand": 10.0 + 5 * offset})
    return pd.DataFrame(rows)


def test_few_cycles_give_no_correction_and_many_give_the_replay_s_correction() -> None:
    achieved = {0.0: 0.80, -0.4: 0.70, 0.4: 0.88, 1.0: 0.95}   # far below the 0.95 target at the target
    groups = np.array(["g"] * 40)
    offsets_grid = np.array(list(achieved))
    thin = _replay_frame(cycles_per_sku=MIN_CLASS_CYCLES // 10 - 1, skus=10, achieved=achieved)  # 40 cycles
    table, offsets = calibrate_service(thin, groups, "cycle", tuple(offsets_grid))
    lumpy = table.set_index("calibration_group").loc["all"]
    assert lumpy["cycles"] < MIN_CLASS_CYCLES
    assert lumpy["shrink_weight"] == 0.0 and lumpy["nominal_offset_z"] == 0.0
    assert lumpy["nominal_level"] == pytest.approx(0.95)
    target = np.full(3, 0.95)
    assert np.array_equal(calibrated_levels(target, np.array(["lumpy"] * 3), np.array(["g"] * 3), offsets), target)

    thick = _replay_frame(cycles_per_sku=100, skus=40, achieved=achieved)                     # 4,000 cycles
    table, offsets = calibrate_service(thick, groups, "cycle", tuple(offsets_grid))
    lumpy = table.set_index("calibration_group").loc["all"]
    assert lumpy["shrink_weight"] > 0.95
    assert lumpy["nominal_offset_z"] == pytest.approx(1.0, abs=0.03)    # the replay meets 0.95 at δ = 1.0
    assert lumpy["achieved_before"] == pytest.approx(0.80)
    assert lumpy["achieved_after"] == pytest.approx(0.95, abs=0.005)
    group = table.set_index("calibration_group").loc["g"]   # the finer group, shrunk toward its class
    assert group["nominal_offset_z"] == pytest.approx(1.0, abs=0.03)
    # on hand read off the replays at the offset used (linear between offsets 0.4 and 1.0)
    assert group["average_on_hand_after"] == pytest.approx(10.0 + 5 * group["nominal_offset_z"])
    assert lumpy["average_on_hand_after"] == pytest.approx(group["average_on_hand_after"])
    level = calibrated_levels(np.array([0.95]), np.array(["lumpy"]), np.array(["g"]), offsets)[0]
    assert level == pytest.approx(norm.cdf(norm.ppf(0.95) + group["nominal_offset_z"]))
    # a class the replay did not see keeps its target
    assert calibrated_levels(np.array([0.9]), np.array(["smooth"]), np.array(["g"]), offsets)[0] == 0.9


MEAN = np.random.default_rng(0).uniform(2.0, 10.0, 300)


def _negative_binomial_weeks(weeks: int, seed: int) -> np.ndarray:
    """Weekly demand of the 300 SKUs: negative binomial, variance 1.8 x mean (gamma-Poisson)."""
    rng = np.random.default_rng(seed)
    shape = MEAN[:, None] / 0.8
    return rng.poisson(rng.gamma(shape, MEAN[:, None] / shape, (MEAN.size, weeks))).astype(float)


def _poisson_forecast(history: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
    """The mis-specified model: the true mean, but Poisson (variance = mean)."""
    mean = np.repeat(MEAN[:, None], 26, axis=1)
    return mean, np.sqrt(mean), np.full(MEAN.size, "poisson")


def test_a_misspecified_demand_model_meets_its_target_after_calibration_on_new_weeks() -> None:
    n, weeks, target = MEAN.size, 78, np.full(MEAN.size, 0.95)
    setting = dict(demand_class=np.full(n, "erratic"), lead_time_weeks_mean=np.full(n, 2.0),
                   lead_time_weeks_sd=np.zeros(n), review_period_weeks=np.ones(n), config=PolicyConfig(),
                   weeks=weeks, forecast_fn=_poisson_forecast, interval_model="weekly")
    fitted = backtest_policy(_negative_binomial_weeks(weeks + 14, seed=1), np.zeros(n, int), service_level=target,
                             nominal_levels=replay_levels(target), **setting)
    groups = np.full(n, "g")
    table, offsets = calibrate_service(fitted, groups, "cycle")
    levels = calibrated_levels(target, np.full(n, "erratic"), groups, offsets)
    assert (levels > target).all()

    def achieved(levels: np.ndarray) -> float:   # fresh weeks of the same world, not used for fitting
        replay = backtest_policy(_negative_binomial_weeks(weeks + 14, seed=2), np.zeros(n, int), service_level=target,
                                 nominal_levels=levels[None, :], **setting)
        return replay["ok"].sum() / replay["cycles"].sum()

    before, after = achieved(target), achieved(levels)
    assert before < 0.95 - 0.03                   # Poisson under-protects overdispersed demand
    assert abs(after - 0.95) <= 0.015
    row = table.set_index("calibration_group").loc["all"]
    assert abs(row["achieved_after"] - 0.95) <= 0.015   # the table's cross-fitted figure agrees


def test_the_policy_sets_s_at_the_calibrated_nominal_level_and_keeps_the_target() -> None:
    # Worked as in test_inventory_policy: d = 100/wk, sd 20, L = 4 wk (sd 1), R = 0, two-moment normal,
    # σ = 107.703. Target 0.95, nominal 0.98 (z 2.05375): s = 400 + 2.05375 x 107.703 = 621.20
    from safestock.models.inventory import LeadTimes, build_planning_inputs, compute_policy

    items = pd.DataFrame({"sku": ["S0"], "supplier_id": "V1", "description": "", "unit_cost": 10.0, "pack_size": 1.0,
                          "moq": 0.0, "service_level": 0.95, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [28.0],
                              "review_period_days": [0.0], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": ["S0"], "supplier_id": "V1", "lead_time_weeks_mean": 4.0, "lead_time_weeks_sd": 1.0,
                            "lead_time_weeks_p90": 5.28, "receipts": 10, "source": "sku"})
    inputs = build_planning_inputs(np.array(["S0"]), items, suppliers, LeadTimes(per_sku=per_sku,
                                                                                 per_supplier=pd.DataFrame()))
    args = (inputs, np.full((1, 26), 100.0), np.full((1, 26), 20.0), np.array(["normal"]), np.array(["smooth"]),
            np.array(["A"]), PolicyConfig(lead_time_mixture=False))
    row = compute_policy(*args, nominal_level=np.array([0.98])).iloc[0]
    assert row["reorder_point"] == pytest.approx(621.20, abs=0.01)
    assert row["service_level"] == 0.95
    assert row["method"] == "cycle/normal+calibrated"
    same = compute_policy(*args, nominal_level=np.array([0.95])).iloc[0]   # no correction: no suffix
    assert same["reorder_point"] == pytest.approx(577.16, abs=0.01) and same["method"] == "cycle/normal"


def test_service_calibration_setting_must_be_true_or_false(tmp_path) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    path = tmp_path / "safestock.toml"
    path.write_text('[policy]\nservice_calibration = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[policy\]: service_calibration must be true or false, not 'yes'"):
        load_config(path)
    path.write_text("[policy]\nservice_calibration = false\n")
    assert load_config(path).policy.service_calibration is False
