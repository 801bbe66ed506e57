"""Plausibility warnings on validated, typed inputs: values the contract accepts but that are
almost certainly stale or inconsistent records and change the plan without anything failing.

Each rule gives one `DataQualityNote` (severity 'warning', file, first line, column, row count)
that reaches the planner report's data-quality section and the `data_quality` table; the load
continues and the values are used as given (docs/data-contract.md, "Notes"):

* an open purchase-order line expected more than `STALE_OPEN_PO_DAYS` before as_of: the
  projection counts it as arriving in the first planning week, so it holds back every new order
  for its SKU although it will most likely never arrive;
* a purchase-order line received before its order date: a negative lead time, left out of the
  lead-time estimate (`safestock.models.inventory.lead_time`);
* an item's `service_level` outside `SERVICE_LEVEL_RANGE`: planned at the nearest bound
  (`safestock.models.inventory.policy.service_levels` clips targets to it).
"""

from __future__ import annotations

import pandas as pd
from safestock.pipelines.inputs.contract import DataQualityNote

#: An open purchase-order line this many days past its expected date is a stale record, not a late
#: delivery (late deliveries are exceptions to chase, not data errors).
STALE_OPEN_PO_DAYS = 365
#: The service-level targets the policy plans with: `policy.service_levels` clips to this range.
SERVICE_LEVEL_RANGE = (0.5, 0.9999)


def _note(file: str, lines: pd.Series, flagged: pd.Series, column: str, message: str) -> DataQualityNote:
    return DataQualityNote(file, int(lines[flagged].min()), column, "warning", message, int(flagged.sum()))


def plausibility_notes(frames: dict[str, pd.DataFrame], lines: dict[str, pd.Series],
                       file_names: dict[str, str], as_of: pd.Timestamp) -> list[DataQualityNote]:
    """Warnings for the rules in the module docstring; `frames` are the typed tables (as in
    `LoadedInputs`), `lines` their file line (or Parquet row) numbers, row for row."""
    notes: list[DataQualityNote] = []
    orders, order_lines, orders_file = (frames["purchase_orders"], lines["purchase_orders"],
                                        file_names["purchase_orders"])
    cutoff = as_of.normalize() - pd.Timedelta(days=STALE_OPEN_PO_DAYS)
    stale = (orders["status"] == "open") & (orders["expected_date"] < cutoff)
    if stale.any():
        notes.append(_note(
            orders_file, order_lines, stale, "expected_date",
            f"{int(stale.sum())} open purchase-order line(s) expected more than {STALE_OPEN_PO_DAYS} days "
            f"before as_of {as_of.date()} (oldest {orders.loc[stale, 'expected_date'].min().date()}): "
            "counted as arriving in the first planning week, they hold back new orders for their SKUs; "
            "close or re-date them"))
    early = orders["received_date"] < orders["order_date"]
    if early.any():
        notes.append(_note(
            orders_file, order_lines, early, "received_date",
            f"{int(early.sum())} purchase-order line(s) received before their order_date: left out of "
            "the lead-time estimate"))
    items, low_bound, high_bound = frames["items"], *SERVICE_LEVEL_RANGE
    level = items["service_level"]
    clipped = (level < low_bound) | (level > high_bound)
    if clipped.any():
        notes.append(_note(
            file_names["items"], lines["items"], clipped, "service_level",
            f"{int(clipped.sum())} service_level value(s) outside the range the policy plans with, "
            f"{low_bound:g} to {high_bound:g} (lowest {level[clipped].min():g}, highest "
            f"{level[clipped].max():g}): planned at the nearest bound"))
    return notes
