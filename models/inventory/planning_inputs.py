"""The planning inputs of every SKU, aligned once to the demand matrix's SKU order.

``build_planning_inputs`` turns the loaded frames (items, suppliers, per-SKU lead times, the
inventory snapshot, purchase orders) into one ``PlanningInputs`` of numpy arrays, row i = SKU i
of ``skus``; ``compute_policy``, ``project_risk`` and ``recommend_orders`` read those arrays and
never re-align a frame themselves. Rules (the column contract is docs/architecture.md):

* items: the first row per sku. A SKU without an item row gets NaN unit cost, pack size, MOQ and
  target, and is not discontinued. ``discontinued``: status == 'discontinued' (any case).
* supplier_id: the item's supplier, else the lead-time table's (NaN when neither).
* review_period_weeks = the supplier's review_period_days / 7 (negative -> 0; unknown supplier or
  missing value -> 7 days). min_order_value: the supplier's (missing -> 0).
* lead_time_weeks_mean / sd / p90: the lead-time estimate of the SKU (``LeadTimes.per_sku``), NaN
  where it has none (``compute_policy`` applies ``config.fallback_lead_time_days`` there).
* on_hand, backordered: the inventory snapshot (missing -> 0).
* lost_sales: items.unmet_demand == 'lost' (demand that meets an empty shelf is lost, not
  backlogged: the projection and the fill-rate policy take their lost-sales form); False without
  the column or an item row.
* open purchase-order lines (status 'open', or not 'closed' and not received): remaining quantity
  = quantity - received_quantity (>= 0), expected on ``expected_date`` shifted by the supplier's
  signed mean lateness (``LeadTimes.per_supplier.mean_days_late``, whole days); lines without an
  expected date on order_date (as_of when missing) + the SKU's mean lead time. Lines of SKUs not
  in ``skus`` are dropped; the others keep their file order.

Without ``inventory`` / ``purchase_orders`` (a policy alone needs neither) on_hand = backordered
= 0 and there are no open lines; without ``as_of`` the inputs serve ``compute_policy`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .config import LeadTimes

OPEN_ORDER_FIELDS = ("open_order_row", "open_order_quantity", "open_order_arrival")


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """Per-SKU planning inputs, every array (n,) in the order of ``sku`` (module docstring), and
    the open purchase-order lines as (m,) arrays: the SKU row of each line, its remaining
    quantity and expected arrival (datetime64). ``as_of``: the planning date (None = inputs for
    ``compute_policy`` only)."""

    sku: np.ndarray
    supplier_id: np.ndarray
    unit_cost: np.ndarray
    pack_size: np.ndarray
    moq: np.ndarray
    service_level: np.ndarray
    discontinued: np.ndarray
    review_period_weeks: np.ndarray
    min_order_value: np.ndarray
    lead_time_weeks_mean: np.ndarray
    lead_time_weeks_sd: np.ndarray
    lead_time_weeks_p90: np.ndarray
    on_hand: np.ndarray
    backordered: np.ndarray
    open_order_row: np.ndarray
    open_order_quantity: np.ndarray
    open_order_arrival: np.ndarray
    as_of: pd.Timestamp | None = None
    lost_sales: np.ndarray | None = None   # (n,) bool; None = all `backorder` (set to zeros on creation)

    def __post_init__(self) -> None:
        n = len(self.sku)
        if self.lost_sales is None:
            object.__setattr__(self, "lost_sales", np.zeros(n, dtype=bool))
        for field in fields(self):
            if field.name in OPEN_ORDER_FIELDS or field.name == "as_of":
                continue
            if len(getattr(self, field.name)) != n:
                raise ValueError(f"PlanningInputs.{field.name} has {len(getattr(self, field.name))} values "
                                 f"for {n} SKUs")
        lines = {len(getattr(self, name)) for name in OPEN_ORDER_FIELDS}
        if len(lines) != 1:
            raise ValueError(f"PlanningInputs open-order arrays differ in length: {sorted(lines)}")

    def planning_date(self) -> pd.Timestamp:
        """``as_of``; a ValueError when the inputs were built without it (policy only)."""
        if self.as_of is None:
            raise ValueError("these PlanningInputs were built without as_of: they serve compute_policy only")
        return self.as_of

    def check_rows(self, frame: pd.DataFrame, name: str) -> None:
        """A ValueError unless ``frame`` (a stage's output, e.g. the policy) has one row per SKU in
        this order: the stages pass their frames on aligned, so nothing is re-aligned."""
        if len(frame) != len(self.sku) or not np.array_equal(frame["sku"].astype(str).to_numpy(), self.sku):
            raise ValueError(f"the {name} rows are not the planning inputs' SKUs in their order")


def build_planning_inputs(skus: np.ndarray, items: pd.DataFrame, suppliers: pd.DataFrame, lead_times: LeadTimes,
                          inventory: pd.DataFrame | None = None, purchase_orders: pd.DataFrame | None = None,
                          as_of: pd.Timestamp | None = None) -> PlanningInputs:
    """The ``PlanningInputs`` of ``skus`` from the loaded frames (rules: module docstring)."""
    skus = np.asarray(skus).astype(str)
    n = len(skus)
    as_of = None if as_of is None else pd.Timestamp(as_of)
    item = items.drop_duplicates("sku").assign(sku=lambda f: f["sku"].astype(str)).set_index("sku").reindex(skus)
    lead = lead_times.per_sku.drop_duplicates("sku").set_index("sku").reindex(skus)
    supplier = suppliers.drop_duplicates("supplier_id").assign(
        supplier_id=lambda f: f["supplier_id"].astype(str)).set_index("supplier_id")
    supplier_id = item["supplier_id"].astype(object).where(item["supplier_id"].notna(), lead["supplier_id"])
    supplier_key = supplier_id.astype(str)
    review_days = supplier["review_period_days"].reindex(supplier_key).to_numpy(float)

    if inventory is None:
        on_hand, backordered = np.zeros(n), np.zeros(n)
    else:
        stock = inventory.drop_duplicates("sku").assign(sku=lambda f: f["sku"].astype(str)).set_index("sku").reindex(skus)
        on_hand = np.nan_to_num(stock["on_hand"].to_numpy(float))
        backordered = np.nan_to_num(stock["backordered"].to_numpy(float)) if "backordered" in stock else np.zeros(n)
    lead_supplier_id = lead["supplier_id"].to_numpy()
    lead_mean = lead["lead_time_weeks_mean"].to_numpy(float)
    if purchase_orders is None:
        row, remaining, arrival = np.zeros(0, np.intp), np.zeros(0), np.array([], dtype="datetime64[ns]")
    elif as_of is None:
        raise ValueError("purchase_orders need as_of (the date an order without order_date was placed)")
    else:
        row, remaining, arrival = open_order_lines(skus, purchase_orders, lead_supplier_id, lead_mean,
                                                   lead_times.per_supplier, as_of)

    return PlanningInputs(
        sku=skus,
        supplier_id=supplier_id.to_numpy(),
        unit_cost=item["unit_cost"].to_numpy(float),
        pack_size=item["pack_size"].to_numpy(float),
        moq=item["moq"].to_numpy(float),
        service_level=item["service_level"].to_numpy(float),
        discontinued=(item["status"].astype(str).str.lower() == "discontinued").to_numpy(),
        review_period_weeks=np.where(np.isfinite(review_days), np.maximum(review_days, 0.0), 7.0) / 7.0,
        min_order_value=supplier["min_order_value"].reindex(supplier_key).fillna(0.0).to_numpy(float),
        lead_time_weeks_mean=lead_mean,
        lead_time_weeks_sd=lead["lead_time_weeks_sd"].to_numpy(float),
        lead_time_weeks_p90=lead["lead_time_weeks_p90"].to_numpy(float),
        on_hand=on_hand,
        backordered=backordered,
        open_order_row=row,
        open_order_quantity=remaining,
        open_order_arrival=arrival,
        as_of=as_of,
        lost_sales=((item["unmet_demand"].astype(str).str.lower() == "lost").to_numpy() if "unmet_demand" in item
                    else np.zeros(n, dtype=bool)),
    )


def open_order_mask(purchase_orders: pd.DataFrame) -> np.ndarray:
    """(m,) True for the open lines: status 'open' (any case), or not 'closed' and not received."""
    po = purchase_orders
    status = po["status"].astype(str).str.lower() if "status" in po else pd.Series("", index=po.index)
    received_date = pd.to_datetime(po["received_date"], errors="coerce")
    return ((status == "open") | ((status != "closed") & received_date.isna())).to_numpy()


def open_order_lines(skus: np.ndarray, purchase_orders: pd.DataFrame, lead_supplier_id: np.ndarray,
                     lead_mean: np.ndarray, per_supplier: pd.DataFrame,
                     as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SKU row, remaining quantity, expected arrival) of each open PO line of ``skus``, in file
    order; ``lead_supplier_id`` / ``lead_mean`` (n,) the lead-time table's supplier and mean
    (weeks) per SKU row, ``per_supplier`` the supplier table with ``mean_days_late``."""
    po = purchase_orders[open_order_mask(purchase_orders)]
    row = pd.Index(skus).get_indexer(po["sku"].astype(str))
    known = row >= 0
    po, row = po[known], row[known]
    remaining = (po["quantity"].astype(float) - po["received_quantity"].astype(float).fillna(0.0)).clip(lower=0.0)
    supplier_late = per_supplier.set_index("supplier_id")["mean_days_late"].fillna(0.0)
    supplier = po["supplier_id"].astype(object).where(po["supplier_id"].notna(),
                                                      pd.Series(lead_supplier_id[row], index=po.index))
    shift_days = supplier.astype(str).map(supplier_late).astype(float).fillna(0.0).round()
    expected = pd.to_datetime(po["expected_date"], errors="coerce")
    ordered = pd.to_datetime(po["order_date"], errors="coerce").fillna(as_of)
    lead_weeks = lead_mean[row]
    lead_days = (pd.Series(np.where(np.isnan(lead_weeks), 0.0, lead_weeks), index=po.index) * 7.0).round()
    fallback = ordered + pd.to_timedelta(lead_days, unit="D")
    arrival = expected.fillna(fallback) + pd.to_timedelta(shift_days.where(expected.notna(), 0.0), unit="D")
    return row, remaining.to_numpy(float), arrival.to_numpy()
