"""Input guards through the whole CLI (issues 19.3, 19.4, 20.8, 20.10): stale sales history is
refused with the dates and the override; misspelled optional columns are refused before Prefect
starts unless the configuration allows them; stale open POs, receipts before their order and
clamped service levels reach the `data_quality` table and the planner report; supplier durations
at the contract's caps run."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.cli import app
from typer.testing import CliRunner

from tests.test_reliability_hostile import assert_no_partial_run, quiet_prefect_like_the_cli

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def base_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid demo folder (20 SKUs, 1.5 years; sales and inventory end 2026-11-15)."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    folder = tmp_path_factory.mktemp("guards_base")
    write_demo_data(generate_demo_data(20, seed=5, years=1.5), folder)
    return folder


def copy_input(base: Path, folder: Path) -> Path:
    shutil.copytree(base, folder)
    return folder


def invoke(folder: Path, db: Path, reports: Path, *options: str):
    with quiet_prefect_like_the_cli():
        return runner.invoke(app, ["run", "--input", str(folder), "--db", str(db), "--reports", str(reports),
                                   *options])


def shift_inventory(folder: Path, days: int) -> str:
    inventory = pd.read_csv(folder / "inventory.csv", dtype=str, keep_default_na=False)
    inventory["as_of"] = (pd.to_datetime(inventory["as_of"]) + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d")
    inventory.to_csv(folder / "inventory.csv", index=False)
    return inventory["as_of"].max()


def test_stale_sales_are_refused_with_dates_and_the_override(prefect_harness: None, base_input: Path,
                                                            tmp_path: Path) -> None:
    folder, db = copy_input(base_input, tmp_path / "input"), tmp_path / "s.duckdb"
    last_sale = pd.read_csv(folder / "sales.csv", usecols=["date"])["date"].max()
    assert last_sale == "2026-11-15"
    as_of = shift_inventory(folder, 15)  # inventory dated two weeks and a day after the last sales row
    result = invoke(folder, db, tmp_path / "reports")
    assert result.exit_code == 2, result.output
    assert "Input rejected" in result.output and "nothing was written" in result.output
    assert (f"sales.csv, column 'date': sales history ends 2026-11-15, 15 days before as_of {as_of} "
            "(the latest inventory.as_of); more than max_sales_age_days = 14") in result.output, result.output
    assert "raise max_sales_age_days in the [inputs] table of the --config file" in result.output
    assert_no_partial_run(db)

    result = invoke(copy_input(base_input, tmp_path / "input_as_of"), db, tmp_path / "reports",
                    "--as-of", "2027-03-01")  # far after the data
    assert result.exit_code == 2, result.output
    assert "sales history ends 2026-11-15, 106 days before as_of 2027-03-01 (--as-of)" in result.output


def test_misspelled_columns_are_refused_before_prefect_starts(base_input: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import safestock.pipelines.prefect_server as prefect_server

    def no_prefect():
        raise AssertionError("Prefect was started: the structure check let the misspelled column through")

    monkeypatch.setattr(prefect_server, "temporary_prefect_server", no_prefect)
    folder = copy_input(base_input, tmp_path / "input")
    inventory = (folder / "inventory.csv").read_text()
    (folder / "inventory.csv").write_text(inventory.replace(",backordered\n", ",back_orders\n", 1))
    result = invoke(folder, tmp_path / "s.duckdb", tmp_path / "reports")
    assert result.exit_code == 2, result.output
    assert ("inventory.csv, line 1, column 'back_orders': unknown column — did you mean 'backordered'?"
            in result.output), result.output
    assert not (tmp_path / "s.duckdb").exists()


@pytest.fixture(scope="module")
def guarded_run(prefect_harness: None, base_input: Path, tmp_path_factory: pytest.TempPathFactory):
    """One run over inputs the guards let through with warnings, under a configuration that
    allows extra columns and a 30-day sales age: inventory dated 15 days after the last sale,
    `back_orders` misspelled, two open POs expected years ago, one receipt before its order, two
    service levels clamped, one supplier at the caps (lead time 3650 days, review 365 days)."""
    root = tmp_path_factory.mktemp("guarded")
    folder = copy_input(base_input, root / "input")
    shift_inventory(folder, 15)
    inventory = (folder / "inventory.csv").read_text()
    (folder / "inventory.csv").write_text(inventory.replace(",backordered\n", ",back_orders\n", 1))
    orders = pd.read_csv(folder / "purchase_orders.csv", dtype=str, keep_default_na=False)
    stale = orders.iloc[:2].copy()
    stale["po_id"] = ["PO-STALE-1", "PO-STALE-2"]
    stale[["order_date", "expected_date"]] = [["2022-01-03", "2022-03-01"], ["2023-05-01", "2023-06-01"]]
    stale[["received_date", "received_quantity", "status"]] = ["", "", "open"]
    orders.loc[2, "received_date"] = (pd.Timestamp(orders.loc[2, "order_date"]) - pd.Timedelta(days=3)).strftime(
        "%Y-%m-%d")
    pd.concat([orders, stale]).to_csv(folder / "purchase_orders.csv", index=False)
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    items.loc[[0, 1], "service_level"] = ["1e-9", "0.99999"]
    items.to_csv(folder / "items.csv", index=False)
    suppliers = pd.read_csv(folder / "suppliers.csv", dtype=str, keep_default_na=False)
    suppliers.loc[0, ["lead_time_days", "review_period_days"]] = ["3650", "365"]
    suppliers.to_csv(folder / "suppliers.csv", index=False)
    config = root / "safestock.toml"
    config.write_text("[inputs]\nallow_extra_columns = true\nmax_sales_age_days = 30\n")
    db, reports = root / "s.duckdb", root / "reports"
    result = invoke(folder, db, reports, "--config", str(config))
    return result, db, reports


def test_guarded_run_succeeds_at_the_caps_and_under_the_override(guarded_run) -> None:
    result, db, _ = guarded_run
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select status, cast(as_of as date) from runs").fetchall() == [
            ("succeeded", pd.Timestamp("2026-11-30").date())]


def test_warnings_reach_the_data_quality_table_and_the_planner_report(guarded_run) -> None:
    result, db, reports = guarded_run
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select file, column_name, severity, rows, message from data_quality "
                           "where severity = 'warning' order by file, column_name").fetchall()
    warnings = {(file, column): (count, message) for file, column, severity, count, message in rows}
    assert warnings["purchase_orders.csv", "expected_date"][0] == 2
    assert warnings["purchase_orders.csv", "expected_date"][1].startswith(
        "2 open purchase-order line(s) expected more than 365 days before as_of 2026-11-30 (oldest 2022-03-01)")
    assert warnings["purchase_orders.csv", "received_date"] == (
        1, "1 purchase-order line(s) received before their order_date: left out of the lead-time estimate")
    assert warnings["items.csv", "service_level"][0] == 2
    assert "(lowest 1e-09, highest 0.99999): planned at the nearest bound" in warnings["items.csv", "service_level"][1]
    assert warnings["inventory.csv", "back_orders"][0] == 20
    planner = html.unescape((reports / "planner.html").read_text())
    for (_, _), (_, message) in warnings.items():
        assert message in planner, message
