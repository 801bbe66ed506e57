"""benchmarks/closed_loop_frontier.py (issue 14): on hand compared at equal achieved service."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.benchmark_scripts import benchmark_module

clf = benchmark_module("closed_loop_frontier")


def test_on_hand_is_interpolated_on_the_probit_scale_between_the_bracketing_points() -> None:
    # Phi^-1: 0.90 -> 1.28155, 0.95 -> 1.64485, 0.93 -> 1.47579: weight 0.53465 of the way from 100 to 120
    on_hand = clf.interpolate_on_hand([0.80, 0.90, 0.95], [80.0, 100.0, 120.0], 0.93)
    assert on_hand == pytest.approx(110.693, abs=1e-3)   # linear in service would say 112
    assert clf.interpolate_on_hand([0.80, 0.90, 0.95], [80.0, 100.0, 120.0], 0.90) == 100.0
    assert clf.interpolate_on_hand([0.80, 0.90, 0.95], [80.0, 100.0, 120.0], 0.80) == 80.0


def test_outside_the_swept_range_there_is_no_figure() -> None:
    assert np.isnan(clf.interpolate_on_hand([0.80, 0.90, 0.95], [80.0, 100.0, 120.0], 0.97))
    assert np.isnan(clf.interpolate_on_hand([0.80, 0.90, 0.95], [80.0, 100.0, 120.0], 0.75))
    # no completed cycle at any offset (a tiny group): no service figure at all
    assert np.isnan(clf.interpolate_on_hand([np.nan, np.nan], [1.0, 2.0], 0.9))
    assert clf.interpolate_on_hand([np.nan, 0.90, 0.95], [1.0, 100.0, 120.0], 0.95) == 120.0


def test_a_dominated_sweep_point_is_skipped() -> None:
    # the second point has more stock and less service than the first (simulation noise): 0.90 -> 0.95 is
    # the bracket, 100 -> 120 units, as if it were not there
    service, on_hand = [0.90, 0.89, 0.95], [100.0, 105.0, 120.0]
    assert clf.interpolate_on_hand(service, on_hand, 0.93) == pytest.approx(110.693, abs=1e-3)


def test_swept_levels_shift_s_by_offsets_of_the_policys_own_sd_and_keep_the_order_quantity() -> None:
    reorder = np.array([10.0, 4.0, 7.0])
    quantity = np.array([5.0, 2.0, 3.0])
    step = np.array([2.0, 6.0, 1.0])
    ratio = np.array([[1.0, 1.5], [1.0, 1.0], [1.0, 1.0]])
    stocked = np.array([True, True, False])
    levels = clf.swept_levels("product", reorder, quantity, step, ratio, stocked, offsets=(-1.0, 0.5))
    s, S = levels["product@-1.00"]
    # SKU 0: s = (10 - 2) x ratio = 8, 12; S = s + 5 x ratio = 13, 19.5; SKU 1: 4 - 6 floored at 0
    assert s[0].tolist() == [8.0, 12.0] and S[0].tolist() == [13.0, 19.5]
    assert s[1].tolist() == [0.0, 0.0] and S[1].tolist() == [2.0, 2.0]
    assert np.all(s[2] == -np.inf) and np.all(S[2] == 0.0)   # not stocked: never orders
    s, S = levels["product@+0.50"]
    assert s[0].tolist() == [11.0, 16.5] and S[0].tolist() == [16.0, 24.0]
    # per-week reorder points (the textbook's): the ratio is already in them, only the quantity is scaled
    weekly = clf.swept_levels("textbook", np.array([[10.0, 15.0]] * 3), quantity, np.full((3, 2), 2.0), ratio,
                              stocked, offsets=(1.0,))["textbook@+1.00"]
    assert weekly[0][0].tolist() == [12.0, 17.0] and weekly[1][0].tolist() == [17.0, 24.5]


def test_frontier_table_compares_on_hand_at_the_same_service() -> None:
    rows = []
    for offset, (p_service, p_hand, t_service, t_hand) in zip(
            (-0.5, 0.0, 0.5), ((0.85, 50.0, 0.80, 60.0), (0.90, 60.0, 0.85, 70.0), (0.95, 75.0, 0.90, 80.0))):
        rows += [{"group": "lumpy", "policy": "product", "offset": offset, "cycle_service": p_service,
                  "on_hand": p_hand, "skus": 10},
                 {"group": "lumpy", "policy": "textbook", "offset": offset, "cycle_service": t_service,
                  "on_hand": t_hand, "skus": 10}]
    table = clf.frontier_table(pd.DataFrame(rows), pd.Series({"lumpy": 0.90}))
    lumpy = table.loc["lumpy"]
    # the product reaches 0.90 with 60 units, the textbook with 80 (its own swept point +0.5)
    assert lumpy["product_service"] == 0.90 and lumpy["textbook_service"] == 0.85
    assert lumpy["product_oh_at_target"] == 60.0 and lumpy["textbook_oh_at_target"] == 80.0
    assert lumpy["ratio_at_target"] == pytest.approx(0.75)
    assert table.loc["all", "ratio_at_target"] == pytest.approx(0.75)
