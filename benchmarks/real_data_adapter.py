"""Convert the real data sets in shared/data/real/ (beside the checkout) into a safestock input folder.

Usage::

    python benchmarks/real_data_adapter.py --dataset man  --out DIR [--fmt csv|parquet]
    python benchmarks/real_data_adapter.py --dataset scms --out DIR [--data-dir PATH]
    python benchmarks/real_data_adapter.py --dataset jewelry --out DIR

The real files are read in place (never copied into the repository). Each adapter returns the
contract tables and a report of rows in, rows out and rows dropped with the reason; the script
prints that report. What the adapters invent (inventory snapshots, review periods) is listed in
docs/demo-data.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from safestock.pipelines.demo.data import CONTRACT_TABLES, write_demo_data

# The real data sets, read in place: $SAFESTOCK_REAL_DATA, else shared/data/real beside the checkout.
REAL_DATA_DIR = Path(os.environ.get("SAFESTOCK_REAL_DATA")
                     or Path(__file__).resolve().parents[2] / "shared" / "data" / "real")
MAN_SUPPLIERS = {"nl": ("SUP-NL", "MAN supplier Netherlands"), "asia": ("SUP-ASIA", "MAN supplier Asia")}
INCOMPLETE_WEEK_RATIO = 0.5  # trailing weeks with fewer active SKUs than this share are cut
MAN_COVER_WEEKS = 4  # invented on-hand snapshot: this many weeks of mean demand (last 52 weeks)
JEWELRY_SUPPLIER = ("SUP-JEWELRY", "Costume jewelry supplier (invented)")
JEWELRY_LEAD_TIME_DAYS = 28   # invented: the set has no supply data (4 weeks, weekly review)
DEFAULT_REVIEW_PERIOD_DAYS = 7
PO_COLUMNS = ["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
              "received_date", "received_quantity", "status"]


@dataclass
class AdapterReport:
    """Row counts in and out, dropped rows by reason, and observations about the data."""

    dataset: str
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """Human-readable multi-line summary."""
        lines = [f"dataset: {self.dataset}", "rows in:"]
        lines += [f"  {name}: {count:,}" for name, count in self.rows_in.items()]
        lines.append("dropped:" if self.dropped else "dropped: none")
        lines += [f"  {count:,}  {reason}" for reason, count in self.dropped.items()]
        lines.append("rows out:")
        lines += [f"  {name}: {count:,}" for name, count in self.rows_out.items()]
        lines += ["notes:"] + [f"  - {note}" for note in self.notes]
        return "\n".join(lines)


def _empty_purchase_orders() -> pd.DataFrame:
    """A purchase_orders frame with the contract columns and no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in PO_COLUMNS})
    for column in ("order_date", "expected_date", "received_date"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    frame["quantity"] = pd.Series(dtype=float)
    frame["received_quantity"] = pd.Series(dtype=float)
    return frame


def _iso_week_monday(year_week: pd.Series) -> pd.Series:
    """'2012-W01' -> Timestamp of that ISO week's Monday (vectorised over unique values)."""
    unique = pd.Series(year_week.unique())
    parts = unique.str.extract(r"^(\d{4})-W(\d{2})$").astype(int)
    mondays = [dt.date.fromisocalendar(y, w, 1) for y, w in zip(parts[0], parts[1])]
    lookup = dict(zip(unique, pd.to_datetime(mondays)))
    return year_week.map(lookup)


def _trailing_incomplete_weeks(weekly: pd.DataFrame) -> list[pd.Timestamp]:
    """Last weeks whose count of SKUs with demand is far below the median of the 26 before.

    A data extract cut mid-week shows up as a last week with few or no demand rows; treating it
    as real would put a false drop at the end of every series.
    """
    active = weekly[weekly["demand"] > 0].groupby("week")["sku"].nunique()
    active = active.reindex(sorted(weekly["week"].unique()), fill_value=0)
    incomplete: list[pd.Timestamp] = []
    while len(active) > 27:
        usual = active.iloc[-27:-1].median()
        if active.iloc[-1] >= INCOMPLETE_WEEK_RATIO * usual:
            break
        incomplete.insert(0, active.index[-1])
        active = active.iloc[:-1]
    return incomplete


def adapt_man(data_dir: Path = REAL_DATA_DIR) -> tuple[dict[str, pd.DataFrame], AdapterReport]:
    """MAN spare parts: per-SKU master data plus weekly demand -> contract tables.

    Weekly demand is placed on the Monday of its ISO week as one sales line; zero weeks are
    not written (the pipeline zero-fills). Suppliers are the two supplier regions with their
    nominal lead time. The inventory snapshot is invented: on hand = MAN_COVER_WEEKS weeks of
    mean weekly demand over the last 52 weeks, nothing backordered, as of the Sunday ending the
    last week. There is no purchase-order history (empty purchase_orders file).
    """
    report = AdapterReport("man")
    raw_items = pd.read_csv(data_dir / "man_items.csv")
    weekly = pd.read_csv(data_dir / "man_weekly_long.csv.gz", dtype={"sku": "int64"})
    report.rows_in = {"man_items.csv": len(raw_items), "man_weekly_long.csv.gz": len(weekly)}
    unknown_region = ~raw_items["supplier_region"].isin(list(MAN_SUPPLIERS))
    if unknown_region.any():
        report.dropped["items with an unknown supplier_region"] = int(unknown_region.sum())
        raw_items = raw_items[~unknown_region]
    sku_code = {sku: f"MAN-{sku:05d}" for sku in raw_items["sku"]}
    items = pd.DataFrame({
        "sku": raw_items["sku"].map(sku_code),
        "supplier_id": raw_items["supplier_region"].map(lambda r: MAN_SUPPLIERS[r][0]),
        "unit_cost": raw_items["unit_cost_eur"].astype(float),
        "pack_size": raw_items["units_per_pack"].astype(int),
        "moq": raw_items["moq_units"].astype(int),
        "description": raw_items["sku"].map(lambda s: f"MAN spare part {s}"),
        "service_level": np.nan,
        "status": "active",
    })
    lead_weeks = raw_items.groupby("supplier_region")["lead_time_weeks"]
    if (lead_weeks.nunique() > 1).any():
        report.notes.append("lead_time_weeks varies within a region; the supplier gets the median")
    suppliers = pd.DataFrame([
        {"supplier_id": MAN_SUPPLIERS[region][0], "name": MAN_SUPPLIERS[region][1],
         "lead_time_days": int(round(7 * weeks)), "review_period_days": DEFAULT_REVIEW_PERIOD_DAYS,
         "min_order_value": 0.0}
        for region, weeks in lead_weeks.median().items()])

    unknown_sku = ~weekly["sku"].isin(sku_code)
    missing_demand = weekly["demand"].isna()
    for reason, mask in (("weekly rows of SKUs not in man_items.csv", unknown_sku),
                         ("weekly rows with missing demand", missing_demand & ~unknown_sku)):
        if mask.any():
            report.dropped[reason] = int(mask.sum())
    weekly = weekly[~unknown_sku & ~missing_demand].copy()
    weekly["week"] = _iso_week_monday(weekly["year_week"])
    incomplete = _trailing_incomplete_weeks(weekly)
    if incomplete:
        trimmed = weekly["week"].isin(incomplete)
        report.dropped[f"rows of trailing incomplete weeks {', '.join(str(w.date()) for w in incomplete)} "
                       f"(< {INCOMPLETE_WEEK_RATIO:.0%} of the usual number of SKUs with demand)"] = int(trimmed.sum())
        weekly = weekly[~trimmed]
    last_week = weekly["week"].max()
    as_of = last_week + pd.Timedelta(days=6)
    recent = weekly[weekly["week"] > last_week - pd.Timedelta(weeks=52)]
    recent_mean = recent.groupby("sku")["demand"].sum() / 52
    fractional = int((weekly["demand"] % 1 != 0).sum())
    nonzero = weekly[weekly["demand"] != 0]
    sales = pd.DataFrame({"date": nonzero["week"].to_numpy(),
                          "sku": nonzero["sku"].map(sku_code).to_numpy(),
                          "quantity": nonzero["demand"].to_numpy()})
    sales = sales.sort_values(["date", "sku"], kind="stable").reset_index(drop=True)
    report.dropped["zero-demand weeks (implicit: the pipeline zero-fills)"] = len(weekly) - len(nonzero)
    on_hand = np.ceil(MAN_COVER_WEEKS * raw_items["sku"].map(recent_mean).fillna(0.0)).astype(int)
    inventory = pd.DataFrame({"sku": items["sku"], "on_hand": on_hand.to_numpy(), "as_of": as_of,
                              "backordered": 0})
    never_sold = len(items) - sales["sku"].nunique()
    moq_below_pack = int((items["moq"] < items["pack_size"]).sum())
    report.notes += [
        f"weekly data only: {weekly['week'].nunique()} ISO weeks "
        f"{weekly['year_week'].min()}..{weekly['year_week'].max()} kept, placed on Mondays",
        f"{fractional:,} weekly demands are fractional; kept as they are",
        f"{never_sold:,} of {len(items):,} SKUs have no demand in the whole history",
        f"zero-demand share of weeks: {1 - len(nonzero) / max(len(weekly), 1):.1%}",
        f"inventory invented: on hand = {MAN_COVER_WEEKS} weeks of mean demand of the last 52 "
        f"weeks, backordered 0, as_of {as_of.date()}",
        f"SKU ids are bare integers (1..{raw_items['sku'].max()}); written as MAN-00001 so no "
        "reader takes them for numbers",
        f"{(items['pack_size'] > 1).sum():,} SKUs have pack_size > 1; for {moq_below_pack:,} the "
        "MOQ is below one pack (the pack size then governs)",
        "dropped columns with no place in the contract: order_cost_eur, "
        "holding_cost_eur_per_unit_year",
        "no purchase-order history: purchase_orders is empty",
    ]
    tables = {"sales": sales, "items": items, "suppliers": suppliers, "inventory": inventory,
              "purchase_orders": _empty_purchase_orders()}
    report.rows_out = {name: len(tables[name]) for name in CONTRACT_TABLES}
    return tables, report


def adapt_scms(data_dir: Path = REAL_DATA_DIR) -> tuple[dict[str, pd.DataFrame], AdapterReport]:
    """SCMS purchase-order lines -> purchase_orders, suppliers and items for lead times.

    Kept: vendor PO lines with a PO-sent date and a delivery after it. order_date = PO sent to
    vendor, expected_date = scheduled delivery, received_date = delivered to client,
    received_quantity = line quantity (no partial receipts in the data), status closed.
    Items are item descriptions; quantities and unit_cost are per pack. Supplier lead time is
    the vendor's median quoted lead time (scheduled - PO sent). There is no demand: sales is
    empty and the inventory snapshot (zero stock) is invented so the folder is complete.
    """
    report = AdapterReport("scms")
    raw = pd.read_csv(data_dir / "scms_po_lines_with_leadtimes.csv", low_memory=False)
    report.rows_in = {"scms_po_lines_with_leadtimes.csv": len(raw)}
    po_sent_text = raw["PO Sent to Vendor Date"].astype(str).str.strip()
    order_date = pd.to_datetime(raw["PO Sent to Vendor Date_dt"], errors="coerce")
    expected = pd.to_datetime(raw["Scheduled Delivery Date_dt"], errors="coerce")
    received = pd.to_datetime(raw["Delivered to Client Date_dt"], errors="coerce")
    lead_days = (received - order_date).dt.days
    reasons = [
        ("shipped from a regional distribution centre (no vendor PO, no PO date)",
         po_sent_text.eq("N/A - From RDC")),
        ("PO sent date not captured", po_sent_text.eq("Date Not Captured")),
        ("PO sent or delivery date missing/unparseable: lead time missing",
         order_date.isna() | received.isna()),
        ("negative lead time: delivered before the PO was sent", lead_days < 0),
        ("zero lead time: PO sent and delivered the same day (dates back-filled)", lead_days == 0),
        ("scheduled delivery before the PO was sent", expected < order_date),
        ("scheduled delivery date missing", expected.isna()),
        ("line quantity missing or <= 0", ~(raw["Line Item Quantity"] > 0)),
    ]
    keep = pd.Series(True, index=raw.index)
    for reason, mask in reasons:  # each row counted under the first reason that applies
        hit = keep & mask.fillna(False)
        if hit.any():
            report.dropped[reason] = int(hit.sum())
        keep &= ~hit
    lines = raw[keep]
    order_date, expected, received = order_date[keep], expected[keep], received[keep]

    vendors = sorted(lines["Vendor"].unique())
    supplier_code = {v: f"SUP-{i:03d}" for i, v in enumerate(vendors, start=1)}
    descriptions = sorted(lines["Item Description"].unique())
    sku_code = {d: f"SCMS-{i:04d}" for i, d in enumerate(descriptions, start=1)}
    quantity = lines["Line Item Quantity"].astype(float).to_numpy()
    # The contract keys PO lines on (po_id, sku); SCMS repeats an item within a PO (split
    # shipments, several destinations). Later repeats get po_id '<PO>#2', '#3', ...
    po_number = lines["PO / SO #"].astype(str)
    repeat = lines.groupby(["PO / SO #", "Item Description"]).cumcount()
    po_id = po_number.where(repeat == 0, po_number + "#" + (repeat + 1).astype(str))
    purchase_orders = pd.DataFrame({
        "po_id": po_id.to_numpy(),
        "sku": lines["Item Description"].map(sku_code).to_numpy(),
        "supplier_id": lines["Vendor"].map(supplier_code).to_numpy(),
        "quantity": quantity, "order_date": order_date.to_numpy(),
        "expected_date": expected.to_numpy(), "received_date": received.to_numpy(),
        "received_quantity": quantity, "status": "closed",
    }).sort_values(["order_date", "po_id", "sku"], kind="stable").reset_index(drop=True)

    quoted = (expected - order_date).dt.days.groupby(lines["Vendor"]).median()
    suppliers = pd.DataFrame({
        "supplier_id": [supplier_code[v] for v in vendors], "name": vendors,
        "lead_time_days": [int(round(quoted[v])) for v in vendors],
        "review_period_days": DEFAULT_REVIEW_PERIOD_DAYS, "min_order_value": 0.0,
    })
    by_item = lines.groupby("Item Description")
    main_vendor = by_item["Vendor"].agg(lambda v: v.value_counts().index[0])
    items = pd.DataFrame({
        "sku": [sku_code[d] for d in descriptions],
        "supplier_id": [supplier_code[main_vendor[d]] for d in descriptions],
        "unit_cost": by_item["Pack Price"].median().reindex(descriptions).to_numpy(),
        "pack_size": 1, "moq": 0, "description": descriptions,
        "service_level": np.nan, "status": "active",
    })
    as_of = received.max() + pd.Timedelta(days=6 - received.max().weekday())
    inventory = pd.DataFrame({"sku": items["sku"], "on_hand": 0, "as_of": as_of, "backordered": 0})
    sales = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"),
                          "sku": pd.Series(dtype=object), "quantity": pd.Series(dtype=float)})
    multi_vendor = int((by_item["Vendor"].nunique() > 1).sum())
    off_vendor = int((purchase_orders["supplier_id"].to_numpy()
                      != purchase_orders["sku"].map(items.set_index("sku")["supplier_id"])).sum())
    delay = (received - expected).dt.days
    actual_lead = (received - order_date).dt.days
    report.notes += [
        f"{len(vendors)} vendors, {len(descriptions)} items (no item code: the description is the "
        f"key), {po_number.nunique():,} POs",
        f"{int((repeat > 0).sum()):,} lines repeat an item already on the same PO (split shipments "
        "or destinations); their po_id gets a '#n' suffix to keep (po_id, sku) unique",
        f"{multi_vendor} items are bought from more than one vendor; items.supplier_id is the "
        f"most frequent vendor, {off_vendor:,} PO lines name another vendor",
        f"actual lead time days: median {actual_lead.median():.0f}, p90 "
        f"{actual_lead.quantile(0.9):.0f}, max {actual_lead.max():.0f}; delivered after the "
        f"scheduled date: {(delay > 0).mean():.1%} of lines",
        "quantities and unit_cost are per pack; no partial receipts, no open lines",
        f"no demand: sales is empty; inventory invented (0 on hand) as of {as_of.date()}",
    ]
    tables = {"sales": sales, "items": items, "suppliers": suppliers, "inventory": inventory,
              "purchase_orders": purchase_orders}
    report.rows_out = {name: len(tables[name]) for name in CONTRACT_TABLES}
    return tables, report


def jewelry_week_start(year: pd.Series, week: pd.Series) -> pd.Series:
    """First day of the jewelry set's week ``week`` of ``year``: 1 January + 7 (week - 1) days (the
    set's weeks are not ISO weeks: every year has weeks 1-52; see benchmarks/forecast_accuracy.py)."""
    return pd.to_datetime(year.astype(str) + "-01-01") + pd.to_timedelta(7 * (week.astype(int) - 1), unit="D")


def jewelry_weekly(data_dir: Path = REAL_DATA_DIR) -> tuple[pd.DataFrame, AdapterReport]:
    """The jewelry set as (sku, week, units) rows, ``week`` the Monday the pipeline files the week
    under: the set's week start moved back to its ISO week's Monday (weeks stay 7 days apart within
    a year; at a year boundary two set weeks can share a Monday and are summed)."""
    report = AdapterReport("jewelry")
    raw = pd.read_csv(data_dir / "jewelry_weekly_long.csv")
    report.rows_in = {"jewelry_weekly_long.csv": len(raw)}
    missing = raw["units"].isna()
    negative = raw["units"] < 0
    for reason, mask in (("rows with missing units", missing), ("rows with negative units", negative & ~missing)):
        if mask.any():
            report.dropped[reason] = int(mask.sum())
    raw = raw[~missing & ~negative]
    start = jewelry_week_start(raw["year"], raw["week"])
    monday = start - pd.to_timedelta(start.dt.weekday, unit="D")
    weekly = (pd.DataFrame({"sku": raw["sku"].astype(str), "week": monday, "units": raw["units"].astype(float)})
              .groupby(["sku", "week"], as_index=False)["units"].sum())
    merged = len(raw) - len(weekly)
    if merged:
        report.notes.append(f"{merged:,} rows share an ISO week with another week of the same SKU (year boundary); "
                            "summed")
    return weekly, report


def adapt_jewelry(data_dir: Path = REAL_DATA_DIR) -> tuple[dict[str, pd.DataFrame], AdapterReport]:
    """Costume jewelry retail (weekly units per item) -> contract tables.

    Sales: one line per SKU and week with units > 0, on the week's Monday (``jewelry_weekly``).
    Everything else is invented, the set having only demand: one supplier with a 4-week lead time
    and weekly review, unit_cost 1 (no cost data: EOQ is then the review period's demand), pack 1,
    MOQ 0, service level from the ABC default, on hand = 4 weeks of mean demand over the last 52
    weeks as of the Sunday ending the last week, no purchase orders.
    """
    weekly, report = jewelry_weekly(data_dir)
    skus = sorted(weekly["sku"].unique(), key=lambda code: (len(code), code))
    items = pd.DataFrame({"sku": skus, "supplier_id": JEWELRY_SUPPLIER[0], "unit_cost": 1.0, "pack_size": 1,
                          "moq": 0, "description": [f"costume jewelry item {code}" for code in skus],
                          "service_level": np.nan, "status": "active"})
    suppliers = pd.DataFrame([{"supplier_id": JEWELRY_SUPPLIER[0], "name": JEWELRY_SUPPLIER[1],
                               "lead_time_days": JEWELRY_LEAD_TIME_DAYS,
                               "review_period_days": DEFAULT_REVIEW_PERIOD_DAYS, "min_order_value": 0.0}])
    last_week = weekly["week"].max()
    as_of = last_week + pd.Timedelta(days=6)
    recent = weekly[weekly["week"] > last_week - pd.Timedelta(weeks=52)].groupby("sku")["units"].sum() / 52
    inventory = pd.DataFrame({"sku": skus, "on_hand": np.ceil(MAN_COVER_WEEKS * recent.reindex(skus).fillna(0.0))
                              .astype(int).to_numpy(), "as_of": as_of, "backordered": 0})
    nonzero = weekly[weekly["units"] > 0]
    sales = (pd.DataFrame({"date": nonzero["week"].to_numpy(), "sku": nonzero["sku"].to_numpy(),
                           "quantity": nonzero["units"].to_numpy()})
             .sort_values(["date", "sku"], kind="stable").reset_index(drop=True))
    report.dropped["zero-unit weeks (implicit: the pipeline zero-fills)"] = len(weekly) - len(nonzero)
    report.notes += [
        f"{weekly['week'].nunique()} weeks {weekly['week'].min().date()}..{last_week.date()} (set weeks: 1 January "
        "+ 7 (week - 1) days, filed under their ISO week's Monday)",
        f"{len(skus)} items; supplier invented ({JEWELRY_LEAD_TIME_DAYS}-day lead time, weekly review), unit_cost 1, "
        "pack 1, MOQ 0, service level: ABC default",
        f"inventory invented: on hand = {MAN_COVER_WEEKS} weeks of mean demand of the last 52 weeks, "
        f"backordered 0, as_of {as_of.date()}",
        "no purchase-order history: purchase_orders is empty",
    ]
    tables = {"sales": sales, "items": items, "suppliers": suppliers, "inventory": inventory,
              "purchase_orders": _empty_purchase_orders()}
    report.rows_out = {name: len(tables[name]) for name in CONTRACT_TABLES}
    return tables, report


ADAPTERS = {"man": adapt_man, "scms": adapt_scms, "jewelry": adapt_jewelry}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: adapt one data set and write the input folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(ADAPTERS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="input folder to write")
    parser.add_argument("--fmt", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--data-dir", type=Path, default=REAL_DATA_DIR)
    args = parser.parse_args(argv)
    tables, report = ADAPTERS[args.dataset](args.data_dir)
    paths = write_demo_data(tables, args.out, args.fmt)
    print(report.format())
    print("written:")
    for name, path in paths.items():
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
