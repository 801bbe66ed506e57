"""Excess and dead stock per SKU (issue 18, item 3): where the planner's cash is stuck.

Per SKU i (arrays in the planning inputs' SKU order):

* inventory position IP = on_hand + on order − backordered (the risk stage's ``inventory_position``);
* excess_units = max(IP − (S + F), 0), where S is the policy's order-up-to level and F the
  forecast over the next ``cover_weeks`` weeks (sum of the weekly means): stock the policy would
  not have ordered and that the next ``cover_weeks`` weeks will not use;
* excess_value = excess_units × unit_cost;
* weeks_of_cover = on_hand / mean weekly forecast over the horizon (NaN when that mean is 0);
* dead: on hand > 0 and no demand in the last ``dead_weeks`` weeks of history, for a SKU whose
  history (from its first sale, ``start``) spans at least that many weeks (a launch is not dead);
* a discontinued item with stock on hand: all of its position is excess (S = 0, no forecast need).

Rows only for SKUs that are excess, dead, or discontinued with stock. Suggested action and reason,
first rule that holds: discontinued with stock → ``return to supplier``; dead → ``mark down``;
otherwise → ``stop ordering`` (until the excess is used). Rows are sorted by excess value,
largest first (then SKU).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .planning_inputs import PlanningInputs


def excess_stock(planning: PlanningInputs, inventory_position: np.ndarray, order_up_to: np.ndarray,
                 forecast_mean: np.ndarray, history: np.ndarray, start: np.ndarray, *, cover_weeks: int = 8,
                 dead_weeks: int = 26) -> pd.DataFrame:
    """The ``excess_stock`` rows (rules: module docstring). ``forecast_mean`` (n, H), ``history``
    (n, T) weekly demand, oldest first; ``start`` (n,) the column of each SKU's first sale."""
    position = np.nan_to_num(np.asarray(inventory_position, dtype=float))
    on_hand = planning.on_hand
    need = np.nan_to_num(np.asarray(order_up_to, dtype=float)) + forecast_mean[:, :cover_weeks].sum(axis=1)
    discontinued = planning.discontinued & (on_hand > 0)
    need = np.where(planning.discontinued, 0.0, need)
    excess_units = np.maximum(position - need, 0.0)
    weekly = forecast_mean.mean(axis=1) if forecast_mean.shape[1] else np.zeros(len(on_hand))
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(weekly > 0, on_hand / weekly, np.nan)
    recent = history[:, -dead_weeks:] if dead_weeks > 0 else history[:, :0]
    spans = (history.shape[1] - np.asarray(start, dtype=float)) >= dead_weeks
    dead = (on_hand > 0) & (np.nansum(recent, axis=1) <= 0) & (recent.shape[1] > 0) & spans
    keep = (excess_units > 0) | dead | discontinued
    action = np.where(discontinued, "return to supplier", np.where(dead, "mark down", "stop ordering"))
    units = np.char.mod("%.0f", excess_units)
    reason = np.where(
        discontinued, "discontinued with " + np.char.mod("%.0f", on_hand) + " on hand",
        np.where(dead, "no demand in the last " + str(dead_weeks) + " weeks, " + np.char.mod("%.0f", on_hand)
                 + " on hand",
                 units + " units above order-up-to " + np.char.mod("%.0f", np.nan_to_num(order_up_to))
                 + " + " + str(cover_weeks) + " weeks of forecast (" + np.char.mod("%.0f", need) + ")"))
    table = pd.DataFrame({
        "sku": planning.sku, "supplier_id": planning.supplier_id.astype(str), "on_hand": on_hand,
        "inventory_position": position, "excess_units": excess_units,
        "excess_value": excess_units * planning.unit_cost, "weeks_of_cover": cover, "dead": dead,
        "discontinued": planning.discontinued, "action": action.astype(object), "reason": reason.astype(object),
    })[keep]
    return table.sort_values(["excess_value", "sku"], ascending=[False, True], na_position="last").reset_index(
        drop=True)
