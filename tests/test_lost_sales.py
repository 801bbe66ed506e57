"""Lost sales and backorder tracking (issue 16.4) and the lost-sales policy form (issue 16.5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safestock.models.lost_sales import lost_sales_by_sku, lost_sales_by_supplier


def _two_suppliers() -> pd.DataFrame:
    # 14 weeks (the 52-week window takes all of them, the 13-week one weeks 1..13).
    # A (lost, cost 2): 10 a week; week 0 half in stock (sold 5, estimate 10), week 13 in stock 40 %
    #   (sold 4, estimate 4 + 0.6 x 10 = 10): lost 5 + 6.
    # B (backorder, cost 3): 20 a week sold = demand; week 12 in stock 75 %: 0.25 x 20 = 5 backlogged;
    #   week 0 has no stock row (NaN): counted in stock, as the forecast takes it.
    # C (lost): no stock history at all -> no row.
    sales = np.array([[5.0] + [10.0] * 12 + [4.0], [20.0] * 14, [7.0] * 14])
    demand = np.array([[10.0] * 14, [20.0] * 14, [7.0] * 14])
    share = np.ones((3, 14))
    share[0, 0], share[0, 13], share[1, 12] = 0.5, 0.4, 0.75
    share[1, 0], share[2, :] = np.nan, np.nan
    return lost_sales_by_sku(np.array(["A", "B", "C"], dtype=object), np.array(["S1", "S1", "S2"], dtype=object),
                             np.array([2.0, 3.0, 1.0]), np.array([True, False, True]), sales, demand, share)


def test_lost_units_value_and_backorder_rate_per_sku_are_the_hand_worked_sums() -> None:
    table = _two_suppliers().set_index("sku")
    assert list(table.index) == ["A", "B"]
    a, b = table.loc["A"], table.loc["B"]
    assert a["unmet_demand"] == "lost" and b["unmet_demand"] == "backorder"
    assert (a["demand_units_13w"], a["lost_units_13w"], a["lost_value_13w"]) == (130.0, 6.0, 12.0)
    assert a["backorder_rate_13w"] == pytest.approx(6 / 130) and a["backordered_units_13w"] == 0.0
    assert (a["demand_units_52w"], a["lost_units_52w"], a["lost_value_52w"]) == (140.0, 11.0, 22.0)
    assert a["backorder_rate_52w"] == pytest.approx(11 / 140)
    assert (a["out_of_stock_weeks_13w"], a["out_of_stock_weeks_52w"]) == (1, 2)
    assert (b["demand_units_13w"], b["backordered_units_13w"], b["lost_units_13w"]) == (260.0, 5.0, 0.0)
    assert b["backorder_rate_13w"] == pytest.approx(5 / 260) and b["lost_value_13w"] == 0.0
    assert b["demand_units_52w"] == 280.0  # week 0 had no stock row: in stock
    assert b["backorder_rate_52w"] == pytest.approx(5 / 280)


def test_supplier_rollup_sums_its_skus_and_weights_the_rate_by_demand() -> None:
    supplier = lost_sales_by_supplier(_two_suppliers()).set_index("supplier_id")
    assert list(supplier.index) == ["S1"]
    s1 = supplier.loc["S1"]
    assert (s1["skus"], s1["lost_skus"]) == (2, 1)
    assert (s1["demand_units_13w"], s1["lost_units_13w"], s1["lost_value_13w"], s1["backordered_units_13w"]) == (
        390.0, 6.0, 12.0, 5.0)
    assert s1["backorder_rate_13w"] == pytest.approx(11 / 390)  # not the mean of 6/130 and 5/260
    assert s1["backorder_rate_52w"] == pytest.approx(16 / 420)


def test_weeks_before_a_skus_history_start_and_without_demand_give_no_rate() -> None:
    table = lost_sales_by_sku(np.array(["A"], dtype=object), np.array(["S1"], dtype=object), np.array([1.0]),
                              np.array([True]), np.array([[3.0, 0.0, 0.0]]), np.array([[9.0, 0.0, 0.0]]),
                              np.array([[0.0, 1.0, 1.0]]), start=np.array([1]))
    assert table.loc[0, "lost_units_13w"] == 0.0  # week 0 (6 lost) is before the history start
    assert np.isnan(table.loc[0, "backorder_rate_13w"])


def test_estimated_lost_units_are_within_10_percent_of_the_simulated_truth() -> None:
    # benchmarks/censored_demand.py: 60 lost-sales SKUs, constant known demand, stock-outs on up to
    # half of the days; lost units as the run's lost_sales table counts them over the whole history
    # vs what the simulation lost (measured: 59,306 vs 61,526, -3.6 %).
    from tests.benchmark_scripts import benchmark_module

    benchmark = benchmark_module("censored_demand")
    figures = benchmark.measure(benchmark.simulate_lost_sales(n_skus=60, weeks=104, seed=1))
    assert figures["simulated_lost_units"] > 10_000
    assert abs(figures["lost_units_error"]) <= 0.10


@pytest.mark.parametrize("seed", [1, 2])
def test_policy_replay_of_heavily_censored_lost_items_is_within_2_points_of_target(seed: int) -> None:
    # benchmarks/censored_demand.py --replay: the SKUs with >= 20 % of selling days out of stock (150
    # lost-sales SKUs), replayed as the flow replays them (unconstrained demand, engine re-forecast,
    # lost-sales dynamics) at a 0.94 target; measured: cycle service 0.931 / 0.931, fill rate
    # 0.944 / 0.945 (seeds 1 / 2)
    from tests.benchmark_scripts import benchmark_module

    benchmark = benchmark_module("censored_demand")
    world = benchmark.simulate_lost_sales(n_skus=150, weeks=104, seed=seed)
    replay = benchmark.measure_replay(world, 0.94, arms=(("cycle", "unconstrained", "lost"),
                                                         ("fill_rate", "unconstrained", "lost")))
    cycle, fill_rate = replay.set_index("service_level_type").loc[["cycle", "fill_rate"]].itertuples()
    assert cycle.skus >= 40 and cycle.cycles >= 500
    assert abs(cycle.cycle_service_level - 0.94) <= 0.02
    assert abs(fill_rate.fill_rate - 0.94) <= 0.02


# ---------------------------------------------------------------- 16.5: projection and policy, lost-sales form
def _planning(unmet: list[str], on_hand: list[float], orders: list[tuple] | None = None, *,
              service_level: float = np.nan, unit_cost: float = 2.0):
    from safestock.models.inventory import LeadTimes, build_planning_inputs

    skus = np.array([f"S{i}" for i in range(len(unmet))])
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": unit_cost,
                          "pack_size": 1.0, "moq": 0.0, "service_level": service_level, "status": "active",
                          "unmet_demand": unmet})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [28.0],
                              "review_period_days": [0.0], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": 4.0, "lead_time_weeks_sd": 0.0,
                            "lead_time_weeks_p90": 4.0, "receipts": 10, "source": "sku"})
    per_supplier = pd.DataFrame({"supplier_id": ["V1"], "mean_days_late": [0.0]})
    inventory = pd.DataFrame({"sku": skus, "on_hand": on_hand, "backordered": 0.0, "as_of": AS_OF})
    po = pd.DataFrame(orders or [], columns=["po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
                                             "received_date", "received_quantity", "status"])
    for column in ("order_date", "expected_date", "received_date"):
        po[column] = pd.to_datetime(po[column])
    return build_planning_inputs(skus, items, suppliers, LeadTimes(per_sku=per_sku, per_supplier=per_supplier),
                                 inventory, po, AS_OF)


AS_OF = pd.Timestamp("2026-01-07")
FIRST_WEEK = pd.Timestamp("2026-01-12")


def _risk(planning, mean, sd, family):
    from safestock.models.inventory import PolicyConfig, project_risk

    weeks = np.shape(mean)[1]
    policy = pd.DataFrame({"sku": planning.sku, "supplier_id": "V1", "protection_demand_mean": 10.0,
                           "protection_demand_sd": 0.0})
    return project_risk(planning, mean, sd, np.array(family), FIRST_WEEK, policy, PolicyConfig(horizon_weeks=weeks))


def test_lost_item_projection_carries_no_backlog_and_a_receipt_refills_the_shelf() -> None:
    # Demand 5 a week exactly, nothing on hand, 8 arriving in week 2 (expected 2026-01-19).
    # backorder item: net -5, then -5 + 8 - 5 = -2 (the backlog eats the receipt);
    # lost item: week 1 empty, 5 lost; week 2 the shelf gets 8, 5 sold, 3 left, nothing lost.
    orders = [(f"P{i}", f"S{i}", "V1", 8, "2026-01-01", "2026-01-19", None, None, "open") for i in range(2)]
    projection, risk = _risk(_planning(["backorder", "lost"], [0.0, 0.0], orders), np.full((2, 2), 5.0),
                             np.zeros((2, 2)), ["normal", "normal"])
    backorder, lost = projection[projection["sku"] == "S0"], projection[projection["sku"] == "S1"]
    assert list(backorder["on_hand_expected"]) == pytest.approx([-5.0, -2.0])
    assert list(backorder["expected_backorder_units"]) == pytest.approx([5.0, 2.0])
    assert backorder["expected_lost_units"].isna().all() and set(backorder["unmet_demand"]) == {"backorder"}
    assert list(lost["on_hand_expected"]) == pytest.approx([0.0, 3.0])
    assert list(lost["backorder_probability"]) == pytest.approx([1.0, 0.0])   # the week's stock-out probability
    assert list(lost["expected_lost_units"]) == pytest.approx([5.0, 0.0])
    assert list(lost["expected_backorder_units"]) == pytest.approx([5.0, 5.0])  # lost so far, not backlogged
    assert list(risk["unmet_demand"]) == ["backorder", "lost"]


def test_lost_item_projection_under_poisson_demand_matches_the_hand_worked_chain() -> None:
    # One unit on hand, Poisson(0.7) demand a week, no receipts. Under lost sales the unit stays until
    # the first demand: E[on hand] = P(no demand yet) = e^-0.7, e^-1.4. Week 1 stock-out (demand > 1):
    # 1 - e^-0.7 (1 + 0.7); lost in week 1 = E[(D - 1)+] = 0.7 - 1 + e^-0.7; by the end of week 2 all demand
    # but the one unit sold is lost: 1.4 - (1 - e^-1.4). Week 2 stock-out: the shelf was emptied in week 1
    # (prob. 1 - e^-0.7) and a demand comes, or the unit is still there and 2+ units are asked for.
    mu = 0.7
    projection, _ = _risk(_planning(["lost"], [1.0]), np.full((1, 2), mu), np.full((1, 2), np.sqrt(mu)),
                          ["poisson"])
    e = np.exp
    assert list(projection["on_hand_expected"]) == pytest.approx([e(-mu), e(-2 * mu)], abs=1e-9)
    no_stockout = e(-mu) * (1 + mu)
    week2 = (1 - e(-mu)) * (1 - e(-mu)) + e(-mu) * (1 - no_stockout)
    assert list(projection["backorder_probability"]) == pytest.approx([1 - no_stockout, week2], abs=1e-9)
    assert list(projection["expected_backorder_units"]) == pytest.approx(
        [mu - 1 + e(-mu), 2 * mu - (1 - e(-2 * mu))], abs=1e-9)


def test_lost_projection_rows_are_independent_so_chunks_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from safestock.models.inventory import lost_sales

    rng = np.random.default_rng(0)
    n = 60
    args = (rng.uniform(0, 40, n), np.where(rng.random((n, 6)) < 0.2, 10.0, 0.0), rng.uniform(0.5, 8, (n, 6)))
    whole = lost_sales.project_lost_sales(*args, args[2] * 1.5, rng.random(n) < 0.5)
    monkeypatch.setattr(lost_sales, "CHUNK_SKUS", 7)
    rng = np.random.default_rng(0)
    args = (rng.uniform(0, 40, n), np.where(rng.random((n, 6)) < 0.2, 10.0, 0.0), rng.uniform(0.5, 8, (n, 6)))
    chunked = lost_sales.project_lost_sales(*args, args[2] * 1.5, rng.random(n) < 0.5)
    for name, values in whole.items():
        assert np.array_equal(values, chunked[name]), name
    assert (whole["on_hand_expected"] >= 0).all() and (whole["expected_lost_units"] >= 0).all()


def test_fill_rate_policy_of_a_lost_item_uses_the_lost_sales_form() -> None:
    # Same case as test_inventory_policy's SPT fill-rate example: sigma over the lead time 100, Q = EOQ = 300,
    # P2 = 0.95. Backorders: G(k) = 0.05 x 300 / 100 = 0.15 -> k = 0.671. Lost sales: the demand of a cycle
    # is Q + ESPRC, so G(k) = (0.05 / 0.95) x 300 / 100 = 0.15789 -> k = 0.640 (G(0.64) = 0.1580).
    from safestock.models.inventory import PolicyConfig, compute_policy
    from safestock.models.inventory.lost_sales import lost_sales_fill_rate

    assert lost_sales_fill_rate(np.array([0.95]))[0] == pytest.approx(0.9 / 0.95)
    planning = _planning(["backorder", "lost"], [0.0, 0.0], service_level=0.95,
                         unit_cost=2 * 5200 * 50 / (0.25 * 90000.0))
    args = (np.full((2, 26), 100.0), np.full((2, 26), 50.0), np.array(["normal"] * 2), np.array(["smooth"] * 2),
            np.array(["A"] * 2))
    fill = compute_policy(planning, *args, PolicyConfig(service_level_type="fill_rate")).set_index("sku")
    assert fill.loc["S0", "safety_stock"] / 100.0 == pytest.approx(0.671, abs=0.003)
    assert fill.loc["S1", "safety_stock"] / 100.0 == pytest.approx(0.640, abs=0.003)
    assert fill.loc["S1", "method"] == "fill_rate/normal+lost_sales"
    assert fill.loc["S1", "service_level"] == 0.95  # the target is reported as given
    cycle = compute_policy(planning, *args, PolicyConfig(service_level_type="cycle")).set_index("sku")
    assert cycle.loc["S1", "reorder_point"] == cycle.loc["S0", "reorder_point"]  # P1: the same under lost sales
    assert "+lost_sales" not in cycle.loc["S1", "method"]


# ---------------------------------------------------------------- flow: tables written, report section shown
def test_a_run_with_lost_sales_items_writes_the_tables_and_the_report_section(prefect_harness: None,
                                                                              tmp_path) -> None:
    """A demo with lost-sales items and a stock history: `lost_sales` agrees with `demand_weekly`
    (a lost item's 52-week lost units = its demand estimate - sales over the last 52 weeks), the
    supplier table sums it, lost items' projections never go below 0 on hand, and the planner
    report has the section with its supplier table and stock-out charts."""
    import duckdb
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data
    from safestock.pipelines.flow import weekly_run

    folder = tmp_path / "input"
    write_demo_data(generate_demo_data(30, years=1.5, seed=5, lost_sales_share=0.5), folder)
    summary = weekly_run(input_dir=folder, db_path=tmp_path / "run.duckdb", reports_dir=tmp_path / "reports")
    with duckdb.connect(str(tmp_path / "run.duckdb"), read_only=True) as con:
        run = [summary.run_id]
        per_sku = con.execute("select * from lost_sales where run_id = ?", run).df().set_index("sku")
        suppliers = con.execute("select * from lost_sales_by_supplier where run_id = ?", run).df()
        from_weekly = con.execute(
            """select sku, sum(demand_estimate - sales) as lost from demand_weekly
               where run_id = ? and unmet_demand = 'lost'
                 and week > (select max(week) from demand_weekly where run_id = ?) - interval 52 week
               group by sku""", [summary.run_id, summary.run_id]).df().set_index("sku")["lost"]
        projection = con.execute("select * from projection where run_id = ?", run).df()
        policy = con.execute("select sku, method from inventory_policy where run_id = ?", run).df()
    lost_rows = per_sku[per_sku["unmet_demand"] == "lost"]
    assert (lost_rows["lost_units_52w"] > 0).any(), "no lost units in the demo: the test proves nothing"
    assert lost_rows["lost_units_52w"].to_numpy() == pytest.approx(from_weekly.reindex(lost_rows.index).to_numpy())
    items = pd.read_csv(folder / "items.csv").set_index("sku")
    assert lost_rows["lost_value_52w"].to_numpy() == pytest.approx(
        (lost_rows["lost_units_52w"] * items.loc[lost_rows.index, "unit_cost"]).to_numpy())
    assert suppliers["lost_units_52w"].sum() == pytest.approx(per_sku["lost_units_52w"].sum())
    assert suppliers["skus"].sum() == len(per_sku)
    lost_projection = projection[projection["unmet_demand"] == "lost"]
    assert len(lost_projection) > 0 and (lost_projection["on_hand_expected"] >= -1e-9).all()
    assert lost_projection["expected_lost_units"].notna().all()
    assert projection.loc[projection["unmet_demand"] == "backorder", "expected_lost_units"].isna().all()
    assert len(policy) == len(items)
    planner = next(path for name, path in summary.reports.items() if "planner" in str(name)).read_text()
    assert '<section id="lost-sales"' in planner and 'id="lost-sales-suppliers"' in planner
    top = per_sku.sort_values(["lost_value_52w", "backordered_units_52w"], ascending=False).index[0]
    assert f'id="stockout-1" data-sku="{top}"' in planner
