"""One week of a periodic-review (R, s, S) inventory system, vectorised over SKUs (or replications).

The policy replay (``backtest.backtest_policy``) and the Monte Carlo check
(``simulation.simulate_policy``) both walk week by week through ``week_step``; they differ only in
where demand, lead times and the levels (s, S) come from, and in what they total.

Events within week t, in this order (discrete weeks, demand not met is backordered):

1. **Receive.** The open orders due at the start of week t arrive. A *replenishment cycle* ends
   just before each receipt; it ended without a stock-out when the net stock before the receipt
   was >= 0 (>= ``-tolerance``). Net stock = on hand - backorders, so a receipt fills the
   backorders first and only the rest goes on the shelf.
2. **Serve.** The week's demand is met from stock on hand, min(demand, max(net, 0)); the rest is
   backordered (net stock goes below 0).
3. **Review** (end of the week, only for the SKUs whose review falls in week t). Inventory
   position IP = net stock + on order (after this week's receipts and demand). The (R, s, S)
   rule: if IP <= s, order S - IP, raising the position to S; otherwise order nothing (Silver,
   Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed., ch. 6, the
   (R, s, S) system). Orders of ``tolerance`` units or less are not placed.
4. **Order.** An order placed in week t with lead time L arrives at the start of week t + 1 + L,
   but never before the SKU's previous open order (receipts come in order: the arrival is pushed
   to the previous one's week); ``allow_crossover=True`` keeps L as drawn, so orders may overtake.

The state is the stock at the start of a week, before its receipts. ``week_step`` is pure: it
returns a new state and does not change its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StockState:
    """Stock of n SKUs at the start of a week, before that week's receipts.

    ``net_stock`` (n,): on hand - backorders. ``on_order`` (n,): units ordered and not yet received
    (kept as a running total: + each order, - each receipt). ``pipeline`` (n, slots): the open
    orders by arrival, column k = units arriving at the start of the week k weeks from this one
    (column 0: this week). ``last_arrival`` (n,) int: weeks from this week to the arrival of the
    SKU's latest order (negative: it has already arrived).
    """

    net_stock: np.ndarray
    on_order: np.ndarray
    pipeline: np.ndarray
    last_arrival: np.ndarray

    @property
    def on_hand(self) -> np.ndarray:
        """max(net stock, 0)."""
        return np.maximum(self.net_stock, 0.0)

    @property
    def backorders(self) -> np.ndarray:
        """max(-net stock, 0): demand waiting for stock."""
        return np.maximum(-self.net_stock, 0.0)

    @property
    def inventory_position(self) -> np.ndarray:
        """net stock + on order."""
        return self.net_stock + self.on_order


def initial_state(net_stock: np.ndarray, max_lead_time_weeks: int) -> StockState:
    """Start with ``net_stock`` (n,) and nothing on order; the pipeline holds orders with lead
    times up to ``max_lead_time_weeks`` (the longest lead time any order will be given)."""
    net_stock = np.array(net_stock, dtype=float)
    n = net_stock.shape[0]
    return StockState(net_stock=net_stock, on_order=np.zeros(n),
                      pipeline=np.zeros((n, int(max_lead_time_weeks) + 1)), last_arrival=np.full(n, -1))


@dataclass(frozen=True)
class WeekOutcome:
    """What happened in one week (all (n,)), and the state at the start of the next week.

    ``cycle_ended``: a receipt arrived (a replenishment cycle ended); ``cycle_met``: it ended
    without a stock-out. ``order``: units ordered at this week's review (0: none);
    ``lead_time``: weeks from the end of this week to that order's arrival, after any hold-back
    behind an earlier order (only meaningful where ``order > 0``).
    """

    state: StockState
    receipts: np.ndarray
    cycle_ended: np.ndarray
    cycle_met: np.ndarray
    served: np.ndarray
    order: np.ndarray
    lead_time: np.ndarray


def week_step(state: StockState, demand: np.ndarray, review: np.ndarray, reorder_point: np.ndarray,
              order_up_to: np.ndarray, lead_time_weeks: np.ndarray, *, allow_crossover: bool = False,
              tolerance: float = 0.0) -> WeekOutcome:
    """Receive, serve, review and order for one week (module docstring); all arrays (n,).

    ``review`` (bool): the SKUs reviewed at the end of this week; ``reorder_point`` s and
    ``order_up_to`` S: their levels at this review; ``lead_time_weeks`` (int): the lead time an
    order placed this week would get (at most ``pipeline.shape[1] - 1``). ``tolerance``: net stock
    >= -tolerance counts as no stock-out, and orders <= tolerance are not placed (the replay of
    real-valued demand uses 1e-9 against round-off; the simulator 0).
    """
    pipeline = state.pipeline
    receipts = pipeline[:, 0].copy()
    cycle_ended = receipts > 0
    cycle_met = cycle_ended & (state.net_stock >= -tolerance)
    net_stock = state.net_stock + receipts
    on_order = state.on_order - receipts

    served = np.minimum(demand, np.maximum(net_stock, 0.0))
    net_stock = net_stock - demand

    position = net_stock + on_order
    order = np.where(review & (position <= reorder_point), order_up_to - position, 0.0)
    order = np.where(order > tolerance, order, 0.0)
    placed = order > 0
    lead_time = np.asarray(lead_time_weeks, dtype=np.int64)
    if not allow_crossover:  # no overtaking: not before the previous order (relative to next week)
        lead_time = np.maximum(lead_time, state.last_arrival - 1)
    placed_rows = np.flatnonzero(placed)
    placed_lead_time = lead_time[placed_rows]
    slots = pipeline.shape[1]
    if placed_rows.size and int(placed_lead_time.max()) >= slots:
        raise ValueError(f"lead time {int(placed_lead_time.max())} weeks does not fit a pipeline of {slots} weeks")

    next_pipeline = np.zeros_like(pipeline)
    next_pipeline[:, :-1] = pipeline[:, 1:]
    next_pipeline[placed_rows, placed_lead_time] += order[placed_rows]
    next_state = StockState(net_stock=net_stock, on_order=on_order + order, pipeline=next_pipeline,
                            last_arrival=np.where(placed, lead_time, state.last_arrival - 1))
    return WeekOutcome(state=next_state, receipts=receipts, cycle_ended=cycle_ended, cycle_met=cycle_met,
                       served=served, order=order, lead_time=lead_time)


__all__ = ["StockState", "WeekOutcome", "initial_state", "week_step"]
