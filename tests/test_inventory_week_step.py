"""One (R, s, S) week step: a hand-worked week, and the vectorised step against a per-SKU loop."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.inventory.week_step import StockState, initial_state, week_step


def test_hand_worked_week() -> None:
    # start of week 0, 6 SKUs (s, S, demand, drawn lead time per SKU):
    # 0 receipt: net 5 + 30 arriving, demand 10 -> 25 > s = 20: no order
    # 1 backorder filled: net -8 (8 backordered) + 20 arriving -> 12 (the cycle ended short), demand 5 -> 7,
    #   IP 7 <= s = 10: order 40 - 7 = 33, L = 2: arrives at the start of week 3
    # 2 at s: net 15, demand 5 -> IP 10 = s: order 50 - 10 = 40, L = 1: arrives at the start of week 2
    # 3 above s: net 16, demand 5 -> IP 11 > s = 10: no order
    # 4 not reviewed: net 0, demand 3 -> 3 backordered, IP -3 <= s but no review: no order
    # 5 held back: net 10, 25 due at the start of week 3; demand 10 -> IP 0 + 25 <= s = 30: order 35;
    #   drawn L = 0 (week 1) would overtake, so it comes with the earlier order at the start of week 3
    pipeline = np.zeros((6, 4))
    pipeline[0, 0], pipeline[1, 0], pipeline[5, 3] = 30.0, 20.0, 25.0
    state = StockState(net_stock=np.array([5.0, -8, 15, 16, 0, 10]), on_order=np.array([30.0, 20, 0, 0, 0, 25]),
                       pipeline=pipeline, last_arrival=np.array([0, 0, -1, -1, -1, 3]))
    demand = np.array([10.0, 5, 5, 5, 3, 10])
    review = np.array([True, True, True, True, False, True])
    s, S = np.array([20.0, 10, 10, 10, 10, 30]), np.array([60.0, 40, 50, 50, 50, 60])
    leads = np.array([1, 2, 1, 1, 1, 0])

    week = week_step(state, demand, review, s, S, leads)
    np.testing.assert_array_equal(week.receipts, [30, 20, 0, 0, 0, 0])
    np.testing.assert_array_equal(week.cycle_ended, [True, True, False, False, False, False])
    np.testing.assert_array_equal(week.cycle_met, [True, False, False, False, False, False])
    np.testing.assert_array_equal(week.served, [10, 5, 5, 5, 0, 10])
    np.testing.assert_array_equal(week.state.net_stock, [25, 7, 10, 11, -3, 0])
    np.testing.assert_array_equal(week.state.on_hand, [25, 7, 10, 11, 0, 0])
    np.testing.assert_array_equal(week.state.backorders, [0, 0, 0, 0, 3, 0])
    np.testing.assert_array_equal(week.order, [0, 33, 40, 0, 0, 35])
    np.testing.assert_array_equal(week.lead_time[week.order > 0], [2, 1, 2])
    np.testing.assert_array_equal(week.state.on_order, [0, 33, 40, 0, 0, 60])
    np.testing.assert_array_equal(week.state.inventory_position, [25, 40, 50, 11, -3, 60])
    # the state is the start of week 1: column k arrives at the start of week 1 + k
    expected = np.zeros((6, 4))
    expected[1, 2], expected[2, 1], expected[5, 2] = 33.0, 40.0, 60.0
    np.testing.assert_array_equal(week.state.pipeline, expected)
    # the inputs are left as they were
    assert state.pipeline[0, 0] == 30.0 and state.net_stock[1] == -8.0 and state.on_order[5] == 25.0

    # weeks 1-3 without demand or reviews: SKU 2's order comes in week 2, SKUs 1 and 5 in week 3
    receipts = []
    current = week.state
    for _ in range(3):
        step = week_step(current, np.zeros(6), np.zeros(6, bool), s, S, np.zeros(6, int))
        receipts.append(step.receipts)
        current = step.state
    np.testing.assert_array_equal(receipts, [[0, 0, 0, 0, 0, 0], [0, 0, 40, 0, 0, 0], [0, 33, 0, 0, 0, 60]])
    np.testing.assert_array_equal(current.net_stock, [25, 40, 50, 11, -3, 60])
    np.testing.assert_array_equal(current.on_order, np.zeros(6))

    crossing = week_step(state, demand, review, s, S, leads, allow_crossover=True)
    assert crossing.lead_time[5] == 0 and crossing.state.pipeline[5, 0] == 35.0


def test_hand_worked_lost_sales_weeks() -> None:
    # 3 SKUs, SKUs 0 and 1 lose unmet demand (lost_sales mask), SKU 2 backorders; worked by hand:
    # 0 lost: on hand 4, 10 due at the start of week 1 and 5 of week 2. Week 0: demand 6 -> 4 sold,
    #   2 lost, on hand 0 (not -2). Week 1: 10 arrive, the cycle ended short (demand was lost in it);
    #   demand 3 -> 7. Week 2: 5 arrive, cycle met (nothing lost since the last receipt); 12 on hand,
    #   demand 15 -> 12 sold, 3 lost, on hand 0.
    # 1 lost, reviewed in week 0 with s = 4, S = 10: on hand 2, demand 5 -> 2 sold, 3 lost, IP 0 <= 4:
    #   order 10 - 0 = 10 (a backordering SKU would order 13), L = 0: arrives at the start of week 1,
    #   ending a cycle short.
    # 2 backorder, as SKU 0: net -2 after week 0; week 1's receipt ends the cycle short, net 8 - 3 = 5;
    #   week 2: 5 arrive (met), net 10 - 15 = -5.
    pipeline = np.zeros((3, 4))
    pipeline[[0, 2], 1], pipeline[[0, 2], 2] = 10.0, 5.0
    state = StockState(net_stock=np.array([4.0, 2, 4]), on_order=np.array([15.0, 0, 15]), pipeline=pipeline,
                       last_arrival=np.array([2, -1, 2]))
    lost_sales = np.array([True, True, False])
    s, S, leads = np.array([0.0, 4, 0]), np.array([0.0, 10, 0]), np.zeros(3, int)
    demands = [np.array([6.0, 5, 6]), np.array([3.0, 0, 3]), np.array([15.0, 0, 15])]
    reviews = [np.array([False, True, False]), np.zeros(3, bool), np.zeros(3, bool)]
    weeks = []
    for demand, review in zip(demands, reviews):
        weeks.append(week_step(state, demand, review, s, S, leads, lost_sales=lost_sales))
        state = weeks[-1].state
    week0, week1, week2 = weeks
    np.testing.assert_array_equal(week0.served, [4, 2, 4])
    np.testing.assert_array_equal(week0.lost, [2, 3, 0])
    np.testing.assert_array_equal(week0.state.net_stock, [0, 0, -2])
    np.testing.assert_array_equal(week0.order, [0, 10, 0])
    np.testing.assert_array_equal(week0.state.short_since_receipt, [True, True, False])
    np.testing.assert_array_equal(week1.receipts, [10, 10, 10])
    np.testing.assert_array_equal(week1.cycle_ended, [True, True, True])
    np.testing.assert_array_equal(week1.cycle_met, [False, False, False])
    np.testing.assert_array_equal(week1.state.net_stock, [7, 10, 5])
    np.testing.assert_array_equal(week1.state.short_since_receipt, [False, False, False])
    np.testing.assert_array_equal(week2.receipts, [5, 0, 5])
    np.testing.assert_array_equal(week2.cycle_met, [True, False, True])
    np.testing.assert_array_equal(week2.served, [12, 0, 10])
    np.testing.assert_array_equal(week2.lost, [3, 0, 0])
    np.testing.assert_array_equal(week2.state.net_stock, [0, 10, -5])
    np.testing.assert_array_equal(week2.state.backorders, [0, 0, 5])


def test_an_all_backorder_mask_changes_nothing() -> None:
    rng = np.random.default_rng(3)
    n = 200
    pipeline = rng.integers(0, 3, (n, 4)) * rng.integers(0, 40, (n, 4)) / 2
    state = StockState(net_stock=rng.integers(-30, 60, n) / 2, on_order=pipeline.sum(axis=1), pipeline=pipeline,
                       last_arrival=np.full(n, 3))
    args = (rng.integers(0, 50, n) / 2, rng.random(n) < 0.5, rng.integers(0, 40, n) / 2, np.full(n, 60.0),
            rng.integers(0, 3, n))
    plain = week_step(state, *args)
    masked = week_step(state, *args, lost_sales=np.zeros(n, bool))
    for field in ("served", "cycle_met", "order", "lead_time"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(masked, field))
    np.testing.assert_array_equal(plain.state.net_stock, masked.state.net_stock)
    assert not plain.lost.any() and not masked.lost.any()


def test_tolerance_absorbs_round_off() -> None:
    state = StockState(net_stock=np.array([-1e-12, -1e-6]), on_order=np.array([4.0, 4.0]),
                       pipeline=np.array([[4.0, 0, 0], [4.0, 0, 0]]), last_arrival=np.zeros(2, int))
    # net -1e-12 before the receipt is no stock-out with tolerance 1e-9; -1e-6 is one
    # IP after the week: 4 - 1e-12 (order of 1e-12 up to S = 4 not placed) and 4 - 1e-6 (ordered)
    week = week_step(state, np.zeros(2), np.ones(2, bool), np.full(2, 4.0), np.full(2, 4.0), np.ones(2, int),
                     tolerance=1e-9)
    np.testing.assert_array_equal(week.cycle_met, [True, False])
    assert week.order[0] == 0.0 and week.order[1] == pytest.approx(1e-6)
    exact = week_step(state, np.zeros(2), np.ones(2, bool), np.full(2, 4.0), np.full(2, 4.0), np.ones(2, int))
    np.testing.assert_array_equal(exact.cycle_met, [False, False])
    assert (exact.order > 0).all()


def test_initial_state_and_a_lead_time_longer_than_the_pipeline() -> None:
    order_up_to = np.array([7, 12])
    state = initial_state(order_up_to, 3)
    order_up_to[0] = 0
    np.testing.assert_array_equal(state.net_stock, [7.0, 12.0])   # a copy, as floats
    assert state.pipeline.shape == (2, 4) and not state.pipeline.any() and not state.on_order.any()
    # a lead time of 4 weeks does not fit 4 columns (0..3): fine for a SKU that orders nothing (1), refused
    # for one that orders
    week = week_step(state, np.array([7.0, 2.0]), np.ones(2, bool), np.full(2, 5.0), np.full(2, 9.0), np.array([3, 4]))
    assert week.order.tolist() == [9.0, 0.0] and week.state.pipeline[0, 3] == 9.0
    with pytest.raises(ValueError, match="does not fit"):
        week_step(state, np.array([7.0, 2.0]), np.ones(2, bool), np.full(2, 5.0), np.full(2, 9.0), np.array([4, 1]))


def _reference_week(t: int, on_hand: float, backorders: float, orders: list[list[float]], latest: int,
                    demand: float, review: bool, s: float, S: float, lead: int, allow_crossover: bool,
                    tolerance: float) -> dict:
    """One SKU's week t with explicit on hand, backorders and open orders [arrival week, units]."""
    receipt = sum(units for arrival, units in orders if arrival == t)
    orders = [order for order in orders if order[0] != t]
    cycle_met = receipt > 0 and backorders <= tolerance
    filled = min(receipt, backorders)               # a receipt fills the backorders first
    backorders -= filled
    on_hand += receipt - filled
    served = min(demand, on_hand)
    on_hand -= served
    backorders += demand - served
    on_order = sum(units for _, units in orders)
    position = on_hand - backorders + on_order
    order, arrival = 0.0, t + 1 + lead
    if not allow_crossover:                         # never before an open order of the SKU
        arrival = max([arrival] + [week for week, _ in orders])
    if review and position <= s and S - position > tolerance:
        order = S - position
        orders = orders + [[arrival, order]]
        latest = arrival
    return {"receipt": receipt, "cycle_met": cycle_met, "served": served, "on_hand": on_hand,
            "backorders": backorders, "orders": orders, "latest": latest, "order": order,
            "lead_time": arrival - t - 1}


@pytest.mark.parametrize("allow_crossover, tolerance", [(False, 0.0), (True, 0.0), (False, 0.5)])
def test_step_matches_a_per_sku_loop_on_random_states(allow_crossover: bool, tolerance: float) -> None:
    # quantities on a 0.25 grid: both ways of adding up are exact, so the results must be equal
    rng = np.random.default_rng(17 + int(allow_crossover) + int(4 * tolerance))
    n, slots, weeks = 400, 6, 12
    net = rng.integers(-40, 80, n) / 4
    orders = [[[int(arrival), rng.integers(1, 120) / 4] for arrival in rng.integers(0, slots, rng.integers(0, 4))]
              for _ in range(n)]
    latest = [max((arrival for arrival, _ in sku), default=-int(rng.integers(1, 4))) for sku in orders]
    pipeline = np.zeros((n, slots))
    for i, sku in enumerate(orders):
        for arrival, units in sku:
            pipeline[i, arrival] += units
    state = StockState(net_stock=net, on_order=pipeline.sum(axis=1), pipeline=pipeline,
                       last_arrival=np.array(latest))
    on_hand, backorders = np.maximum(net, 0.0).tolist(), np.maximum(-net, 0.0).tolist()
    ordered_at_s = skipped_at_tolerance = 0
    for t in range(weeks):
        demand = np.where(rng.random(n) < 0.7, rng.integers(0, 80, n) / 4, 0.0)
        review = rng.random(n) < 0.6
        s = rng.integers(-10, 100, n) / 4
        S = s + np.where(rng.random(n) < 0.3, rng.integers(0, 4, n), rng.integers(0, 100, n)) / 4
        leads = rng.integers(0, slots - 1, n)
        week = week_step(state, demand, review, s, S, leads, allow_crossover=allow_crossover, tolerance=tolerance)
        ordered_at_s += int(np.sum((week.order > 0) & (week.state.inventory_position - week.order == s)))
        position = week.state.inventory_position
        skipped_at_tolerance += int(np.sum(review & (position <= s) & (S - position == tolerance)))
        for i in range(n):
            ref = _reference_week(t, on_hand[i], backorders[i], orders[i], latest[i], demand[i], review[i], s[i],
                                  S[i], leads[i], allow_crossover, tolerance)
            on_hand[i], backorders[i] = ref["on_hand"], ref["backorders"]
            orders[i], latest[i] = ref["orders"], ref["latest"]
            assert week.receipts[i] == ref["receipt"] and week.cycle_ended[i] == (ref["receipt"] > 0)
            assert week.cycle_met[i] == ref["cycle_met"] and week.served[i] == ref["served"]
            assert week.order[i] == ref["order"], (t, i)
            if ref["order"] > 0:
                assert week.lead_time[i] == ref["lead_time"], (t, i)
        state = week.state
        np.testing.assert_array_equal(state.on_hand, on_hand)
        np.testing.assert_array_equal(state.backorders, backorders)
        np.testing.assert_array_equal(state.on_order, [sum(units for _, units in sku) for sku in orders])
        expected = np.zeros((n, slots))
        for i, sku in enumerate(orders):
            for arrival, units in sku:
                expected[i, arrival - t - 1] += units
        np.testing.assert_array_equal(state.pipeline, expected)
        np.testing.assert_array_equal(state.last_arrival, np.array(latest) - t - 1)
    assert ordered_at_s > 0 and skipped_at_tolerance > 0  # the boundaries IP = s and S - IP = tolerance were met
