"""Lead-time estimation from received purchase-order lines.

A receipt is a PO line with both ``order_date`` and ``received_date`` (a partial receipt,
``received_quantity < quantity``, counts: its timing is a lead-time observation). Its lead time is
``(received_date - order_date)`` in weeks. Lines with a missing or negative duration, or received
after ``as_of`` (not yet known on the planning date), are ignored.

Per supplier: mean, sample sd (ddof 1; 0 with one receipt), p90 (linear interpolation), on-time
rate (share received on or before ``expected_date``), mean days late (signed: negative = early on
average) and the lateness trend (mean lateness of receipts in the last
``config.lateness_recent_days`` minus that of older receipts; NaN when either side is empty).
Suppliers without receipts get their nominal ``lead_time_days`` with sd = nominal_lead_time_cv x mean
and a normal p90.

Per item (sku, supplier_id of the item): the SKU's own statistics when it has
``min_receipts_for_sku_lead_time`` receipts or more (source 'sku'); with fewer, a credibility
blend w = n / min_receipts of its own and the supplier's statistics - mean w m_sku + (1-w) m_sup,
variance of the two-component mixture, p90 blended likewise (source 'supplier'); with no supplier
receipts the nominal lead time (source 'nominal').
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import LeadTimes, PolicyConfig

_Z90 = 1.2815515655446004

SUPPLIER_COLUMNS = [
    "supplier_id", "lead_time_weeks_mean", "lead_time_weeks_sd", "lead_time_weeks_p90",
    "on_time_rate", "receipts", "mean_days_late", "lateness_trend_days", "source",
]
SKU_COLUMNS = [
    "sku", "supplier_id", "lead_time_weeks_mean", "lead_time_weeks_sd", "lead_time_weeks_p90",
    "receipts", "source",
]


def receipts_table(purchase_orders: pd.DataFrame, items: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Valid receipts: sku, supplier_id, lead_time_weeks, days_late, on_time, received_date."""
    po = purchase_orders.copy()
    if "supplier_id" not in po.columns:
        po["supplier_id"] = np.nan
    item_supplier = items.drop_duplicates("sku").set_index("sku")["supplier_id"]
    po["supplier_id"] = po["supplier_id"].where(po["supplier_id"].notna(), po["sku"].map(item_supplier))
    order_date = pd.to_datetime(po["order_date"], errors="coerce")
    received = pd.to_datetime(po["received_date"], errors="coerce")
    expected = pd.to_datetime(po["expected_date"], errors="coerce")
    days = (received - order_date).dt.days
    valid = days.notna() & (days >= 0) & (received <= as_of) & po["supplier_id"].notna()
    days_late = (received - expected).dt.days
    return pd.DataFrame({
        "sku": po["sku"].astype(str),
        "supplier_id": po["supplier_id"].astype(str),
        "lead_time_weeks": days / 7.0,
        "days_late": days_late.astype(float),
        "on_time": np.where(days_late.notna(), (days_late <= 0).astype(float), np.nan),
        "received_date": received,
    })[valid.to_numpy()].reset_index(drop=True)


def _lead_time_stats(receipts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = receipts.groupby(keys, sort=True)["lead_time_weeks"]
    stats = pd.DataFrame({
        "lead_time_weeks_mean": grouped.mean(),
        "lead_time_weeks_sd": grouped.std(ddof=1).fillna(0.0),
        "lead_time_weeks_p90": grouped.quantile(0.9),
        "receipts": grouped.size(),
    })
    return stats.reset_index()


def _supplier_table(receipts: pd.DataFrame, suppliers: pd.DataFrame, item_suppliers: pd.Index,
                    as_of: pd.Timestamp, config: PolicyConfig) -> pd.DataFrame:
    observed = _lead_time_stats(receipts, ["supplier_id"]).set_index("supplier_id")
    by_supplier = receipts.groupby("supplier_id")
    observed["on_time_rate"] = by_supplier["on_time"].mean()
    observed["mean_days_late"] = by_supplier["days_late"].mean()
    recent = receipts["received_date"] > as_of - pd.Timedelta(days=config.lateness_recent_days)
    late_recent = receipts[recent].groupby("supplier_id")["days_late"].mean()
    late_past = receipts[~recent].groupby("supplier_id")["days_late"].mean()
    observed["lateness_trend_days"] = late_recent.reindex(observed.index) - late_past.reindex(observed.index)
    observed["source"] = "receipts"

    nominal_days = suppliers.drop_duplicates("supplier_id").set_index("supplier_id")["lead_time_days"]
    nominal_days.index = nominal_days.index.astype(str)
    all_ids = nominal_days.index.union(observed.index).union(item_suppliers.astype(str))
    table = observed.reindex(all_ids)
    missing = table["receipts"].isna()
    nominal_weeks = nominal_days.reindex(all_ids).astype(float).fillna(config.fallback_lead_time_days) / 7.0
    table.loc[missing, "lead_time_weeks_mean"] = nominal_weeks[missing]
    table.loc[missing, "lead_time_weeks_sd"] = nominal_weeks[missing] * config.nominal_lead_time_cv
    table.loc[missing, "lead_time_weeks_p90"] = nominal_weeks[missing] * (1 + _Z90 * config.nominal_lead_time_cv)
    table.loc[missing, "receipts"] = 0
    table.loc[missing, "source"] = "nominal"
    table["receipts"] = table["receipts"].astype(int)
    table.index.name = "supplier_id"
    return table.reset_index()[SUPPLIER_COLUMNS]


def estimate_lead_times(purchase_orders: pd.DataFrame, items: pd.DataFrame, suppliers: pd.DataFrame,
                        as_of: pd.Timestamp, config: PolicyConfig) -> LeadTimes:
    """Lead-time statistics per supplier and per item (see the module docstring for the rules)."""
    as_of = pd.Timestamp(as_of)
    receipts = receipts_table(purchase_orders, items, as_of)
    item_keys = items[["sku", "supplier_id"]].drop_duplicates("sku").astype(str).reset_index(drop=True)
    per_supplier = _supplier_table(receipts, suppliers, pd.Index(item_keys["supplier_id"].unique()), as_of, config)

    sup = per_supplier.set_index("supplier_id").reindex(item_keys["supplier_id"])
    own = _lead_time_stats(receipts, ["sku", "supplier_id"])
    own = item_keys.merge(own, on=["sku", "supplier_id"], how="left")
    n = own["receipts"].fillna(0).to_numpy(float)
    weight = np.clip(n / max(config.min_receipts_for_sku_lead_time, 1), 0.0, 1.0)
    sup_mean = sup["lead_time_weeks_mean"].to_numpy(float)
    sup_sd = sup["lead_time_weeks_sd"].to_numpy(float)
    own_mean = own["lead_time_weeks_mean"].fillna(0.0).to_numpy(float)
    # with a single receipt the SKU's own spread is unknown: use the supplier's
    own_sd = np.where(n >= 2, own["lead_time_weeks_sd"].fillna(0.0).to_numpy(float), sup_sd)
    mean = weight * own_mean + (1 - weight) * sup_mean
    variance = (weight * own_sd**2 + (1 - weight) * sup_sd**2
                + weight * (1 - weight) * (own_mean - sup_mean) ** 2)
    p90 = (weight * own["lead_time_weeks_p90"].fillna(0.0).to_numpy(float)
           + (1 - weight) * sup["lead_time_weeks_p90"].to_numpy(float))
    source = np.where(weight >= 1.0, "sku",
                      np.where(sup["source"].to_numpy() == "nominal", "nominal", "supplier"))
    per_sku = pd.DataFrame({
        "sku": item_keys["sku"],
        "supplier_id": item_keys["supplier_id"],
        "lead_time_weeks_mean": mean,
        "lead_time_weeks_sd": np.sqrt(variance),
        "lead_time_weeks_p90": np.maximum(p90, mean),
        "receipts": n.astype(int),
        "source": source,
    })
    return LeadTimes(per_sku=per_sku[SKU_COLUMNS], per_supplier=per_supplier)
