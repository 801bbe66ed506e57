"""The `safestock` command: exit codes and messages a user sees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from safestock.pipelines import storage
from safestock.pipelines.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_generate_writes_every_input_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--skus", "30", "--out", str(tmp_path), "--seed", "3"])
    assert result.exit_code == 0, result.output
    for table in ("sales", "items", "suppliers", "inventory", "purchase_orders"):
        assert (tmp_path / f"{table}.csv").is_file()
    assert len(pd.read_csv(tmp_path / "items.csv")) == 30



def test_generate_lost_sales_marks_that_share_lost_and_writes_stock_history(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--skus", "40", "--out", str(tmp_path), "--seed", "3",
                                 "--lost-sales", "0.25"])
    assert result.exit_code == 0, result.output
    items = pd.read_csv(tmp_path / "items.csv")
    assert (items["unmet_demand"] == "lost").sum() == 10  # 25 % of 40 SKUs
    stock = pd.read_csv(tmp_path / "stock_history.csv")
    assert set(stock["sku"]) == set(items["sku"]) and (stock["on_hand"] >= 0).all()
    refused = runner.invoke(app, ["generate", "--skus", "40", "--out", str(tmp_path / "x"), "--lost-sales", "1.5"])
    assert refused.exit_code == 2 and "--lost-sales" in refused.output
    assert not (tmp_path / "x").exists()

@pytest.mark.slow
def test_run_with_bad_input_exits_2_naming_file_line_column(
    prefect_harness: None, demo_input: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(demo_input, bad)
    inventory = pd.read_csv(bad / "inventory.csv", dtype=str)
    inventory.loc[2, "on_hand"] = "-5"  # file line 4
    inventory.to_csv(bad / "inventory.csv", index=False)
    db = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["run", "--input", str(bad), "--db", str(db), "--reports", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "inventory.csv" in result.output and "line 4" in result.output and "on_hand" in result.output
    assert "nothing was written" in result.output
    assert not db.exists()


def test_bad_config_exits_2_naming_section_entry_and_key(tmp_path: Path) -> None:
    config = tmp_path / "safestock.toml"
    config.write_text('[[forecast.extra_events]]\nname = "sale"\ndate = "02-30"\n')
    db = tmp_path / "s.duckdb"
    result = runner.invoke(app, ["run", "--input", str(tmp_path), "--db", str(db), "--reports", str(tmp_path / "r"),
                                 "--config", str(config)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())                    # undo the console's line wrapping
    assert "Configuration rejected" in output and "[forecast] extra_events #1 (sale)" in output
    assert "Input rejected" in output and "sales.csv: missing file" in output  # both reported at once
    assert "02-30 is not a date every year has" in output
    assert not db.exists()


def test_run_while_another_holds_the_database_exits_3(demo_input: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with storage.run_lock(db):
        result = runner.invoke(app, ["run", "--input", str(demo_input), "--db", str(db), "--reports", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "another run is in progress" in result.output and f"pid {os.getpid()}" in result.output


def test_bad_as_of_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--input", str(tmp_path), "--db", str(tmp_path / "x.duckdb"),
                                 "--reports", str(tmp_path), "--as-of", "2026-02-30"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_serve_deployment_has_weekly_cron_and_absolute_parameters(tmp_path: Path, monkeypatch) -> None:
    from safestock.pipelines.cli import deployment_options
    from safestock.pipelines.flow import weekly_run

    monkeypatch.chdir(tmp_path)
    options = deployment_options(Path("in"), Path("s.duckdb"), Path("reports"), "0 6 * * 1", "Europe/Berlin",
                                 Path("safestock.toml"))
    deployment = weekly_run.to_deployment(name="safestock-weekly", **options)
    assert deployment.parameters["input_dir"] == str(tmp_path / "in")
    assert deployment.parameters["db_path"] == str(tmp_path / "s.duckdb")
    assert deployment.parameters["config_path"] == str(tmp_path / "safestock.toml")
    schedule = deployment.schedules[0].schedule
    assert schedule.cron == "0 6 * * 1" and schedule.timezone == "Europe/Berlin"


@pytest.mark.slow
def test_explain_shows_every_number_behind_a_recommended_order(demo_database: Path) -> None:
    import duckdb

    with duckdb.connect(str(demo_database), read_only=True) as con:
        sku, reason, reorder_point = con.execute(
            "select o.sku, o.reason, p.reorder_point from purchase_recommendations o "
            "join inventory_policy p using (run_id, sku) where o.status = 'recommended' limit 1").fetchone()
    result = runner.invoke(app, ["explain", sku, "--db", str(demo_database)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.strip()}
    for field in ("safety_stock", "protection_demand_mean", "lead_time_weeks_mean", "inventory_position",
                  "order_quantity", "order_by", "demand_class", "model"):
        assert field in lines, field
    assert reason in lines["reason"]
    assert f"{reorder_point:,.1f}" in lines["reorder_point"] or f"{reorder_point:.4g}" in lines["reorder_point"]

    unknown = runner.invoke(app, ["explain", "NO-SUCH-SKU", "--db", str(demo_database)])
    assert unknown.exit_code == 2 and "not in run" in unknown.output


@pytest.mark.slow
def test_explain_suggests_the_closest_sku_codes(demo_database: Path) -> None:
    import duckdb

    with duckdb.connect(str(demo_database), read_only=True) as con:
        sku = con.execute("select sku from inventory_policy order by sku limit 1").fetchone()[0]
    typo = sku[:-1] + ("X" if sku[-1] != "X" else "Y")
    for asked in (sku.lower(), typo):
        result = runner.invoke(app, ["explain", asked, "--db", str(demo_database)])
        assert result.exit_code == 2, result.output
        suggestion = next(line for line in result.output.splitlines() if line.startswith("Did you mean:"))
        assert sku in suggestion.removeprefix("Did you mean: ").rstrip("?").split(", ")
    nothing_close = runner.invoke(app, ["explain", "ZZZZZZZZZZZZZZZZZZZZ", "--db", str(demo_database)])
    assert nothing_close.exit_code == 2 and "Did you mean" not in nothing_close.output


@pytest.mark.parametrize("command", [[], ["run"], ["demo"], ["explain"]])
def test_help_shows_flags_without_a_value(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--help" in result.output and "<bool>" not in result.output


def test_missing_column_is_rejected_before_prefect_starts(demo_input: Path, tmp_path: Path) -> None:
    """A structural input mistake is reported without importing Prefect or starting its server."""
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "input"
    shutil.copytree(demo_input, folder)
    sales = folder / "sales.csv"
    header, rest = sales.read_text().split("\n", 1)
    sales.write_text(header.replace("quantity", "qty") + "\n" + rest)
    probe = ("import sys\nfrom safestock.pipelines.cli import app\n"
             "try:\n    app([" + ", ".join(repr(a) for a in ["run", "--input", str(folder), "--db", str(tmp_path / "x.duckdb"),
                                                         "--reports", str(tmp_path / "r")]) + "])\n"
             "except SystemExit as stop:\n    print('exit', stop.code, 'prefect' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "sales.csv, column 'quantity': required column is missing" in result.stderr, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "exit 2 False"
    assert not (tmp_path / "x.duckdb").exists()
