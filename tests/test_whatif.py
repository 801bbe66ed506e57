"""What-if on the service level (issue 18, item 4) on a hand-computed case, and its speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory.whatif import normal_loss, service_level_whatif


def test_whatif_by_hand() -> None:
    policy = pd.DataFrame({"sku": ["A", "B"], "service_level": [0.95, 0.90], "safety_stock": [32.9, 5.0],
                           "protection_demand_sd": [20.0, 10.0]})
    result = service_level_whatif(policy, np.array([2.0, 1.0]), 0.975).set_index("sku")
    # A: z 1.6449 -> 1.9600: SS 32.9 + 20 x 0.3151 = 39.20; value change 6.30 x 2 = 12.60
    assert result.loc["A", "new_safety_stock"] == pytest.approx(32.9 + 20 * (1.959964 - 1.644854), abs=1e-4)
    assert result.loc["A", "safety_stock_value_change"] == pytest.approx(2 * 20 * (1.959964 - 1.644854), abs=1e-4)
    # expected backorders per cycle: sigma x G(z); G(1.6449) = 0.02089, G(1.96) = 0.00945
    assert result.loc["A", "backorder_units"] == pytest.approx(20 * 0.020893, abs=1e-4)
    assert result.loc["A", "new_backorder_units"] == pytest.approx(20 * 0.009445, abs=1e-4)
    # B: z 1.2816 -> 1.96: +6.78 units
    assert result.loc["B", "safety_stock_change"] == pytest.approx(10 * (1.959964 - 1.281552), abs=1e-4)
    assert normal_loss(np.array([0.0]))[0] == pytest.approx(0.398942, abs=1e-6)
    # a lower target cannot take safety stock below 0
    lower = service_level_whatif(policy, np.array([2.0, 1.0]), 0.5).set_index("sku")
    assert lower.loc["B", "new_safety_stock"] == 0.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        service_level_whatif(policy, np.array([2.0, 1.0]), 1.0)


def test_whatif_for_100000_skus_is_fast() -> None:
    rng = np.random.default_rng(3)
    n = 100_000
    policy = pd.DataFrame({"sku": np.arange(n).astype(str), "service_level": rng.uniform(0.8, 0.99, n),
                           "safety_stock": rng.uniform(0, 100, n), "protection_demand_sd": rng.uniform(0, 50, n)})
    started = time.perf_counter()
    result = service_level_whatif(policy, rng.uniform(1, 10, n), 0.97)
    assert time.perf_counter() - started < 1.0 and len(result) == n


def test_whatif_command_reads_the_latest_run_and_writes_nothing(demo_database) -> None:
    import duckdb
    from safestock.pipelines.cli import app
    from typer.testing import CliRunner

    with duckdb.connect(str(demo_database), read_only=True) as con:
        runs_before = con.execute("select count(*) from runs").fetchone()[0]
        policy = con.execute("select p.sku, p.service_level, p.safety_stock, p.protection_demand_sd, i.unit_cost, "
                             "c.abc from inventory_policy p join items_snapshot i using (run_id, sku) "
                             "join sku_class c using (run_id, sku) where c.abc = 'A'").df()
    expected = service_level_whatif(policy, policy["unit_cost"].to_numpy(), 0.99)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["whatif", "--service-level", "0.99", "--class", "A", "--db", str(demo_database)])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 5.0
    text = " ".join(result.output.split())
    assert f"{len(policy):,} SKU(s) at service level 0.99" in text
    change = expected["new_safety_stock"].sum() - expected["safety_stock"].sum()
    assert f"({change:+,.1f})" in text
    with duckdb.connect(str(demo_database), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone()[0] == runs_before
    bad = CliRunner().invoke(app, ["whatif", "--service-level", "1.5", "--db", str(demo_database)])
    assert bad.exit_code == 2 and "between 0 and 1" in bad.output


def test_the_service_value_curve_per_class_by_hand() -> None:
    from safestock.models.inventory.whatif import service_value_curve

    policy = pd.DataFrame({"sku": ["A", "B"], "service_level": [0.95, 0.95], "safety_stock": [32.9, 16.45],
                           "protection_demand_sd": [20.0, 10.0], "unit_cost": [2.0, 1.0], "abc": ["A", "B"]})
    curve = service_value_curve(policy, levels=(0.95, 0.975)).set_index(["abc", "service_level"], drop=False)
    rows = curve[curve["abc"] == "A"]["safety_stock_value"].tolist()
    # the run's own (32.9 x 2), at 0.95 the same, at 0.975 + 2 x 20 x (1.96 - 1.6449)
    assert rows == pytest.approx([65.8, 65.8, 65.8 + 40 * (1.959964 - 1.644854)], abs=1e-3)
    total = curve[curve["abc"] == "all"]["safety_stock_value"].tolist()
    assert total == pytest.approx([82.25, 82.25, 82.25 + 50 * (1.959964 - 1.644854)], abs=1e-3)


def test_the_planner_report_shows_the_curve(demo_database, tmp_path) -> None:
    from safestock.pipelines.reporting.render import render_reports
    from safestock.pipelines.storage import latest_run_id

    written = render_reports(demo_database, latest_run_id(demo_database), tmp_path)
    planner = next(path for key, path in written.items() if "planner" in key).read_text(encoding="utf-8")
    section = planner[planner.index('<section id="service-value"'):planner.index('<section id="excess"')]
    assert "the run&#39;s targets" in section or "the run's targets" in section
    assert "99.5" in section and ">A<" in section.replace("<td>A</td>", ">A<")
