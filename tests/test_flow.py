"""The weekly flow end to end on generated data: a real DuckDB file, real Prefect flow runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from safestock.pipelines.flow import weekly_run
from safestock.pipelines.inputs import InputValidationError

pytestmark = pytest.mark.slow

OUTPUT_TABLES = [
    "sku_class", "forecasts", "forecast_accuracy", "lead_times", "inventory_policy", "backorder_risk",
    "projection", "supplier_risk", "purchase_recommendations", "items_snapshot", "suppliers_snapshot",
    "inventory_snapshot", "purchase_orders_snapshot", "policy_backtest",
]


def _query(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _table_counts(db: Path) -> dict[str, int]:
    return {t: int(_query(db, f"select count(*) as n from {t}")["n"].iloc[0]) for t in OUTPUT_TABLES + ["runs"]}


@pytest.fixture(scope="module")
def first_run(prefect_harness: None, demo_input: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("run")
    summary = weekly_run(input_dir=demo_input, db_path=out / "s.duckdb", reports_dir=out / "reports")
    return summary, out


def test_every_output_table_is_filled(first_run) -> None:
    summary, out = first_run
    db = out / "s.duckdb"
    runs = _query(db, "select * from runs")
    assert list(runs["status"]) == ["succeeded"]
    assert runs["run_id"].iloc[0] == summary.run_id
    for table in OUTPUT_TABLES:
        rows = _query(db, f"select count(*) as n, count(distinct run_id) as runs from {table}")
        assert rows["n"].iloc[0] > 0, table
        assert rows["runs"].iloc[0] == 1, table
    n_items = len(pd.read_csv(Path(runs["input_dir"].iloc[0]) / "items.csv"))
    assert _query(db, "select count(*) as n from inventory_policy")["n"].iloc[0] == n_items
    backtest = _query(db, "select * from policy_backtest")
    assert {"all", "smooth"} <= set(backtest["demand_class"])
    assert backtest["cycle_service_level"].between(0, 1).all() and backtest["fill_rate"].dropna().between(0, 1).all()
    horizon = int(runs["horizon_weeks"].iloc[0])
    assert _query(db, "select count(*) as n from forecasts")["n"].iloc[0] == n_items * horizon


def test_weeks_are_iso_mondays_and_forecast_starts_after_as_of(first_run) -> None:
    _, out = first_run
    db = out / "s.duckdb"
    as_of = pd.Timestamp(_query(db, "select as_of from runs")["as_of"].iloc[0])
    weeks = pd.to_datetime(_query(db, "select distinct week from sales_weekly")["week"])
    assert (weeks.dt.weekday == 0).all()
    assert weeks.max() + pd.Timedelta(days=6) <= as_of
    first = pd.Timestamp(_query(db, "select min(week) as w from forecasts")["w"].iloc[0])
    assert first.weekday() == 0 and first > as_of and first - as_of <= pd.Timedelta(days=7)


def test_weekly_history_matches_raw_sales(first_run, demo_input: Path) -> None:
    _, out = first_run
    db = out / "s.duckdb"
    sales = pd.read_csv(demo_input / "sales.csv", dtype={"sku": str}, parse_dates=["date"])
    as_of = pd.Timestamp(_query(db, "select as_of from runs")["as_of"].iloc[0])
    sku = sales.groupby("sku")["quantity"].sum().idxmax()
    one = sales[(sales["sku"] == sku)]
    one = one[one["date"] <= as_of]
    by_week = one.groupby(one["date"] - pd.to_timedelta(one["date"].dt.weekday, unit="D"))["quantity"].sum()
    stored = _query(db, "select week, quantity from sales_weekly where sku = ? order by week", [sku])
    stored = stored.set_index(pd.to_datetime(stored["week"]))["quantity"]
    common = stored.index.intersection(by_week.index)
    assert len(common) > 50
    np.testing.assert_allclose(stored.loc[common].to_numpy(), by_week.loc[common].clip(lower=0).to_numpy())
    # weeks with no sales rows are zero-filled
    assert ((stored.drop(by_week.index, errors="ignore")) == 0).all()


def test_policy_and_orders_are_consistent(first_run, demo_input: Path) -> None:
    _, out = first_run
    db = out / "s.duckdb"
    all_policy = _query(db, "select * from inventory_policy")
    # discontinued and no-demand SKUs are not stocked: reorder point and safety stock are 0
    not_stocked = all_policy["method"].isin(["discontinued", "no_demand"])
    assert (all_policy.loc[not_stocked, ["reorder_point", "safety_stock", "order_up_to"]] == 0).all().all()
    policy = all_policy[~not_stocked]
    assert len(policy) > 0.5 * len(all_policy)
    # safety stock = max(s - mean protection demand, 0); the method flags the SKUs where s lies below that mean
    np.testing.assert_allclose(policy["safety_stock"],
                               np.maximum(policy["reorder_point"] - policy["protection_demand_mean"], 0.0),
                               rtol=1e-6, atol=1e-6)
    assert (policy["safety_stock"] >= 0).all()
    below = policy["method"].str.endswith("+s_below_mean")
    assert (policy.loc[below, "reorder_point"] < policy.loc[below, "protection_demand_mean"]).all()
    cover = _query(db, "select weeks_of_cover from backorder_risk")["weeks_of_cover"]
    assert cover.notna().any() and (cover.dropna() >= 0).all()   # NULL: stock but no forecast demand
    assert (policy["order_up_to"] >= policy["reorder_point"] - 1e-9).all()

    risk = _query(db, "select * from backorder_risk")
    np.testing.assert_allclose(risk["inventory_position"], risk["on_hand"] + risk["on_order"] - risk["backordered"])
    inventory = pd.read_csv(demo_input / "inventory.csv", dtype={"sku": str}).set_index("sku")
    merged = risk.set_index("sku").join(inventory, rsuffix="_input")
    np.testing.assert_allclose(merged["on_hand"], merged["on_hand_input"])

    orders = _query(db, "select o.*, i.pack_size, i.moq from purchase_recommendations o "
                        "join items_snapshot i using (run_id, sku) where o.status = 'recommended'")
    assert len(orders) > 0
    packs = orders["order_quantity"] / orders["pack_size"]
    np.testing.assert_allclose(packs, np.round(packs))
    assert (orders["order_quantity"] >= orders["moq"]).all()
    np.testing.assert_allclose(orders["line_value"], orders["order_quantity"] * orders["unit_cost"])
    assert orders["reason"].str.len().min() > 10
    assert (pd.to_datetime(orders["expected_arrival"]) >= pd.to_datetime(orders["order_by"])).all()


def test_reports_and_order_files_written(first_run) -> None:
    summary, _ = first_run
    assert Path(summary.reports["planner"]).stat().st_size > 10_000
    assert Path(summary.reports["buyer"]).stat().st_size > 1_000
    order_files = [Path(p) for name, p in summary.reports.items() if name.startswith("orders:")]
    assert order_files and all(p.exists() for p in order_files)


def test_rerun_same_as_of_replaces_not_duplicates(first_run, demo_input: Path) -> None:
    summary, out = first_run
    db = out / "s.duckdb"
    before = _table_counts(db)
    policy_before = _query(db, "select * exclude (run_id) from inventory_policy order by sku")
    again = weekly_run(input_dir=demo_input, db_path=db, reports_dir=out / "reports")
    after = _table_counts(db)
    assert {t: after[t] for t in OUTPUT_TABLES} == {t: before[t] for t in OUTPUT_TABLES}
    assert again.superseded == [summary.run_id]
    statuses = _query(db, "select status, count(*) as n from runs group by status order by status")
    assert dict(zip(statuses["status"], statuses["n"])) == {"succeeded": 1, "superseded": 1}
    pd.testing.assert_frame_equal(policy_before, _query(db, "select * exclude (run_id) from inventory_policy order by sku"))


def test_bad_input_is_refused_and_database_unchanged(first_run, demo_input: Path, tmp_path: Path) -> None:
    _, out = first_run
    db = out / "s.duckdb"
    before = _table_counts(db)
    bad = tmp_path / "bad"
    shutil.copytree(demo_input, bad)
    lines = (bad / "sales.csv").read_text().splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[0], "2026-13-45", 1)  # file line 5
    (bad / "sales.csv").write_text("\n".join(lines) + "\n")
    items = pd.read_csv(bad / "items.csv", dtype=str)
    items.drop(columns=["unit_cost"]).to_csv(bad / "items.csv", index=False)

    with pytest.raises(InputValidationError) as caught:
        weekly_run(input_dir=bad, db_path=db, reports_dir=out / "reports")
    message = str(caught.value)
    assert "sales.csv" in message and "line 5" in message and "date" in message
    assert "items.csv" in message and "unit_cost" in message
    assert _table_counts(db) == before


def test_failure_mid_run_is_recorded_and_keeps_previous_results(
    first_run, demo_input: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = first_run
    db = out / "s.duckdb"
    before = _table_counts(db)
    latest_before = _query(db, "select run_id from runs where status = 'succeeded'")["run_id"].tolist()

    def broken_policy(*args, **kwargs):
        raise RuntimeError("injected failure in the policy stage")

    import safestock.pipelines.tasks.planning as planning_tasks

    monkeypatch.setattr(planning_tasks, "compute_policy", broken_policy)
    with pytest.raises(RuntimeError, match="injected failure"):
        weekly_run(input_dir=demo_input, db_path=db, reports_dir=out / "reports")
    after = _table_counts(db)
    assert after["runs"] == before["runs"] + 1
    assert {t: after[t] for t in OUTPUT_TABLES} == {t: before[t] for t in OUTPUT_TABLES}
    failed = _query(db, "select error from runs where status = 'failed'")
    assert len(failed) == 1 and "injected failure" in failed["error"].iloc[0]
    assert _query(db, "select run_id from runs where status = 'succeeded'")["run_id"].tolist() == latest_before


def test_validation_errors_are_not_retried(prefect_harness: None, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Only I/O failures are retried: a bad file stays bad, so it is validated once."""
    import safestock.pipelines.tasks.inputs as input_tasks
    from safestock.pipelines.inputs.contract import ValidationIssue

    calls: list[int] = []

    def rejecting_loader(*args, **kwargs):
        calls.append(1)
        raise InputValidationError([ValidationIssue("sales.csv", 2, "date", "expected a date")])

    monkeypatch.setattr(input_tasks, "load_inputs", rejecting_loader)
    with pytest.raises(InputValidationError):
        weekly_run(input_dir=tmp_path, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r")
    assert len(calls) == 1
    assert not (tmp_path / "s.duckdb").exists()


def test_forecast_partitions_are_cached_by_input(first_run, demo_input: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run on unchanged inputs (e.g. after a failed write) reuses the finished forecasts.

    The module's first run forecast every partition into its database's own cache (<db>.cache/);
    a copy of that database and cache stands for the database the re-run finds, so the re-run
    here is the suite's only extra flow run (the first run is shared with the other tests)."""
    from types import SimpleNamespace

    import safestock.pipelines.tasks.forecast as forecast_tasks

    _, out = first_run
    assert any((out / "s.duckdb.cache").iterdir())  # the first run filled its cache
    shutil.copy(out / "s.duckdb", tmp_path / "s.duckdb")
    shutil.copytree(out / "s.duckdb.cache", tmp_path / "s.duckdb.cache")
    (latest,) = _query(tmp_path / "s.duckdb", "select run_id from runs where status = 'succeeded'")["run_id"]
    forecasts_before = _query(tmp_path / "s.duckdb", "select * exclude (run_id) from forecasts "
                                                     "where run_id = ? order by all", [latest])
    assert len(forecasts_before) > 0

    probe = object()  # stands for a partition: shows that the task calls the patched function
    calls: list[object] = []
    real_forecast = forecast_tasks.forecast_demand

    def counting_forecast(skus, *args, **kwargs):
        calls.append(skus)
        return "probed" if skus is probe else real_forecast(skus, *args, **kwargs)

    monkeypatch.setattr(forecast_tasks, "forecast_demand", counting_forecast)
    no_options = SimpleNamespace(horizon_weeks=1, forecast=SimpleNamespace(engine_options=lambda weeks: {}))
    assert forecast_tasks.forecast_partition_task.fn(probe, None, None, None, None, no_options) == "probed"
    assert calls == [probe]

    again = weekly_run(input_dir=demo_input, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r")
    assert calls == [probe]  # no partition forecast again: every one came from the cache
    assert again.superseded == [latest]
    forecasts_again = _query(tmp_path / "s.duckdb", "select * exclude (run_id) from forecasts "
                                                    "where run_id = ? order by all", [again.run_id])
    pd.testing.assert_frame_equal(forecasts_again, forecasts_before)


def test_run_publishes_summary_and_top_risk_artifacts(first_run) -> None:
    from prefect.artifacts import Artifact

    summary, _ = first_run
    markdown = Artifact.get("safestock-summary")
    table = Artifact.get("safestock-top-risks")
    assert markdown is not None and table is not None
    # the latest run's summary (other tests in this module run flows too)
    assert markdown.data.startswith("# safestock run ") and f"SKUs planned: **{summary.skus:,}**" in markdown.data
    assert "planner" in markdown.data
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert 0 < len(rows) <= 20 and {"sku", "stockout_probability"} <= set(rows[0])


def test_report_failure_after_commit_says_results_were_written(
    prefect_harness: None, small_crash_input: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the suite's 40-SKU input (conftest): the claim is about the run's last stage, not its size."""
    import safestock.pipelines.flow as flow_module
    import safestock.pipelines.tasks.outputs as output_tasks

    def broken_reports(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(output_tasks, "render_reports", broken_reports)
    with pytest.raises(flow_module.ReportsFailedError, match="succeeded and its results are in the database"):
        weekly_run(input_dir=small_crash_input, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r")
    assert _query(tmp_path / "s.duckdb", "select status from runs")["status"].tolist() == ["succeeded"]


def test_weeks_outside_history_window_are_noted(
    prefect_harness: None, demo_input: Path, tmp_path: Path
) -> None:
    config = tmp_path / "short.toml"
    config.write_text("history_weeks = 60\npolicy_backtest_weeks = 0\n")
    weekly_run(input_dir=demo_input, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config)
    notes = _query(tmp_path / "s.duckdb", "select message, rows from data_quality where message like '%history window%'")
    assert len(notes) == 1 and notes["rows"].iloc[0] > 0
    weeks = _query(tmp_path / "s.duckdb", "select count(distinct week) as n from sales_weekly")["n"].iloc[0]
    assert weeks == 60


def test_policy_uses_the_forecasts_fitted_level_error(first_run) -> None:
    """inventory_policy.level_error_weeks is the window model's n_e that the forecast fitted for the
    SKU's demand class on its backtest (forecast_coverage.level_error_weeks), not a constant."""
    _, out = first_run
    joined = _query(out / "s.duckdb", """
        select c.demand_class, p.level_error_weeks as used, f.level_error_weeks as fitted
        from inventory_policy p
        join sku_class c using (run_id, sku)
        join forecast_coverage f on f.run_id = p.run_id and f.demand_class = c.demand_class
        where c.demand_class in ('smooth', 'erratic', 'intermittent', 'lumpy') and f.series >= 30""")
    assert len(joined) > 0
    np.testing.assert_array_equal(joined["used"].to_numpy(), joined["fitted"].to_numpy())
    coverage = _query(out / "s.duckdb", "select * from forecast_coverage")
    assert coverage["window_coverage95"].dropna().between(0.8, 1.0).all()
