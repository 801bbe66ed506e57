"""Tests for the seeded demo-data generator (pipelines/demo/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.pipelines.demo.data import (
    CONTRACT_TABLES,
    DEFAULT_AS_OF,
    TRUTH_TABLE,
    default_supplier_count,
    generate_demo_data,
    write_demo_data,
)

from tests.benchmark_scripts import benchmark_module

N_SKUS = 300
YEARS = 2.0
COLUMNS = {
    "sales": ["date", "sku", "quantity"],
    "items": ["sku", "supplier_id", "unit_cost", "pack_size", "moq", "description",
              "service_level", "status", "category"],
    "suppliers": ["supplier_id", "name", "lead_time_days", "review_period_days",
                  "min_order_value"],
    "inventory": ["sku", "on_hand", "as_of", "backordered"],
    "purchase_orders": ["po_id", "sku", "supplier_id", "quantity", "order_date",
                        "expected_date", "received_date", "received_quantity", "status"],
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_demo_data(N_SKUS, years=YEARS, seed=7)


def weekly_classes(sales: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Syntetos-Boylan class per SKU from weekly demand since its first sale."""
    demand = sales[sales["quantity"] > 0]
    week = demand["date"] - pd.to_timedelta(demand["date"].dt.weekday, unit="D")
    weekly = demand.assign(week=week).groupby(["sku", "week"], observed=True)["quantity"].sum()
    per_sku = weekly.groupby(level="sku", observed=True).agg(["count", "mean", "std"])
    first_week = weekly.reset_index().groupby("sku", observed=True)["week"].min()
    history_weeks = (pd.Timestamp(as_of) - first_week).dt.days // 7 + 1
    adi = history_weeks / per_sku["count"]
    cv2 = (per_sku["std"].fillna(0) / per_sku["mean"]) ** 2
    label = np.where(adi < 1.32, np.where(cv2 < 0.49, "smooth", "erratic"),
                     np.where(cv2 < 0.49, "intermittent", "lumpy"))
    return pd.DataFrame({"adi": adi, "cv2": cv2, "label": label})


def test_deterministic_for_a_seed(tables: dict[str, pd.DataFrame]) -> None:
    again = generate_demo_data(N_SKUS, years=YEARS, seed=7)
    for name in (*CONTRACT_TABLES, TRUTH_TABLE):
        pd.testing.assert_frame_equal(tables[name], again[name])
    other = generate_demo_data(N_SKUS, years=YEARS, seed=8)
    assert not other["sales"].equals(tables["sales"])


def test_shapes_columns_and_ids(tables: dict[str, pd.DataFrame]) -> None:
    for name, columns in COLUMNS.items():
        assert list(tables[name].columns) == columns, name
    assert len(tables["items"]) == len(tables["inventory"]) == N_SKUS
    assert len(tables["suppliers"]) == default_supplier_count(N_SKUS) == 12
    assert tables["items"]["sku"].is_unique
    assert tables["items"]["sku"].str.fullmatch(r"SKU-\d{6}").all()
    assert tables["suppliers"]["supplier_id"].str.fullmatch(r"SUP-\d{3}").all()
    assert default_supplier_count(10) == 3 and default_supplier_count(100_000) == 60


def test_references_are_valid(tables: dict[str, pd.DataFrame]) -> None:
    skus = set(tables["items"]["sku"])
    suppliers = set(tables["suppliers"]["supplier_id"])
    assert set(tables["sales"]["sku"].astype(str)) <= skus
    assert set(tables["purchase_orders"]["sku"].astype(str)) <= skus
    assert set(tables["inventory"]["sku"]) == skus
    assert set(tables["items"]["supplier_id"]) <= suppliers
    po = tables["purchase_orders"].merge(tables["items"][["sku", "supplier_id"]],
                                         on="sku", suffixes=("", "_item"))
    assert (po["supplier_id"] == po["supplier_id_item"]).all()


def test_dates_in_range_and_snapshot_at_as_of(tables: dict[str, pd.DataFrame]) -> None:
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    first_day = as_of - pd.Timedelta(days=int(round(YEARS * 52)) * 7 - 1)
    assert first_day.weekday() == 0 and as_of.weekday() == 6
    sales, po, inventory = tables["sales"], tables["purchase_orders"], tables["inventory"]
    assert sales["date"].min() >= first_day and sales["date"].max() == as_of
    assert sales["date"].is_monotonic_increasing
    assert po["order_date"].between(first_day, as_of).all()
    assert (po["expected_date"] > po["order_date"]).all()
    received = po["received_date"].notna()
    assert (po.loc[received, "received_date"] <= as_of).all()
    assert (po.loc[received, "received_date"] > po.loc[received, "order_date"]).all()
    assert (inventory["as_of"] == as_of).all()
    assert (inventory["on_hand"] >= 0).all() and (inventory["backordered"] >= 0).all()


def test_class_mix_from_weekly_demand(tables: dict[str, pd.DataFrame]) -> None:
    measured = weekly_classes(tables["sales"], DEFAULT_AS_OF)
    truth = tables[TRUTH_TABLE].set_index("sku")
    joined = measured.join(truth["demand_class"])
    shares = joined["label"].value_counts(normalize=True)
    for label in ("smooth", "erratic", "intermittent", "lumpy"):
        assert shares.get(label, 0) > 0.08, (label, shares)
        generated = joined[joined["demand_class"] == label]
        assert (generated["label"] == label).mean() > 0.8, label


def test_new_and_discontinued_items(tables: dict[str, pd.DataFrame]) -> None:
    sales, items = tables["sales"], tables["items"].set_index("sku")
    truth = tables[TRUTH_TABLE].set_index("sku")
    first_sale = sales.groupby("sku", observed=True)["date"].min()
    last_sale = sales[sales["quantity"] > 0].groupby("sku", observed=True)["date"].max()
    as_of = pd.Timestamp(DEFAULT_AS_OF)
    new = truth.index[truth["demand_class"] == "new"]
    history_days = (as_of - first_sale.reindex(new).dropna()).dt.days
    assert len(history_days) > 0 and history_days.between(14, 200).all()
    discontinued = items.index[items["status"] == "discontinued"]
    assert (truth.loc[discontinued, "demand_class"] == "discontinued").all()
    assert ((as_of - last_sale.reindex(discontinued).dropna()).dt.days >= 90).all()
    assert set(items["status"]) == {"active", "discontinued"}


def test_categories_follow_the_description(tables: dict[str, pd.DataFrame]) -> None:
    """items.category comes from the description's noun (no random draw of its own): every bearing
    is mechanical, every fuse electrical, every hose fluid handling."""
    items = tables["items"]
    noun = items["description"].str.split(" ").str[1]
    expected = {"bearing": "mechanical", "fuse": "electrical", "hose": "fluid handling", "bolt": "fasteners"}
    shown = items[noun.isin(list(expected))]
    assert len(shown) > 0 and (shown["category"] == noun[noun.isin(list(expected))].map(expected)).all()
    assert items["category"].nunique() == 4 and items["category"].notna().all()


def test_service_levels_mostly_empty(tables: dict[str, pd.DataFrame]) -> None:
    service_level = tables["items"]["service_level"]
    assert 0 < service_level.notna().mean() < 0.15
    assert service_level.dropna().between(0, 1).all()


def test_returns_and_multiple_lines_per_day(tables: dict[str, pd.DataFrame]) -> None:
    sales = tables["sales"]
    return_share = (sales["quantity"] < 0).mean()
    assert 0.001 < return_share < 0.03
    assert (sales["quantity"] != 0).all()
    assert sales.duplicated(["date", "sku"]).any()


def test_stockouts_and_backorders_occur(tables: dict[str, pd.DataFrame]) -> None:
    truth = tables[TRUTH_TABLE]
    assert (truth["stockout_days"] > 0).mean() > 0.3
    assert (tables["inventory"]["backordered"] > 0).any()
    assert (tables["inventory"]["on_hand"] > 0).mean() > 0.5


def test_purchase_orders_open_partial_and_late(tables: dict[str, pd.DataFrame]) -> None:
    po = tables["purchase_orders"]
    is_open = po["status"] == "open"
    assert set(po["status"]) == {"open", "closed"}
    assert is_open.sum() > 0
    assert po.loc[is_open, ["received_date", "received_quantity"]].isna().all().all()
    assert po.loc[~is_open, ["received_date", "received_quantity"]].notna().all().all()
    closed = po[~is_open]
    partial = closed["received_quantity"] < closed["quantity"]
    assert 0 < partial.mean() < 0.2
    assert (closed["received_quantity"] > 0).all()
    delay = (closed["received_date"] - closed["expected_date"]).dt.days
    by_supplier = delay.groupby(closed["supplier_id"]).mean()
    assert (by_supplier > 5).any() and (by_supplier.abs() <= 2).any()
    lines_per_po = po.groupby("po_id", observed=True).size()
    assert lines_per_po.max() > 1
    assert po.groupby("po_id", observed=True)["supplier_id"].nunique().max() == 1


def test_suppliers_terms(tables: dict[str, pd.DataFrame]) -> None:
    suppliers = tables["suppliers"]
    assert (suppliers["min_order_value"] > 0).sum() >= 2
    assert set(suppliers["review_period_days"]) == {7, 14}
    assert suppliers["lead_time_days"].nunique() > 2
    items = tables["items"]
    assert (items["pack_size"] >= 1).all() and (items["moq"] >= 0).all()
    assert (items["unit_cost"] > 0).all()


def test_small_and_short_inputs() -> None:
    tiny = generate_demo_data(5, years=0.3, seed=1)
    assert len(tiny["items"]) == 5 and len(tiny["suppliers"]) == 3
    one_supplier = generate_demo_data(40, n_suppliers=1, years=0.5, as_of=dt.date(2025, 6, 4))
    assert set(one_supplier["items"]["supplier_id"]) == {"SUP-001"}
    assert one_supplier["sales"]["date"].max() == pd.Timestamp("2025-06-04")
    with pytest.raises(ValueError):
        generate_demo_data(0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_round_trip(tables: dict[str, pd.DataFrame], tmp_path: Path, fmt: str) -> None:
    paths = write_demo_data(tables, tmp_path, fmt)
    assert sorted(paths) == sorted(CONTRACT_TABLES)
    assert not (tmp_path / f"{TRUTH_TABLE}.{fmt}").exists()
    if fmt == "csv":
        items = pd.read_csv(paths["items"], dtype=str, keep_default_na=False)
        assert items["sku"].tolist() == tables["items"]["sku"].tolist()
        po_header = paths["purchase_orders"].read_text().splitlines()[0]
        assert po_header == ",".join(COLUMNS["purchase_orders"])
        po = pd.read_csv(paths["purchase_orders"], dtype=str, keep_default_na=False)
        assert po["order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        assert (po.loc[po["status"] == "open", "received_date"] == "").all()
        read = {name: pd.read_csv(path) for name, path in paths.items()}
    else:
        read = {name: pd.read_parquet(path) for name, path in paths.items()}
    for name in CONTRACT_TABLES:
        assert len(read[name]) == len(tables[name])
        assert list(read[name].columns) == COLUMNS[name]
    assert read["sales"]["quantity"].sum() == tables["sales"]["quantity"].sum()


def test_generated_folder_passes_the_loader(tmp_path: Path) -> None:
    from safestock.pipelines.inputs import load_inputs

    write_demo_data(generate_demo_data(60, years=1.0, seed=3), tmp_path)
    loaded = load_inputs(tmp_path)
    assert loaded.as_of == pd.Timestamp(DEFAULT_AS_OF)
    assert len(loaded.items) == 60 and len(loaded.purchase_orders) > 0


REAL_DATA_DIR = benchmark_module("real_data_adapter").REAL_DATA_DIR
needs_real_data = pytest.mark.skipif(not (REAL_DATA_DIR / "man_items.csv").exists(),
                                     reason="real data sets not available")


def _assert_references(tables: dict[str, pd.DataFrame]) -> None:
    skus, suppliers = set(tables["items"]["sku"]), set(tables["suppliers"]["supplier_id"])
    assert set(tables["sales"]["sku"]) <= skus
    assert set(tables["purchase_orders"]["sku"]) <= skus
    assert set(tables["items"]["supplier_id"]) | set(tables["purchase_orders"]["supplier_id"]) <= suppliers
    assert set(tables["inventory"]["sku"]) == skus


@needs_real_data
def test_man_adapter_accounts_for_every_row(tmp_path: Path) -> None:
    adapter = benchmark_module("real_data_adapter")
    tables, report = adapter.adapt_man(REAL_DATA_DIR)
    _assert_references(tables)
    assert report.rows_out["sales"] + sum(report.dropped.values()) == report.rows_in[
        "man_weekly_long.csv.gz"]
    assert report.rows_out["items"] == report.rows_in["man_items.csv"] == 3451
    sales = tables["sales"]
    assert (sales["date"].dt.weekday == 0).all() and (sales["quantity"] != 0).all()
    assert (tables["inventory"]["as_of"].dt.weekday == 6).all()
    assert set(tables["suppliers"]["lead_time_days"]) == {49, 112}
    assert adapter.main(["--dataset", "man", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.csv" for t in CONTRACT_TABLES)


@needs_real_data
def test_scms_adapter_drops_dirty_lead_times() -> None:
    tables, report = benchmark_module("real_data_adapter").adapt_scms(REAL_DATA_DIR)
    _assert_references(tables)
    rows_in = report.rows_in["scms_po_lines_with_leadtimes.csv"]
    assert report.rows_out["purchase_orders"] + sum(report.dropped.values()) == rows_in
    assert any("negative lead time" in reason for reason in report.dropped)
    po = tables["purchase_orders"]
    assert (po["received_date"] > po["order_date"]).all()
    assert (po["expected_date"] >= po["order_date"]).all()
    assert not po.duplicated(["po_id", "sku"]).any()
    assert (po["status"] == "closed").all() and len(tables["sales"]) == 0
