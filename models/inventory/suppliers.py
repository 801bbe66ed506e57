"""Supplier rollup of backorder risk and delivery performance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import LeadTimes, PolicyConfig

ROLLUP_COLUMNS = [
    "supplier_id", "name", "skus", "skus_at_risk", "expected_backorder_units", "expected_backorder_value",
    "lead_time_weeks_mean", "lead_time_weeks_p90", "on_time_rate", "receipts", "mean_days_late",
]


def rollup_suppliers(risk: pd.DataFrame, suppliers: pd.DataFrame, lead_times: LeadTimes,
                     config: PolicyConfig) -> pd.DataFrame:
    """One row per supplier (in the suppliers table or carrying SKUs).

    skus_at_risk counts SKUs with stockout_probability >= config.at_risk_probability (probability
    of a backorder within the protection interval given the current position, no new order).
    Expected backorders are summed; delivery figures come from the supplier lead-time estimate.
    Also carries ``lateness_trend_days`` (recent minus older mean lateness).
    """
    at_risk = risk["stockout_probability"].to_numpy(float) >= config.at_risk_probability
    grouped = risk.assign(supplier_id=risk["supplier_id"].astype(str), _at_risk=at_risk).groupby("supplier_id")
    sums = pd.DataFrame({
        "skus": grouped.size(),
        "skus_at_risk": grouped["_at_risk"].sum(),
        "expected_backorder_units": grouped["expected_backorder_units"].sum(),
        "expected_backorder_value": grouped["expected_backorder_value"].sum(min_count=1),
    })
    names = suppliers.drop_duplicates("supplier_id").assign(supplier_id=lambda f: f["supplier_id"].astype(str))
    names = names.set_index("supplier_id")["name"] if "name" in names else pd.Series(dtype=object)
    delivery = lead_times.per_supplier.assign(supplier_id=lambda f: f["supplier_id"].astype(str)).set_index("supplier_id")
    ids = names.index.union(sums.index)
    table = sums.reindex(ids)
    table[["skus", "skus_at_risk"]] = table[["skus", "skus_at_risk"]].fillna(0).astype(np.int64)
    table["expected_backorder_units"] = table["expected_backorder_units"].fillna(0.0)
    table["name"] = names.reindex(ids)
    for column in ("lead_time_weeks_mean", "lead_time_weeks_p90", "on_time_rate", "receipts",
                   "mean_days_late", "lateness_trend_days"):
        table[column] = delivery[column].reindex(ids) if column in delivery else np.nan
    table["receipts"] = table["receipts"].fillna(0).astype(np.int64)
    table.index.name = "supplier_id"
    table = table.reset_index().sort_values(["expected_backorder_value", "supplier_id"], ascending=[False, True],
                                            na_position="last")
    return table[ROLLUP_COLUMNS + ["lateness_trend_days"]].reset_index(drop=True)
