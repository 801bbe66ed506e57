"""Excess and dead stock (issue 18, item 3) on a hand-computed case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import LeadTimes, build_planning_inputs
from safestock.models.inventory.excess import excess_stock


def _planning(on_hand: list[float], status: list[str]):
    skus = ["A", "B", "C", "D"]
    items = pd.DataFrame({"sku": skus, "supplier_id": ["S1", "S1", "S2", "S2"], "unit_cost": [2.0, 5.0, 1.0, 3.0],
                          "pack_size": 1.0, "moq": 0.0, "service_level": np.nan, "status": status})
    suppliers = pd.DataFrame({"supplier_id": ["S1", "S2"], "review_period_days": [7, 7], "min_order_value": 0.0})
    lead = LeadTimes(per_sku=pd.DataFrame({"sku": skus, "supplier_id": ["S1", "S1", "S2", "S2"],
                                           "lead_time_weeks_mean": 2.0, "lead_time_weeks_sd": 0.0,
                                           "lead_time_weeks_p90": 2.0}),
                     per_supplier=pd.DataFrame({"supplier_id": ["S1", "S2"], "mean_days_late": 0.0}))
    inventory = pd.DataFrame({"sku": skus, "on_hand": on_hand, "backordered": 0.0})
    return build_planning_inputs(np.array(skus), items, suppliers, lead, inventory, as_of=pd.Timestamp("2026-03-08"))


def test_excess_dead_and_discontinued_stock_by_hand() -> None:
    planning = _planning([300, 40, 50, 20], ["active", "active", "active", "discontinued"])
    forecast = np.array([[10.0] * 12, [10.0] * 12, [0.0] * 12, [0.0] * 12])
    history = np.array([[10.0] * 30, [10.0] * 30, [5.0] * 3 + [0.0] * 27, [0.0] * 30])
    start = np.array([0, 0, 0, 29])
    table = excess_stock(planning, np.array([320.0, 40.0, 50.0, 20.0]), np.array([100.0, 60.0, 0.0, 0.0]),
                         forecast, history, start, cover_weeks=8, dead_weeks=26).set_index("sku")
    # A: position 320 - (S 100 + 8 weeks x 10) = 140 units excess, x 2.00 = 280.00; cover 300 / 10 = 30 weeks
    assert table.loc["A", ["excess_units", "excess_value", "weeks_of_cover"]].tolist() == [140.0, 280.0, 30.0]
    assert table.loc["A", "action"] == "stop ordering"
    assert table.loc["A", "reason"] == "140 units above order-up-to 100 + 8 weeks of forecast (180)"
    # B: 40 < 60 + 80: neither excess nor dead, not listed
    assert "B" not in table.index
    # C: no sale in the last 27 weeks (>= 26), 50 on hand: dead, all 50 excess (S 0, no forecast)
    assert bool(table.loc["C", "dead"]) and table.loc["C", "action"] == "mark down"
    assert table.loc["C", ["excess_units", "excess_value"]].tolist() == [50.0, 50.0]
    assert np.isnan(table.loc["C", "weeks_of_cover"])
    # D: discontinued with 20 on hand: return to supplier, 20 x 3.00 = 60.00; its one week of
    # history is not a dead item's 26 weeks
    assert table.loc["D", ["excess_units", "excess_value", "action"]].tolist() == [20.0, 60.0, "return to supplier"]
    assert not bool(table.loc["D", "dead"])
    assert list(table.index) == ["A", "D", "C"]  # by excess value, largest first


def test_totals_per_category_and_supplier_by_hand() -> None:
    """The planner report's totals (sql/report_excess_by_category.sql, report_excess_by_supplier.sql)
    over excess_stock rows written by the model, categories from items_snapshot."""
    import duckdb
    from safestock.pipelines.sqlfiles import sql
    from safestock.pipelines.storage.schema import schema_ddl

    planning = _planning([300, 40, 50, 20], ["active", "active", "active", "discontinued"])
    rows = excess_stock(planning, np.array([320.0, 40.0, 50.0, 20.0]), np.array([100.0, 60.0, 0.0, 0.0]),
                        np.array([[10.0] * 12, [10.0] * 12, [0.0] * 12, [0.0] * 12]),
                        np.array([[10.0] * 30, [10.0] * 30, [5.0] * 3 + [0.0] * 27, [0.0] * 30]),
                        np.array([0, 0, 0, 29]))
    # one more row by hand: E of supplier S1 without a category, 10 units x 10.00 excess
    extra = rows.iloc[:1].assign(sku="E", excess_units=10.0, excess_value=100.0, reason="by hand")
    excess = pd.concat([rows, extra], ignore_index=True)
    items = pd.DataFrame({"sku": ["A", "B", "C", "D", "E"], "category": ["pumps", "pumps", "pumps", "valves", None]})
    with duckdb.connect() as con:
        con.execute(schema_ddl())
        excess = excess[[name for name in con.table("excess_stock").columns if name in excess]]  # as the writer
        con.execute("insert into excess_stock by name select 'r1' as run_id, * from excess")
        con.execute("insert into items_snapshot by name select 'r1' as run_id, * from items")
        by_category = con.execute(sql("report_excess_by_category"), {"run_id": "r1"}).df()
        by_supplier = con.execute(sql("report_excess_by_supplier"), {"run_id": "r1"}).df()
    table = by_category.assign(category=by_category["category"].fillna("(none)"))[
        ["category", "skus", "excess_units", "excess_value", "dead_skus", "discontinued_skus"]]
    # pumps: A 140 units / 280.00 + C 50 / 50.00 (dead); E: 10 / 100.00; valves: D 20 / 60.00 (discontinued)
    assert table.values.tolist() == [["pumps", 2, 190.0, 330.0, 1, 0], ["(none)", 1, 10.0, 100.0, 0, 0],
                                     ["valves", 1, 20.0, 60.0, 0, 1]]
    # S1: A + E = 150 units, 380.00; S2: C + D = 70 units, 110.00, one dead, one discontinued
    assert by_supplier[["supplier_id", "skus", "excess_units", "excess_value", "dead_skus",
                        "discontinued_skus"]].values.tolist() == [["S1", 2, 150.0, 380.0, 0, 0],
                                                                 ["S2", 2, 70.0, 110.0, 1, 1]]


@pytest.mark.slow
def test_a_run_writes_excess_stock_and_the_planner_report_shows_it(prefect_harness: None, demo_input, tmp_path) -> None:
    import duckdb
    from safestock.pipelines.flow import weekly_run

    config = tmp_path / "safestock.toml"
    config.write_text("policy_backtest_weeks = 0\n")
    run = weekly_run(input_dir=demo_input, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        rows = con.execute("select e.*, p.order_up_to, r.inventory_position as ip, i.unit_cost from excess_stock e "
                           "join inventory_policy p using (run_id, sku) join backorder_risk r using (run_id, sku) "
                           "join items_snapshot i using (run_id, sku) where run_id = ?", [run.run_id]).df()
        forecast8 = con.execute("select sku, sum(mean) as f from forecasts where run_id = ? and step <= 8 "
                                "group by sku", [run.run_id]).df().set_index("sku")["f"]
    assert len(rows) > 0
    stop = rows[rows["action"] == "stop ordering"]
    expected = (stop["ip"] - stop["order_up_to"] - forecast8.reindex(stop["sku"]).to_numpy()).clip(lower=0)
    assert stop["excess_units"].to_numpy() == pytest.approx(expected.to_numpy())
    assert rows["excess_value"].to_numpy() == pytest.approx((rows["excess_units"] * rows["unit_cost"]).to_numpy())
    planner = (tmp_path / "r" / f"planner_{run.as_of:%Y-%m-%d}.html").read_text(encoding="utf-8")
    top = rows.sort_values(["excess_value", "sku"], ascending=[False, True])["sku"].iloc[0]
    section = planner[planner.index('<section id="excess"'):]
    assert 'id="excess-table"' in section and top in section[:section.index("</table>", section.index("excess-table"))]
    # totals per category (the demo's items have categories): every category of an excess row is listed
    categories = section[section.index('id="excess-categories"'):section.index("excess-table")]
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        listed = con.execute("select distinct i.category from excess_stock e join items_snapshot i "
                             "using (run_id, sku) where run_id = ?", [run.run_id]).df()["category"]
    assert len(listed) > 0 and all(f">{name}<" in categories for name in listed)
