"""Buyers' decisions on earlier order lines, fed back into the next run (issue 18, item 2).

A decision (table ``order_decisions``) approves or rejects one line of a run's order files. Two
pure steps use them in a later run:

* ``pending_approvals`` — an approved line counts as on order until the ERP's purchase-order file
  shows it. A PO line *shows* an approved line when either
  (a) its ``po_id`` equals the decision's ``po_reference`` (when the buyer gave one), or
  (b) sku, supplier and quantity are equal and its ``order_date`` lies in the window
      [the decided run's as_of, as_of + ``match_days``] (a missing order date never matches).
  Any PO line of the file counts, open or received: once the ERP has it, the ERP's line is what
  the run plans with (counted once). One PO line may show several identical approvals (same
  sku, supplier, quantity, overlapping windows): approve each quantity once, or give a reference.
  ``with_approved_orders`` appends the pending lines to ``PlanningInputs``' open order lines:
  remaining quantity = the approved quantity, arrival = the line's ``expected_arrival`` (its
  order-by date + the mean lead time of the run that recommended it; as_of + 0 when missing).
* ``mark_rejected`` — a (sku, supplier) rejected in a run whose as_of lies within
  ``memory_weeks`` weeks before the planning date (0 <= as_of - decided as_of < 7·memory_weeks
  days) is not recommended again: its recommended line gets status ``rejected`` and the reason
  names who rejected it and when; it is not written to the order files.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .planning_inputs import PlanningInputs

#: Columns of the decisions frame the steps read (``order_decisions`` rows plus the decided run's as_of).
DECISION_COLUMNS = ("run_id", "as_of", "line_key", "sku", "supplier_id", "decision", "quantity", "user",
                    "decided_at", "expected_arrival", "po_reference")


def pending_approvals(decisions: pd.DataFrame, purchase_orders: pd.DataFrame, match_days: int) -> pd.DataFrame:
    """The approved decisions the ERP's ``purchase_orders`` do not show yet (rule: module docstring),
    in their order, with a ``matched_po_id`` column dropped."""
    approved = decisions[decisions["decision"] == "approved"].reset_index(drop=True)
    if approved.empty or purchase_orders.empty:
        return approved
    po = purchase_orders.assign(
        sku=purchase_orders["sku"].astype(str), supplier_id=purchase_orders["supplier_id"].astype(str),
        po_id=purchase_orders["po_id"].astype(str), quantity=purchase_orders["quantity"].astype(float),
        order_date=pd.to_datetime(purchase_orders["order_date"], errors="coerce"))
    lines = approved.assign(line=np.arange(len(approved)), sku=approved["sku"].astype(str),
                            supplier_id=approved["supplier_id"].astype(str),
                            quantity=approved["quantity"].astype(float), as_of=pd.to_datetime(approved["as_of"]))
    same = lines.merge(po[["sku", "supplier_id", "quantity", "order_date"]], on=["sku", "supplier_id", "quantity"])
    window_end = same["as_of"] + pd.to_timedelta(match_days, unit="D")
    by_content = same.loc[(same["order_date"] >= same["as_of"]) & (same["order_date"] <= window_end), "line"]
    reference = lines["po_reference"].astype("string").str.strip()
    by_reference = lines.loc[reference.isin(po["po_id"]).fillna(False).to_numpy(bool), "line"]
    shown = np.zeros(len(lines), dtype=bool)
    shown[np.concatenate([by_content.to_numpy(int), by_reference.to_numpy(int)])] = True
    return approved[~shown].reset_index(drop=True)


def with_approved_orders(planning: PlanningInputs, pending: pd.DataFrame) -> PlanningInputs:
    """``planning`` with the ``pending`` approved lines appended to its open order lines (lines of
    SKUs not planned are dropped); arrival: ``expected_arrival``, else the planning date."""
    row = pd.Index(planning.sku).get_indexer(pending["sku"].astype(str)) if len(pending) else np.zeros(0, np.intp)
    known = row >= 0
    if not known.any():
        return planning
    arrival = pd.to_datetime(pending["expected_arrival"], errors="coerce").fillna(planning.planning_date())
    return dataclasses.replace(
        planning,
        open_order_row=np.concatenate([planning.open_order_row, row[known]]).astype(np.intp),
        open_order_quantity=np.concatenate([planning.open_order_quantity,
                                            pending["quantity"].to_numpy(float)[known]]),
        open_order_arrival=np.concatenate([planning.open_order_arrival,
                                           arrival.to_numpy(dtype="datetime64[ns]")[known]]),
    )


def recent_rejections(decisions: pd.DataFrame, as_of: pd.Timestamp, memory_weeks: float) -> pd.DataFrame:
    """The rejected decisions of runs with 0 <= ``as_of`` - their as_of < 7·``memory_weeks`` days,
    the newest per (sku, supplier_id)."""
    rejected = decisions[decisions["decision"] == "rejected"]
    age_days = (pd.Timestamp(as_of) - pd.to_datetime(rejected["as_of"])).dt.days
    recent = rejected[(age_days >= 0) & (age_days < 7 * memory_weeks)]
    return (recent.sort_values(["as_of", "decided_at"]).drop_duplicates(["sku", "supplier_id"], keep="last")
            .reset_index(drop=True))


def mark_rejected(orders: pd.DataFrame, rejections: pd.DataFrame) -> pd.DataFrame:
    """``orders`` with each recommended line of a rejected (sku, supplier_id) given status
    ``rejected`` and the reason ``rejected by <user> on <YYYY-MM-DD> (run <id>); `` + its reason."""
    if orders.empty or rejections.empty:
        return orders
    key = ["sku", "supplier_id"]
    found = orders[key].astype(str).merge(rejections.assign(sku=rejections["sku"].astype(str),
                                                            supplier_id=rejections["supplier_id"].astype(str)),
                                          on=key, how="left")
    hit = found["decision"].notna().to_numpy() & (orders["status"] == "recommended").to_numpy()
    if not hit.any():
        return orders
    note = ("rejected by " + found["user"].fillna("?").astype(str) + " on "
            + pd.to_datetime(found["decided_at"]).dt.strftime("%Y-%m-%d").fillna("?").astype(str) + " (run "
            + found["run_id"].astype(str) + "); " + orders["reason"].astype(str).to_numpy())
    marked = orders.copy()
    marked["status"] = np.where(hit, "rejected", marked["status"].to_numpy())
    marked["reason"] = np.where(hit, note.to_numpy(dtype=object), marked["reason"].to_numpy())
    return marked
