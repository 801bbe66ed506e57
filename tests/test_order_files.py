"""Order files a buyer and an ERP can trust (issues 19.2, 19.11, 20.1).

Each run's order CSVs live in its own folder ``orders/<as_of>/``, the folder its buyer report
links to, so a backfill (``--as-of`` older than the newest run) cannot change the files the
latest ``buyer.html`` links; every line names its run and planning date; quantities and pack
counts are integers; the supplier's item code and the configured currency are carried; the
columns come in the order docs/reports.md documents.
"""

from __future__ import annotations

import logging
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.cli import app
from safestock.pipelines.reporting.orders import (
    ORDER_CSV_COLUMNS,
    remove_flat_order_files,
    run_orders_dir,
    supplier_csv_name,
    write_supplier_orders,
)
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


# --- one folder per planning date: a backfill leaves the latest run's files alone ---------------

class _Links(HTMLParser):
    """Every ``href`` of ``<a>`` elements ending in ``.csv``."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.endswith(".csv"):
            self.hrefs.append(href)


def csv_links(report: Path) -> list[Path]:
    """The order files a buyer report links to, resolved against the report's folder."""
    parser = _Links()
    parser.feed(report.read_text(encoding="utf-8"))
    return [report.parent / unquote(href) for href in parser.hrefs]


def invoke(*arguments: str):
    logging.disable(logging.CRITICAL)  # as in a CLI process (see test_reliability_hostile)
    try:
        return runner.invoke(app, list(arguments))
    finally:
        logging.disable(logging.NOTSET)


def recommended_lines(db: Path, run_id: str) -> set[tuple[str, str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select supplier_id, sku, order_quantity from purchase_recommendations "
                           "where run_id = ? and status = 'recommended'", [run_id]).fetchall()
    return {(supplier, sku, round(quantity)) for supplier, sku, quantity in rows}


def file_lines(paths: list[Path]) -> set[tuple[str, str, int]]:
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths]
    return {(row.supplier_id, row.sku, int(row.order_quantity)) for frame in frames for row in frame.itertuples()}


def run_ids(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select as_of::varchar, run_id from runs where status = 'succeeded'").fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def latest_then_backfill(prefect_harness: None, demo_input: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo input with supplier item codes for every other item and currency EUR; an order
    file left flat in orders/ by an earlier version; the newest run, then a backfill two weeks
    earlier. Returns (input folder, database, reports folder, latest as_of, backfill as_of,
    the latest folder's bytes before the backfill, CLI outputs)."""
    out = tmp_path_factory.mktemp("order_files")
    folder = out / "input"
    shutil.copytree(demo_input, folder)
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    items["supplier_sku"] = [f"00{index:04d}" if index % 2 == 0 else "" for index in range(len(items))]
    items.to_csv(folder / "items.csv", index=False)
    config = out / "safestock.toml"
    config.write_text('currency = "EUR"\n')
    reports, db = out / "reports", out / "s.duckdb"
    (reports / "orders").mkdir(parents=True)
    (reports / "orders" / "SUP-001.csv").write_text("supplier_id,sku\nSUP-001,OLD\n")
    latest = invoke("run", "--input", str(folder), "--db", str(db), "--reports", str(reports),
                    "--config", str(config))
    assert latest.exit_code == 0, latest.output
    latest_as_of = pd.Timestamp(pd.read_csv(folder / "inventory.csv")["as_of"].max())
    backfill_as_of = latest_as_of - pd.Timedelta(days=14)
    latest_folder = run_orders_dir(reports, latest_as_of)
    before = {path.name: path.read_bytes() for path in latest_folder.iterdir()}
    backfill = invoke("run", "--input", str(folder), "--db", str(db), "--reports", str(reports),
                      "--config", str(config), "--as-of", str(backfill_as_of.date()))
    assert backfill.exit_code == 0, backfill.output
    return folder, db, reports, latest_as_of, backfill_as_of, before, (latest.output, backfill.output)


def test_latest_buyer_report_links_the_latest_runs_files_after_a_backfill(latest_then_backfill) -> None:
    _, db, reports, latest_as_of, backfill_as_of, before, _ = latest_then_backfill
    ids = run_ids(db)
    latest_id, backfill_id = ids[str(latest_as_of.date())], ids[str(backfill_as_of.date())]
    for report, run_id in ((reports / "buyer.html", latest_id),
                           (reports / f"buyer_{latest_as_of.date()}.html", latest_id),
                           (reports / f"buyer_{backfill_as_of.date()}.html", backfill_id)):
        links = csv_links(report)
        assert links and all(path.is_file() for path in links), report
        frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in links]
        assert {value for frame in frames for value in frame["run_id"]} == {run_id}, report
        assert file_lines(links) == recommended_lines(db, run_id), report     # the run's lines, all of them
    latest_folder = run_orders_dir(reports, latest_as_of)
    assert {path.name: path.read_bytes() for path in latest_folder.iterdir()} == before   # untouched
    assert not (reports / "orders" / "SUP-001.csv").exists()    # the flat file of an earlier version went


def test_the_cli_names_each_runs_order_folder(latest_then_backfill) -> None:
    _, _, reports, latest_as_of, backfill_as_of, _, (latest, backfill) = latest_then_backfill
    for output, as_of in ((latest, latest_as_of), (backfill, backfill_as_of)):
        printed = re.search(r"order CSVs: +\d+ file\(s\) in (.+)", output)
        assert printed, output
        assert Path(printed.group(1).strip()) == run_orders_dir(reports, as_of).resolve()


def test_order_files_carry_run_as_of_currency_and_supplier_codes(latest_then_backfill) -> None:
    folder, db, reports, latest_as_of, _, _, _ = latest_then_backfill
    latest_id = run_ids(db)[str(latest_as_of.date())]
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False).set_index("sku")
    paths = sorted(run_orders_dir(reports, latest_as_of).glob("*.csv"))
    assert paths
    lines = pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths])
    assert list(lines.columns) == ORDER_CSV_COLUMNS
    assert set(lines["run_id"]) == {latest_id} and set(lines["as_of"]) == {str(latest_as_of.date())}
    assert set(lines["currency"]) == {"EUR"}
    assert lines["supplier_sku"].tolist() == items.loc[lines["sku"], "supplier_sku"].tolist()
    assert (lines["supplier_sku"] != "").any() and (lines["supplier_sku"] == "").any()
    assert lines.loc[lines["supplier_sku"] != "", "supplier_sku"].str.fullmatch(r"00[0-9]{4}").all()
    for column in ("order_quantity", "packs", "pack_size"):
        assert lines[column].str.fullmatch(r"[0-9]+").all(), lines[column].tolist()
    # the run's items_snapshot keeps the supplier codes (leading zeros) and the demo's categories
    with duckdb.connect(str(db), read_only=True) as con:
        snapshot = con.execute("select sku, supplier_sku, category from items_snapshot where run_id = ?",
                               [latest_id]).df().set_index("sku")
    assert snapshot["supplier_sku"].fillna("").tolist() == items.loc[snapshot.index, "supplier_sku"].tolist()
    assert snapshot["category"].tolist() == items.loc[snapshot.index, "category"].tolist()


# --- the file format, worked by hand ------------------------------------------------------------

def _lines(quantity: list[float], packs: list[int], pack_size: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    skus = [f"SKU-{i}" for i in range(len(quantity))]
    orders = pd.DataFrame({"supplier_id": "SUP-1", "sku": skus, "order_quantity": quantity, "packs": packs,
                           "unit_cost": 2.5, "line_value": [q * 2.5 for q in quantity],
                           "order_by": pd.Timestamp("2026-11-16"), "expected_arrival": pd.Timestamp("2026-11-30"),
                           "reason": "position 3 <= reorder point 40", "status": "recommended"})
    items = pd.DataFrame({"sku": skus, "description": "part", "pack_size": pack_size})
    return orders, items


def test_quantities_and_packs_are_written_as_integers(tmp_path: Path) -> None:
    """1630 units = 163 packs of 10 → '1630', '163', '10', value 4075; a pack of 2.5 keeps its
    fraction (3 packs → '7.5'); float noise of packs × pack size (3 × 1.1) is not written."""
    orders, items = _lines([1630.0, 7.5, 3 * 1.1], [163, 3, 3], [10.0, 2.5, 1.1])
    written = write_supplier_orders(orders, items, tmp_path, run_id="2026-11-15T06:00:00", as_of=pd.Timestamp("2026-11-15"))
    text = written["SUP-1"].read_text(encoding="utf-8")
    frame = pd.read_csv(written["SUP-1"], dtype=str, keep_default_na=False)
    assert frame["order_quantity"].tolist() == ["1630", "7.5", "3.3"]
    assert frame["packs"].tolist() == ["163", "3", "3"]
    assert frame["pack_size"].tolist() == ["10", "2.5", "1.1"]
    assert frame["line_value"].tolist() == ["4075", "18.75", "8.25"]
    assert "1630.0" not in text
    assert frame["run_id"].tolist() == ["2026-11-15T06:00:00"] * 3 and frame["as_of"].tolist() == ["2026-11-15"] * 3
    assert frame["currency"].tolist() == [""] * 3                  # no currency configured
    assert frame["supplier_sku"].tolist() == [""] * 3              # the item master has no supplier_sku


def test_supplier_sku_is_written_when_the_item_master_has_one(tmp_path: Path) -> None:
    orders, items = _lines([10.0, 20.0], [1, 2], [10.0, 10.0])
    items["supplier_sku"] = ["00417", None]
    written = write_supplier_orders(orders, items, tmp_path, run_id="r", as_of=pd.Timestamp("2026-11-15"),
                                    currency="EUR")
    frame = pd.read_csv(written["SUP-1"], dtype=str, keep_default_na=False)
    assert frame["supplier_sku"].tolist() == ["00417", ""]        # leading zeros kept
    assert frame["currency"].tolist() == ["EUR", "EUR"]


def test_the_documented_column_order_is_the_written_one(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Per-supplier order CSVs"):]
    documented = re.search(r"Columns, in order:\s*\n\n`([^`]+)`", section).group(1)
    assert [name.strip() for name in documented.split(",")] == ORDER_CSV_COLUMNS
    orders, items = _lines([10.0], [1], [10.0])
    written = write_supplier_orders(orders, items, tmp_path, run_id="r", as_of=pd.Timestamp("2026-11-15"))
    assert written["SUP-1"].read_text(encoding="utf-8").splitlines()[0].split(",") == ORDER_CSV_COLUMNS


def test_each_planning_date_has_its_own_folder_and_flat_files_go(tmp_path: Path) -> None:
    assert run_orders_dir(tmp_path, pd.Timestamp("2026-11-08")) == tmp_path / "orders" / "2026-11-08"
    orders, items = _lines([10.0], [1], [10.0])
    newer = write_supplier_orders(orders, items, run_orders_dir(tmp_path, pd.Timestamp("2026-11-15")),
                                  run_id="new", as_of=pd.Timestamp("2026-11-15"))
    newer_bytes = newer["SUP-1"].read_bytes()
    flat = tmp_path / "orders" / supplier_csv_name("SUP-1")
    flat.write_text("supplier_id,sku\nSUP-1,OLD\n")
    older = write_supplier_orders(orders, items, run_orders_dir(tmp_path, pd.Timestamp("2026-11-08")),
                                  run_id="old", as_of=pd.Timestamp("2026-11-08"))
    assert newer["SUP-1"].read_bytes() == newer_bytes and older["SUP-1"] != newer["SUP-1"]
    assert remove_flat_order_files(tmp_path) == [flat]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "orders/2026-11-08/SUP-1.csv", "orders/2026-11-15/SUP-1.csv"]
