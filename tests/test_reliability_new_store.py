"""A new store is ordinary input (issue 20.2): sales with no rows, exactly one week of sales, or
--as-of before most sales give a plan, not `ValueError: zero-size array`."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def _copy_with_sales(demo_input: Path, folder: Path, keep: str) -> Path:
    shutil.copytree(demo_input, folder)
    sales = pd.read_csv(folder / "sales.csv", dtype=str)
    dates = pd.to_datetime(sales["date"])
    if keep == "none":
        sales = sales.iloc[:0]
    elif keep == "one_week":
        last_monday = (dates.max() - pd.Timedelta(days=dates.max().weekday())).normalize()
        first = last_monday - pd.Timedelta(days=7)
        sales = sales[(dates >= first) & (dates < last_monday)]
    sales.to_csv(folder / "sales.csv", index=False)
    return folder


@pytest.mark.parametrize("keep, as_of", [("none", None), ("one_week", None), ("all", "2023-01-10")],
                         ids=["header_only_sales", "one_week_of_sales", "as_of_before_most_sales"])
def test_new_store_gets_a_plan(prefect_harness: None, demo_input: Path, tmp_path: Path, keep: str,
                               as_of: str | None) -> None:
    from safestock.pipelines.flow import weekly_run

    folder = _copy_with_sales(demo_input, tmp_path / "input", keep)
    summary = weekly_run(input_dir=folder, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "reports",
                         as_of=pd.Timestamp(as_of).date() if as_of else None)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        status = con.execute("select status from runs where run_id = ?", [summary.run_id]).fetchone()[0]
        policy_rows = con.execute("select count(*) from inventory_policy where run_id = ?",
                                  [summary.run_id]).fetchone()[0]
        replayed = con.execute("select coalesce(sum(weeks), 0) from policy_backtest where run_id = ?",
                               [summary.run_id]).fetchone()[0]
    assert status == "succeeded" and policy_rows == summary.skus > 0
    if keep == "none":
        assert replayed == 0  # no history: nothing to replay, and no error
    assert (tmp_path / "reports" / "planner.html").is_file()
