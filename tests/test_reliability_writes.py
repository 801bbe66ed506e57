"""Writes that must lose nothing: order files all or nothing, the weekly history replaced per
(sku, week) only, and an input path that is a file named as such (issues 19 and 20)."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest

from safestock.pipelines.inputs import InputValidationError, load_inputs
from safestock.pipelines.reporting.orders import write_supplier_orders
from safestock.pipelines.sqlfiles import sql
from safestock.pipelines.storage import connect


RUN = {"run_id": "2026-01-04T06:00:00", "as_of": pd.Timestamp("2026-01-04")}


def _orders(suppliers: list[str], quantity: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    skus = [f"SKU-{i}" for i in range(len(suppliers))]
    orders = pd.DataFrame({"supplier_id": suppliers, "sku": skus, "order_quantity": quantity, "packs": 1,
                           "unit_cost": 2.0, "line_value": 2.0 * quantity, "order_by": pd.Timestamp("2026-01-05"),
                           "expected_arrival": pd.Timestamp("2026-01-19"), "reason": "below reorder point",
                           "status": "recommended"})
    items = pd.DataFrame({"sku": skus, "description": "part", "pack_size": 1.0})
    return orders, items


def test_a_failed_order_write_leaves_the_previous_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills while the second of three files is written: the folder still holds the
    previous run's complete files, byte for byte, and no empty or temporary file."""
    out = tmp_path / "orders"
    before = write_supplier_orders(*_orders(["SUP-1", "SUP-2"], 10.0), out, **RUN)
    contents = {path.name: path.read_bytes() for path in before.values()}

    real_to_csv = pd.DataFrame.to_csv
    calls = {"n": 0}

    def disk_full_on_second(self: pd.DataFrame, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            Path(path).write_bytes(b"")  # the file was opened, then the write failed
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full_on_second)
    with pytest.raises(OSError, match="No space left"):
        write_supplier_orders(*_orders(["SUP-1", "SUP-2", "SUP-3"], 99.0), out, **RUN)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == contents


def test_order_files_of_suppliers_without_lines_go(tmp_path: Path) -> None:
    out = tmp_path / "orders"
    write_supplier_orders(*_orders(["SUP-1", "SUP-2"], 10.0), out, **RUN)
    written = write_supplier_orders(*_orders(["SUP-2"], 5.0), out, **RUN)
    assert sorted(path.name for path in out.iterdir()) == [written["SUP-2"].name]
    assert pd.read_csv(written["SUP-2"])["order_quantity"].tolist() == [5.0]


def test_weekly_history_is_replaced_per_sku_and_week(tmp_path: Path) -> None:
    """A run over SKU A alone replaces A's weeks and keeps B's history in the same weeks."""
    weeks = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    stored = pd.DataFrame({"sku": ["A"] * 3 + ["B"] * 3, "week": list(weeks) * 2, "quantity": [1.0, 2, 3, 7, 8, 9]})
    incoming = pd.DataFrame({"sku": ["A", "A"], "week": weeks[1:], "quantity": [20.0, 30.0]})
    with connect(tmp_path / "results.duckdb") as con:
        con.execute("insert into sales_weekly by name select * from stored")
        con.register("incoming_sales_weekly", incoming)
        con.execute(sql("sales_weekly_replace"))
        rows = con.execute("select sku, week::varchar, quantity from sales_weekly order by sku, week").fetchall()
    assert rows == [("A", "2026-01-05", 1.0), ("A", "2026-01-12", 20.0), ("A", "2026-01-19", 30.0),
                    ("B", "2026-01-05", 7.0), ("B", "2026-01-12", 8.0), ("B", "2026-01-19", 9.0)]


def test_input_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text("sku,date,quantity\nA,2026-01-05,1\n")
    with pytest.raises(InputValidationError) as raised:
        load_inputs(sales)
    message = str(raised.value)
    assert "is a file, not a folder" in message and str(sales) in message and str(tmp_path) in message
