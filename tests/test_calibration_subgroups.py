"""Volume subgroups of the service calibration (models/inventory/calibration.py; issue 14 item 1:
"per finer group — lead-time CV band, volume band — where the replay has enough cycles", shrunk
to the parent: class -> group -> volume subgroup)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory.calibration import (
    ALL,
    MIN_SUBGROUP_CYCLES,
    PRIOR_SD_SUBGROUP,
    achieved_curve,
    calibrate_service,
    calibrated_levels,
    calibration_groups,
    invert_curve,
    parent_groups,
    shrink_weight,
    volume_bands,
)
from scipy.stats import norm

OFFSETS = (0.0, -0.4, 0.4, 1.0)
SHORT = {0.0: 0.80, -0.4: 0.70, 0.4: 0.88, 1.0: 0.95}    # meets 0.95 only at δ = 1.0
ON_TARGET = {0.0: 0.95, -0.4: 0.90, 0.4: 0.98, 1.0: 0.99}  # meets 0.95 at δ = 0
GROUP = "cycle <= 13 wk, lead CV < 0.25"
LOW, HIGH = f"{GROUP}, volume < 1/wk", f"{GROUP}, volume >= 1/wk"


def test_volume_band_labels_and_their_parent_group() -> None:
    assert list(volume_bands(np.array([0.2, 1.0, 5.0, 10.0, np.nan]), (1.0, 10.0))) == [
        "volume < 1/wk", "volume 1-10/wk", "volume 1-10/wk", "volume >= 10/wk", "volume < 1/wk"]
    # cycle: max(EOQ, R d) / d = 8 and 30 weeks; lead CV 0.1 and 0.5; volume 0.5 and 12 a week
    labels = calibration_groups(np.array([8.0, 30.0]), np.array([4.0, 4.0]), np.array([0.4, 2.0]),
                                np.array([0.5, 12.0]), (1.0, 10.0))
    assert list(labels) == ["cycle <= 13 wk, lead CV < 0.25, volume < 1/wk",
                            "cycle 13-52 wk, lead CV >= 0.25, volume >= 10/wk"]
    assert list(parent_groups(labels)) == ["cycle <= 13 wk, lead CV < 0.25", "cycle 13-52 wk, lead CV >= 0.25"]
    # without volume edges the labels are today's groups, their own parents
    plain = calibration_groups(np.array([8.0]), np.array([4.0]), np.array([0.4]), np.array([0.5]), ())
    assert list(plain) == list(parent_groups(plain)) == ["cycle <= 13 wk, lead CV < 0.25"]


def _replay_frame(cycles_per_sku: int, skus: int, achieved: dict[float, float], target: float = 0.95) -> pd.DataFrame:
    """A per-SKU replay frame (the columns backtest_policy(nominal_levels=...) returns; as in
    test_inventory_calibration.py): every SKU gets ``cycles_per_sku`` cycles per replay, a share
    achieved[offset] of them without a stock-out, half of them in each half of the measured weeks."""
    rows = []
    for replay, (offset, share) in enumerate(achieved.items()):
        ok = round(share * cycles_per_sku)
        for sku in range(skus):
            rows.append({"sku_index": sku, "replay": replay, "demand_class": "lumpy", "judged_class": "lumpy",
                         "service_level": target, "cycles": cycles_per_sku, "ok": ok,
                         "demand_units": 10.0 * cycles_per_sku, "served": 10.0 * ok, "reviews": cycles_per_sku,
                         "reviews_ok": ok, "cycles_first": cycles_per_sku // 2, "ok_first": ok // 2,
                         "demand_first": 5.0 * cycles_per_sku, "served_first": 5.0 * ok,
                         "reviews_first": cycles_per_sku // 2, "reviews_ok_first": ok // 2,
                         "average_on_hand": 10.0 + 5 * offset})
    return pd.DataFrame(rows)


def _two_subgroups(cycles_low: int, cycles_high: int) -> tuple[pd.DataFrame, np.ndarray]:
    """20 SKUs of subgroup LOW short of target, 20 of HIGH on target, one group, class lumpy."""
    low = _replay_frame(cycles_per_sku=cycles_low, skus=20, achieved=SHORT)
    high = _replay_frame(cycles_per_sku=cycles_high, skus=20, achieved=ON_TARGET)
    high["sku_index"] += 20
    return pd.concat([low, high], ignore_index=True), np.array([LOW] * 20 + [HIGH] * 20)


def _own_offset(achieved: dict[float, float], cycles: int) -> tuple[float, float, float]:
    """(δ̂, slope, achieved at the target) of one subgroup's own pooled curve, as calibrate_service
    computes them ((ok + 0.5) / (cycles + 1), PAV, linear inversion)."""
    trials = 20 * cycles
    share = np.array([(round(a * cycles) * 20 + 0.5) / (trials + 1.0) for a in achieved.values()])
    raw, slope = invert_curve(*achieved_curve(np.array(list(achieved)), share, np.full(4, trials + 1.0)), 0.95)
    return raw, slope, share[0]


def test_subgroups_shrink_toward_their_group_and_the_group_toward_the_class() -> None:
    frame, groups = _two_subgroups(cycles_low=100, cycles_high=100)   # 2,000 cycles per subgroup
    table, offsets = calibrate_service(frame, groups, "cycle", OFFSETS)
    rows = table.set_index("calibration_group")
    assert list(table["calibration_group"]) == [ALL, GROUP, LOW, HIGH]   # class, group, its subgroups
    # class and group pool both subgroups: achieved at the target (0.80 x 2000 + 0.95 x 2000) / 4000
    assert rows.loc[ALL, "achieved_before"] == pytest.approx(0.875)
    assert rows.loc[GROUP, "achieved_before"] == pytest.approx(0.875)
    assert rows.loc[GROUP, "cycles"] == 4000 and rows.loc[LOW, "cycles"] == 2000
    group_offset = rows.loc[GROUP, "nominal_offset_z"]
    # each subgroup: group + w (own δ̂ - group), w = τ² / (τ² + Var δ̂), τ = PRIOR_SD_SUBGROUP
    for label, achieved in ((LOW, SHORT), (HIGH, ON_TARGET)):
        raw, slope, at_target = _own_offset(achieved, 100)
        weight = shrink_weight(2000, at_target, slope, PRIOR_SD_SUBGROUP, MIN_SUBGROUP_CYCLES)
        assert rows.loc[label, "shrink_weight"] == pytest.approx(weight)
        assert rows.loc[label, "nominal_offset_z"] == pytest.approx(group_offset + weight * (raw - group_offset))
    assert rows.loc[LOW, "nominal_offset_z"] > group_offset + 0.2 > rows.loc[HIGH, "nominal_offset_z"] + 0.4
    # the subgroup short of target gets the higher nominal level, each SKU by its own subgroup's offset
    levels = calibrated_levels(np.array([0.95, 0.95]), np.array(["lumpy", "lumpy"]), np.array([LOW, HIGH]), offsets)
    assert levels[0] == pytest.approx(norm.cdf(norm.ppf(0.95) + rows.loc[LOW, "nominal_offset_z"]))
    assert levels[1] == pytest.approx(norm.cdf(norm.ppf(0.95) + rows.loc[HIGH, "nominal_offset_z"]))
    # judged on the half of the weeks it was not fitted on, the short subgroup gains: above its 0.80
    assert rows.loc[LOW, "achieved_after"] > 0.90


def test_a_thin_subgroup_takes_its_group_s_offset_and_an_unseen_one_falls_back_to_group_then_class() -> None:
    frame, groups = _two_subgroups(cycles_low=4, cycles_high=100)    # LOW: 80 cycles < MIN_SUBGROUP_CYCLES
    table, offsets = calibrate_service(frame, groups, "cycle", OFFSETS)
    rows = table.set_index("calibration_group")
    assert rows.loc[LOW, "cycles"] < MIN_SUBGROUP_CYCLES
    assert rows.loc[LOW, "shrink_weight"] == 0.0
    assert rows.loc[LOW, "nominal_offset_z"] == pytest.approx(rows.loc[GROUP, "nominal_offset_z"])
    unseen_subgroup = f"{GROUP}, volume 1-10/wk"          # a band the replay had no SKU in: its group's offset
    unseen_group = "cycle > 52 wk, lead CV < 0.25, volume < 1/wk"   # a group it had none in: the class's
    levels = calibrated_levels(np.full(3, 0.95), np.array(["lumpy"] * 3),
                               np.array([unseen_subgroup, unseen_group, LOW]), offsets)
    assert levels[0] == pytest.approx(norm.cdf(norm.ppf(0.95) + rows.loc[GROUP, "nominal_offset_z"]))
    assert levels[1] == pytest.approx(norm.cdf(norm.ppf(0.95) + rows.loc[ALL, "nominal_offset_z"]))
    assert levels[2] == pytest.approx(levels[0])
