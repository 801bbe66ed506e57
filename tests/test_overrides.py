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
        before = con.execute("select sku, step, mean from forecasts where sku in (?, ?) order by sku, step",
                             ordered).df()
    stop, doubled = ordered
    folder = tmp_path / "input"
    shutil.copytree(demo_input, folder)
    (folder / "overrides.csv").write_text("scope,key,kind,value,start,end,note\n"
                                          f"sku,{stop},do_not_order,,,,phase-out\n"
                                          f"sku,{doubled},forecast_multiplier,2,,,tender\n"
                                          "sku,NO-SUCH-SKU,forecast_add,5,,,typo\n")
    run = weekly_run(input_dir=folder, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        after = con.execute("select sku, step, mean from forecasts where run_id = ? and sku in (?, ?) "
                            "order by sku, step", [run.run_id, *ordered]).df()
        lines = con.execute("select sku from purchase_recommendations where run_id = ?", [run.run_id]).df()
        applied = con.execute("select line, sku, kind, weeks, before, after, note from overrides_applied "
                              "where run_id = ? order by line", [run.run_id]).df()
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
