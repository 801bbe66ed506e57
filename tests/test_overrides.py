"""Planner overrides (issue 18, item 1, core kinds): each kind changes exactly what it says on a
hand-built case, and a bad override file is refused naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.models.overrides import (
    applied_table,
    apply_forecast_overrides,
    override_matches,
    planning_overrides,
)
from safestock.pipelines.inputs import InputValidationError
from safestock.pipelines.inputs.overrides import read_overrides

SKUS = np.array(["A", "B", "C"])
SUPPLIERS = np.array(["S1", "S1", "S2"])
WEEKS = pd.date_range("2026-03-02", periods=4, freq="7D")  # Mondays 03-02, 03-09, 03-16, 03-23


def _bands() -> dict[str, np.ndarray]:
    mean = np.full((3, 4), 10.0)
    return {"mean": mean, "sd": np.full((3, 4), 2.0), "lo80": mean - 3, "hi80": mean + 3,
            "lo95": mean - 5, "hi95": mean + 5}


def _overrides(folder: Path, body: str) -> pd.DataFrame:
    (folder / "overrides.csv").write_text("scope,key,kind,value,start,end,note\n" + body)
    return read_overrides(folder)


def test_each_forecast_kind_changes_exactly_its_weeks(tmp_path: Path) -> None:
    overrides = _overrides(tmp_path, "supplier,S1,forecast_multiplier,1.5,2026-03-09,2026-03-16,tender\n"
                                     "sku,B,forecast_fixed,4,2026-03-16,,shelf\n"
                                     "sku,C,forecast_add,-12,,2026-03-02,\n"
                                     "sku,ZZZ,forecast_add,5,,,typo\n")
    matches = override_matches(overrides, SKUS, SUPPLIERS)
    out, applied = apply_forecast_overrides(_bands(), WEEKS, overrides, matches, SKUS)
    # A: x1.5 in weeks 2-3 only; sd and bounds scaled the same
    assert out["mean"][0].tolist() == [10, 15, 15, 10] and out["sd"][0].tolist() == [2, 3, 3, 2]
    assert out["hi95"][0].tolist() == [15, 22.5, 22.5, 15]
    # B: x1.5 in weeks 2-3, then fixed 4 from week 3 on (fixed is final); bounds shifted, floored at 0
    assert out["mean"][1].tolist() == [10, 15, 4, 4]
    assert out["lo95"][1].tolist() == [5, 7.5, 0, 0] and out["hi80"][1].tolist() == [13, 19.5, 8.5, 7]
    # C: -12 in week 1 only, floored at 0; sd unchanged
    assert out["mean"][2].tolist() == [0, 10, 10, 10] and out["sd"][2].tolist() == [2, 2, 2, 2]
    table = applied_table(overrides, [applied])
    rows = {(r.line, r.sku): (r.weeks, r.before, r.after) for r in table.itertuples()}
    assert rows[(2, "A")] == (2, 20.0, 30.0) and rows[(2, "B")] == (2, 20.0, 30.0)
    assert rows[(3, "B")] == (2, 25.0, 8.0) and rows[(4, "C")] == (1, 10.0, 0.0)
    unmatched = table[table["line"] == 5]
    assert unmatched["sku"].isna().all() and unmatched["note"].tolist() == ["matched no SKU"]


def test_service_level_and_do_not_order_on_the_planning_date(tmp_path: Path) -> None:
    overrides = _overrides(tmp_path, "all,,service_level,0.9,,,\n"
                                     "sku,A,service_level,0.99,,,key account\n"
                                     "sku,C,do_not_order,,2026-03-01,,phase-out\n"
                                     "sku,B,do_not_order,,2026-04-01,,later\n")
    matches = override_matches(overrides, SKUS, SUPPLIERS)
    level, stopped, applied = planning_overrides(np.array([np.nan, 0.95, np.nan]), np.zeros(3, bool),
                                                 pd.Timestamp("2026-03-08"), overrides, matches, SKUS)
    assert level.tolist() == [0.99, 0.9, 0.9]  # the SKU's own override beats the one for all
    assert stopped.tolist() == [False, False, True]  # B's phase-out starts after the planning date
    later = applied[(applied["sku"] == "B") & (applied["kind"] == "do_not_order")]
    assert later["note"].tolist() == ["planning date outside the date range"]


def test_a_bad_overrides_file_names_file_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError) as caught:
        _overrides(tmp_path, "sku,A,forecast_multiplier,-1,,,\n"       # line 2
                             "shelf,A,forecast_add,1,,,\n"             # line 3
                             "sku,A,service_level,1.2,,,\n"            # line 4
                             "supplier,S1,forecast_add,2,2026-03-01,2026-03-31,\n"
                             "supplier,S1,forecast_add,3,2026-03-15,,\n"  # line 6 overlaps line 5
                             "sku,B,forecast_fixed,3,2026-04-01,2026-03-01,\n")  # line 7
    text = str(caught.value)
    for expected in ("overrides.csv, line 2, column 'value': -1 is below 0",
                     "overrides.csv, line 3, column 'scope': 'shelf' is not a scope",
                     "overrides.csv, line 4, column 'value': a service level is between 0 and 1",
                     "overrides.csv, line 7, column 'end': end 2026-03-01 is before start 2026-04-01"):
        assert expected in text, text
    with pytest.raises(InputValidationError, match="line 3, column 'start': overlaps the forecast_add override "
                                                   "of line 2 for the same supplier"):
        _overrides(tmp_path, "supplier,S1,forecast_add,2,2026-03-01,2026-03-31,\n"
                             "supplier,S1,forecast_add,3,2026-03-15,,\n")


@pytest.mark.slow
def test_a_run_with_overrides_changes_forecast_and_orders_and_records_them(
        prefect_harness: None, demo_input: Path, tmp_path: Path) -> None:
    import shutil

    import duckdb
    from safestock.pipelines.flow import weekly_run

    config = tmp_path / "safestock.toml"
    config.write_text("policy_backtest_weeks = 0\n")
    base = weekly_run(input_dir=demo_input, db_path=tmp_path / "base.duckdb", reports_dir=tmp_path / "r0",
                      config_path=config)
    with duckdb.connect(str(tmp_path / "base.duckdb"), read_only=True) as con:
        ordered = con.execute("select sku from purchase_recommendations where status = 'recommended' "
                              "order by sku limit 2").df()["sku"].tolist()
        shelf = con.execute("select sku, reorder_point, order_up_to from inventory_policy join items_snapshot "
                            "using (run_id, sku) where order_up_to > 0 and category <> 'electrical' "
                            "and sku not in (?, ?) order by sku limit 1", ordered).df().iloc[0]
        before = con.execute("select sku, step, mean from forecasts where sku in (?, ?) order by sku, step",
                             ordered).df()
    stop, doubled = ordered
    folder = tmp_path / "input"
    shutil.copytree(demo_input, folder)
    (folder / "overrides.csv").write_text("scope,key,kind,value,start,end,note\n"
                                          f"sku,{stop},do_not_order,,,,phase-out\n"
                                          f"sku,{doubled},forecast_multiplier,2,,,tender\n"
                                          "sku,NO-SUCH-SKU,forecast_add,5,,,typo\n"
                                          f"sku,{shelf.sku},min_stock,{shelf.order_up_to + 7:.0f},,,display\n"
                                          "category,electrical,service_level,0.97,,,\n")
    run = weekly_run(input_dir=folder, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        after = con.execute("select sku, step, mean from forecasts where run_id = ? and sku in (?, ?) "
                            "order by sku, step", [run.run_id, *ordered]).df()
        lines = con.execute("select sku from purchase_recommendations where run_id = ?", [run.run_id]).df()
        applied = con.execute("select line, sku, kind, weeks, before, after, note from overrides_applied "
                              "where run_id = ? order by line, sku", [run.run_id]).df()
        limited = con.execute("select reorder_point, order_up_to, method from inventory_policy "
                              "where run_id = ? and sku = ?", [run.run_id, shelf.sku]).df().iloc[0]
        electrical = con.execute("select p.sku, p.service_level from inventory_policy p join items_snapshot i "
                                 "using (run_id, sku) where run_id = ? and i.category = 'electrical' and "
                                 "i.status = 'active'", [run.run_id]).df()
    # the display minimum: s = S = the old order-up-to + 7 (above both), recorded s before -> after
    raised = applied[applied["line"] == 5].iloc[0]
    assert limited["reorder_point"] == limited["order_up_to"] == pytest.approx(round(shelf.order_up_to + 7))
    assert limited["method"].endswith("+min_stock")
    assert (raised["kind"], raised["before"], raised["after"]) == (
        "min_stock", pytest.approx(shelf.reorder_point), pytest.approx(round(shelf.order_up_to + 7)))
    # the category override reached exactly the category's SKUs (items_snapshot.category from the demo)
    assert len(electrical) > 0 and (electrical["service_level"] == 0.97).all()
    assert set(applied[applied["line"] == 6]["sku"]) >= set(electrical["sku"])
    applied = applied[applied["line"] <= 4].reset_index(drop=True)
    twice = before[before["sku"] == doubled]["mean"].to_numpy() * 2
    assert after[after["sku"] == doubled]["mean"].to_numpy() == pytest.approx(twice)
    assert after[after["sku"] == stop]["mean"].tolist() == before[before["sku"] == stop]["mean"].tolist()
    assert stop not in set(lines["sku"])
    assert applied.assign(sku=applied["sku"].fillna("NULL"))[["line", "sku", "kind"]].astype(str).values.tolist() == [
        ["2", stop, "do_not_order"], ["3", doubled, "forecast_multiplier"], ["4", "NULL", "forecast_add"]]
    assert applied["after"].iloc[1] == pytest.approx(twice.sum())
    assert applied["note"].iloc[2] == "matched no SKU"
    planner = (tmp_path / "r" / f"planner_{run.as_of:%Y-%m-%d}.html").read_text(encoding="utf-8")
    section = planner[planner.index('<section id="overrides"'):planner.index('<section id="data-quality"')]
    assert section.index("NO-SUCH-SKU") < section.index(doubled)  # what matched nothing comes first
    assert "matched no SKU" in section and "do_not_order" in section and f"{twice.sum():,.0f}" in section
    from safestock.pipelines.cli import app
    from typer.testing import CliRunner

    shown = CliRunner().invoke(app, ["explain", doubled, "--db", str(tmp_path / "s.duckdb")])
    assert shown.exit_code == 0, shown.output
    expected = (f"override (overrides.csv line 3, sku {doubled}): forecast_multiplier "
                f"{twice.sum() / 2:,.1f} -> {twice.sum():,.1f} over {len(twice)} week(s)")
    assert expected in " ".join(shown.output.split())
    limit = CliRunner().invoke(app, ["explain", shelf.sku, "--db", str(tmp_path / "s.duckdb")])
    assert (f"override (overrides.csv line 5, sku {shelf.sku}): min_stock {raised['before']:,.1f} -> "
            f"{raised['after']:,.1f}") in " ".join(limit.output.split()), limit.output
    assert "min_stock" in section and "service_level" in section


def test_category_scope_sits_between_sku_and_supplier(tmp_path: Path) -> None:
    overrides = _overrides(tmp_path, "supplier,S1,forecast_multiplier,2,,,\n"
                                     "category,pumps,forecast_multiplier,3,,,\n"
                                     "sku,A,forecast_multiplier,4,,,\n"
                                     "all,,forecast_multiplier,5,,,\n")
    matches = override_matches(overrides, SKUS, SUPPLIERS, np.array(["pumps", "pumps", None], dtype=object))
    out, _ = apply_forecast_overrides(_bands(), WEEKS, overrides, matches, SKUS)
    # A: its own x4 (sku beats category); B: category x3 beats its supplier's x2; C (no category, S2): all x5
    assert out["mean"][:, 0].tolist() == [40.0, 30.0, 50.0]


def _policy() -> pd.DataFrame:
    return pd.DataFrame({"sku": SKUS, "reorder_point": [20.0, 50.0, 0.0], "order_up_to": [35.0, 80.0, 0.0],
                         "protection_demand_mean": [15.0, 40.0, 0.0], "safety_stock": [5.0, 10.0, 0.0],
                         "method": ["cycle/normal", "cycle/normal", "discontinued"]})


def test_min_and_max_stock_raise_and_cap_the_policy(tmp_path: Path) -> None:
    from safestock.models.override_limits import apply_stock_limits

    overrides = _overrides(tmp_path, "sku,A,min_stock,40,,,display\n"
                                     "sku,B,max_stock,45,,,pallet\n"
                                     "sku,C,min_stock,10,,,\n"
                                     "supplier,S1,min_stock,5,2026-04-01,,later\n")
    matches = override_matches(overrides, SKUS, SUPPLIERS)
    policy, applied = apply_stock_limits(_policy(), overrides, matches, pd.Timestamp("2026-03-08"),
                                         np.array([False, False, True]))
    # A: s = max(20, 40) = 40, S = max(35, 40) = 40, safety stock 40 - 15 = 25
    # B: S = min(80, 45) = 45 < s 50, so s = 45 too; safety stock 45 - 40 = 5
    # C: discontinued, s = S = 0 kept
    assert policy["reorder_point"].tolist() == [40, 45, 0] and policy["order_up_to"].tolist() == [40, 45, 0]
    assert policy["safety_stock"].tolist() == [25, 5, 0]
    assert policy["method"].tolist() == ["cycle/normal+min_stock", "cycle/normal+max_stock", "discontinued"]
    rows = {r.sku: (r.kind, r.before, r.after, r.note) for r in applied.itertuples() if r.line < 3}
    assert rows["A"] == ("min_stock", 20, 40, "order-up-to 35 -> 40")
    assert rows["B"] == ("max_stock", 80, 45, "reorder point capped 50 -> 45: service will fall short of the target")
    assert rows["C"][3] == "not applied: the SKU is discontinued (s = S = 0)"
    # the supplier-wide minimum is outranked for A by its own line, and not yet active for B
    later = applied[applied["line"] == 3]
    assert later["sku"].tolist() == ["B"] and later["note"].tolist() == ["planning date outside the date range"]


def test_like_item_borrows_the_like_skus_history_before_the_forecast(tmp_path: Path) -> None:
    from safestock.models.demand_matrix import DemandMatrix
    from safestock.models.like_item import borrow_like_history

    skus = np.array(["OLD", "NEW", "EST", "NEVER"])
    quantity = np.zeros((4, 20))
    quantity[0, 2:] = 5.0        # OLD sold 5 a week from week 2 on (18 weeks)
    quantity[1, 17:] = 2.0       # NEW: first sale in week 17, 3 weeks of history
    quantity[2] = 1.0            # EST: 20 weeks of its own
    demand = DemandMatrix(skus, pd.date_range("2025-10-20", periods=20, freq="7D"), quantity,
                          np.array([2, 17, 0, 20]))
    overrides = _overrides(tmp_path, "sku,NEW,like_item,OLD,,,successor\n"
                                     "sku,EST,like_item,OLD,,,\n"
                                     "sku,NEVER,like_item,GHOST,,,typo\n")
    matches = override_matches(overrides, skus, np.array(["S"] * 4))
    out, applied = borrow_like_history(demand, overrides, matches, pd.Timestamp("2026-03-08"))
    # NEW: weeks 2..16 take OLD's 5 a week (15 weeks = 75 units), its own 3 x 2 kept; history starts in week 2
    assert out.quantity[1].tolist() == [0, 0] + [5.0] * 15 + [2.0] * 3 and out.start.tolist() == [2, 2, 0, 20]
    assert out.history_weeks[1] == 18
    assert (out.quantity[[0, 2, 3]] == quantity[[0, 2, 3]]).all()
    assert demand.quantity[1, :17].sum() == 0   # the input matrix is left as it was
    rows = {r.sku: (r.weeks, r.before, r.after, r.note) for r in applied.itertuples()}
    assert rows["NEW"] == (15, 6.0, 81.0, "")
    assert rows["EST"][0] == 0 and rows["EST"][3] == "not applied: the SKU has 20 weeks of its own history (>= 13)"
    assert rows["NEVER"][3] == "contradiction: like item 'GHOST' is not a known SKU; no history borrowed"


def test_contradictions_and_past_overrides_are_reported(tmp_path: Path) -> None:
    from safestock.models.override_conflicts import override_conflicts

    overrides = _overrides(tmp_path, "sku,A,min_stock,50,,,\n"                       # line 2
                                     "sku,A,max_stock,40,,,\n"                       # line 3
                                     "sku,B,do_not_order,,2026-03-01,,\n"            # line 4
                                     "sku,B,forecast_add,5,2026-03-09,2026-03-16,\n"  # line 5
                                     "sku,C,forecast_fixed,8,,,\n"                   # line 6
                                     "all,,forecast_add,1,2026-01-05,2026-01-31,\n")  # line 7: in the past
    as_of = pd.Timestamp("2026-03-08")
    matches = override_matches(overrides, SKUS, SUPPLIERS)
    conflicts = override_conflicts(overrides, matches, SKUS, np.array([False, False, True]), as_of)
    _, forecast_rows = apply_forecast_overrides(_bands(), WEEKS, overrides, matches, SKUS)
    table = applied_table(overrides, [forecast_rows], as_of, conflicts)
    notes = {(r.line, r.sku if isinstance(r.sku, str) else None): r.note for r in table.itertuples()}
    clash = "contradiction: min_stock 50 (line 2) > max_stock 40 (line 3); the maximum wins"
    assert notes[(2, "A")] == clash and notes[(3, "A")] == clash
    assert notes[(4, "B")] == "contradiction: forecast override on line 5 in the same dates as this do_not_order"
    assert notes[(5, "B")] == "contradiction: do_not_order on line 4 in the same dates: nothing is ordered"
    assert notes[(6, "C")] == "contradiction: the SKU is discontinued in items (status); it is not ordered"
    # the past override: one row, no SKU, instead of three 'no forecast week' rows
    assert [key for key in notes if key[0] == 7] == [(7, None)]
    assert notes[(7, None)] == "in the past: the date range ended 2026-01-31, before the planning date 2026-03-08"
    assert table.loc[table["line"] == 5, ["weeks", "before", "after"]].values.tolist() == [[2, 20.0, 30.0]]
    # a contradiction on an override that recorded nothing else becomes a row of its own
    alone = applied_table(overrides, [], as_of, conflicts)
    assert alone.loc[alone["line"] == 2, ["sku", "weeks", "note"]].values.tolist() == [["A", 0, clash]]


def test_like_item_and_category_overrides_are_validated(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError) as caught:
        _overrides(tmp_path, "category,,forecast_add,1,,,\n"             # line 2
                             "category,pumps,like_item,SKU-1,,,\n"       # line 3
                             "sku,SKU-2,like_item,,,,\n"                 # line 4
                             "sku,SKU-3,like_item,SKU-3,,,\n"            # line 5
                             "sku,SKU-4,max_stock,-2,,,\n")              # line 6
    text = str(caught.value)
    for expected in ("line 2, column 'key': a category override needs the code in key",
                     "line 3, column 'scope': a like_item override is for one new SKU: scope sku, not category",
                     "line 4, column 'value': a like_item override needs the like SKU's code in value",
                     "line 5, column 'value': a SKU cannot be its own like item (SKU-3)",
                     "line 6, column 'value': -2 is below 0"):
        assert expected in text, text
    overrides = _overrides(tmp_path, "sku,SKU-9,like_item,00042,,,\n")
    assert overrides["text_value"].tolist() == ["00042"] and np.isnan(overrides["value"].iloc[0])


@pytest.mark.slow
def test_a_run_lets_a_new_sku_borrow_its_like_items_history(
        prefect_harness: None, demo_input: Path, demo_database: Path, tmp_path: Path) -> None:
    """like_item in a real run (its own run: borrowed history moves the pooled model selection of
    other SKUs a little, so it is kept apart from the exact checks above)."""
    import shutil

    import duckdb
    from safestock.pipelines.flow import weekly_run

    with duckdb.connect(str(demo_database), read_only=True) as con:
        # the newest SKU (latest first sale: a few weeks of history) borrows the best seller's history
        new, like = (con.execute(f"select sku from sales_weekly where quantity > 0 group by sku "
                                 f"order by {order} limit 1").fetchone()[0]
                     for order in ("min(week) desc, sku", "sum(quantity) desc, sku"))
        weekly = con.execute("select sku, week, quantity from sales_weekly where sku in (?, ?) order by week",
                             [new, like]).df()
        base_forecast = con.execute("select sum(mean) from forecasts where sku = ?", [new]).fetchone()[0]
    folder = tmp_path / "input"
    shutil.copytree(demo_input, folder)
    (folder / "overrides.csv").write_text("scope,key,kind,value,start,end,note\n"
                                          f"sku,{new},like_item,{like},,,successor\n"
                                          f"sku,{like},like_item,NO-SUCH-SKU,,,\n")
    config = tmp_path / "safestock.toml"
    config.write_text("policy_backtest_weeks = 0\n")
    run = weekly_run(input_dir=folder, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        applied = con.execute("select line, sku, weeks, before, after, note from overrides_applied where run_id = ? "
                              "order by line", [run.run_id]).df()
        forecast = con.execute("select sum(mean) from forecasts where run_id = ? and sku = ?",
                               [run.run_id, new]).fetchone()[0]
        sold = con.execute("select sum(quantity) from sales_weekly where sku = ?", [new]).fetchone()[0]
    borrowed, unknown = applied.iloc[0], applied.iloc[1]
    # its history gains the like item's weeks just before its first sale, units x 1
    first_sale = weekly[(weekly["sku"] == new) & (weekly["quantity"] > 0)]["week"].min()
    like_weeks = weekly[(weekly["sku"] == like) & (weekly["week"] < first_sale)].tail(int(borrowed["weeks"]))
    assert borrowed["sku"] == new and borrowed["weeks"] > 13 and borrowed["note"] == ""
    assert borrowed["after"] - borrowed["before"] == pytest.approx(like_weeks["quantity"].sum())
    assert forecast != pytest.approx(base_forecast)
    assert sold == pytest.approx(borrowed["before"])   # sales_weekly keeps what was really sold
    assert unknown["note"] == "contradiction: like item 'NO-SUCH-SKU' is not a known SKU; no history borrowed"
    planner = (tmp_path / "r" / f"planner_{run.as_of:%Y-%m-%d}.html").read_text(encoding="utf-8")
    section = planner[planner.index('<section id="overrides"'):planner.index('<section id="data-quality"')]
    assert section.index("NO-SUCH-SKU") < section.index(new)  # the row with a note comes first
    assert "like item &#39;NO-SUCH-SKU&#39; is not a known SKU" in section and "like_item" in section
    from safestock.pipelines.cli import app
    from typer.testing import CliRunner

    shown = " ".join(CliRunner().invoke(app, ["explain", new, "--db", str(tmp_path / "s.duckdb")]).output.split())
    assert (f"override (overrides.csv line 2, sku {new}): like_item {borrowed['before']:,.1f} -> "
            f"{borrowed['after']:,.1f} over {borrowed['weeks']} week(s)") in shown, shown
