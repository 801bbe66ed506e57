"""One week of a periodic-review (R, s, S) inventory system, vectorised over SKUs (or replications).

The policy replay (``backtest.backtest_policy``) and the Monte Carlo check
(``simulation.simulate_policy``) both walk week by week through ``week_step``; they differ only in
where demand, lead times and the levels (s, S) come from, and in what they total.

Events within week t, in this order (discrete weeks, demand not met is backordered - or, for the
SKUs of the ``lost_sales`` mask, lost):

1. **Receive.** The open orders due at the start of week t arrive. A *replenishment cycle* ends
   just before each receipt; it ended without a stock-out when the net stock before the receipt
   was >= 0 (>= ``-tolerance``). Net stock = on hand - backorders, so a receipt fills the
   backorders first and only the rest goes on the shelf.
2. **Serve.** The week's demand is met from stock on hand, min(demand, max(net, 0)); the rest is
   backordered (net stock goes below 0). A ``lost_sales`` SKU loses the rest instead: its net stock
   is its on hand, floored at 0 (I_t = max(I_{t-1} + r_t - D_t, 0), lost_t = (D_t - I_{t-1} - r_t)+:
   Silver, Pyke & Thomas, 3rd ed., ch. 7, the lost-sales case), and since nothing is carried a
   cycle of it ended with a stock-out when demand was lost in any of its weeks (the state keeps
   ``short_since_receipt``) - for a backordering SKU that is net stock < 0 before the receipt.
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
    SKU's latest order (negative: it has already arrived). ``short_since_receipt`` (n,) bool: demand
    was lost since the SKU's last receipt (lost-sales SKUs; None: nowhere).
    """

    net_stock: np.ndarray
    on_order: np.ndarray
    pipeline: np.ndarray
    last_arrival: np.ndarray
    short_since_receipt: np.ndarray | None = None

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
    behind an earlier order (only meaningful where ``order > 0``). ``lost``: demand lost this week
    (0 for backordering SKUs).
    """

    state: StockState
    receipts: np.ndarray
    cycle_ended: np.ndarray
    cycle_met: np.ndarray
    served: np.ndarray
    order: np.ndarray
    lead_time: np.ndarray
    lost: np.ndarray


def week_step(state: StockState, demand: np.ndarray, review: np.ndarray, reorder_point: np.ndarray,
              order_up_to: np.ndarray, lead_time_weeks: np.ndarray, *, allow_crossover: bool = False,
              tolerance: float = 0.0, lost_sales: np.ndarray | None = None) -> WeekOutcome:
    """Receive, serve, review and order for one week (module docstring); all arrays (n,).

    ``review`` (bool): the SKUs reviewed at the end of this week; ``reorder_point`` s and
    ``order_up_to`` S: their levels at this review; ``lead_time_weeks`` (int): the lead time an
    order placed this week would get (at most ``pipeline.shape[1] - 1``). ``tolerance``: net stock
    >= -tolerance counts as no stock-out, and orders <= tolerance are not placed (the replay of
    real-valued demand uses 1e-9 against round-off; the simulator 0). ``lost_sales`` (bool, None:
    none): the SKUs whose unmet demand is lost (net stock floored at 0), the others backorder.
    """
    pipeline = state.pipeline
    receipts = pipeline[:, 0].copy()
    cycle_ended = receipts > 0
    cycle_met = cycle_ended & (state.net_stock >= -tolerance)
    if state.short_since_receipt is not None:
        cycle_met &= ~state.short_since_receipt
    net_stock = state.net_stock + receipts
    on_order = state.on_order - receipts

    served = np.minimum(demand, np.maximum(net_stock, 0.0))
    net_stock = net_stock - demand
    lost = np.zeros_like(served)
    short_since_receipt = state.short_since_receipt
    if lost_sales is not None and np.any(lost_sales):
        lost_sales = np.asarray(lost_sales, dtype=bool)
        lost = np.where(lost_sales, demand - served, 0.0)
        net_stock = np.where(lost_sales, np.maximum(net_stock, 0.0), net_stock)
        earlier = np.zeros_like(lost_sales) if short_since_receipt is None else short_since_receipt & ~cycle_ended
        short_since_receipt = earlier | (lost > tolerance)
    elif short_since_receipt is not None:
        short_since_receipt = short_since_receipt & ~cycle_ended

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
                            last_arrival=np.where(placed, lead_time, state.last_arrival - 1),
                            short_since_receipt=short_since_receipt)
    return WeekOutcome(state=next_state, receipts=receipts, cycle_ended=cycle_ended, cycle_met=cycle_met,
                       served=served, order=order, lead_time=lead_time, lost=lost)


__all__ = ["StockState", "WeekOutcome", "initial_state", "week_step"]
