"""The results database: atomic writes, superseding re-runs, failed runs, the run lock."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines import storage
from safestock.pipelines.storage import table_doc, tables


def _outputs(value: float) -> dict[str, pd.DataFrame]:
    return {
        "inventory_policy": pd.DataFrame(
            {"sku": ["A", "B"], "supplier_id": ["S1", "S1"], "safety_stock": [value, value + 1]}
        ),
        "purchase_recommendations": pd.DataFrame(
            {"sku": ["A"], "supplier_id": ["S1"], "order_quantity": [value * 10], "reason": ["test"]}
        ),
    }


def _sales(weeks: list[str], quantity: float) -> pd.DataFrame:
    return pd.DataFrame({"sku": "A", "week": pd.to_datetime(weeks), "quantity": quantity})


def _summary() -> dict[str, object]:
    return {"skus": 2, "first_forecast_week": None, "horizon_weeks": 26, "service_level_type": "cycle",
            "input_files": "{}"}


def _complete_run(db: Path, as_of: str, value: float, weeks: list[str]) -> storage.RunRecord:
    run = storage.start_run(db, pd.Timestamp(as_of), "in", {})
    storage.write_run(db, run, _outputs(value), _sales(weeks, value), _summary())
    return run


def _count(db: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query).fetchall()


def test_rerun_same_as_of_replaces_rows_and_supersedes(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    first = _complete_run(db, "2026-01-04", 1.0, ["2025-12-22", "2025-12-29"])
    second = _complete_run(db, "2026-01-04", 2.0, ["2025-12-22", "2025-12-29"])

    assert _count(db, "select run_id, safety_stock from inventory_policy order by sku") == [
        (second.run_id, 2.0), (second.run_id, 3.0)
    ]
    assert dict(_count(db, "select run_id, status from runs")) == {
        first.run_id: "superseded", second.run_id: "succeeded"
    }
    # sales_weekly holds each week once, with the newest values
    assert _count(db, "select count(*), sum(quantity) from sales_weekly") == [(2, 4.0)]
    assert storage.latest_run_id(db) == second.run_id


def test_new_week_keeps_history_of_earlier_runs(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    _complete_run(db, "2026-01-04", 1.0, ["2025-12-22", "2025-12-29"])
    later = _complete_run(db, "2026-01-11", 5.0, ["2025-12-29", "2026-01-05"])

    assert _count(db, "select count(distinct run_id) from inventory_policy") == [(2,)]
    assert _count(db, "select week, quantity from sales_weekly order by week") == [
        (pd.Timestamp("2025-12-22").date(), 1.0),
        (pd.Timestamp("2025-12-29").date(), 5.0),
        (pd.Timestamp("2026-01-05").date(), 5.0),
    ]
    assert storage.latest_run_id(db) == later.run_id


def test_failed_write_leaves_previous_results(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    good = _complete_run(db, "2026-01-04", 1.0, ["2025-12-29"])
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    broken = _outputs(9.0)
    broken["inventory_policy"]["safety_stock"] = ["not", "numbers"]  # fails inside the transaction
    with pytest.raises(Exception):
        storage.write_run(db, run, broken, _sales(["2025-12-29"], 9.0), _summary())
    storage.fail_run(db, run.run_id, "boom")

    assert _count(db, "select distinct run_id from inventory_policy") == [(good.run_id,)]
    assert _count(db, "select count(*) from purchase_recommendations") == [(1,)]
    assert _count(db, "select sum(quantity) from sales_weekly") == [(1.0,)]
    assert dict(_count(db, "select run_id, status from runs")) == {good.run_id: "succeeded", run.run_id: "failed"}


def test_abandoned_running_row_is_marked_failed_by_next_run(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    dead = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})  # never finished
    _complete_run(db, "2026-01-04", 1.0, ["2025-12-29"])
    status, error = _count(db, f"select status, error from runs where run_id = '{dead.run_id}'")[0]
    assert status == "failed" and "abandoned" in error


def _hold_lock(db: str, ready: "multiprocessing.synchronize.Event", release: "multiprocessing.synchronize.Event") -> None:
    with storage.run_lock(Path(db)):
        ready.set()
        release.wait(30)


def test_second_run_gets_clear_message_with_pid(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(db), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(storage.RunInProgressError) as caught:
            with storage.run_lock(db, wait_seconds=0.5):
                pass
        assert f"pid {holder.pid}" in str(caught.value)
        assert "another run is in progress" in str(caught.value)
    finally:
        release.set()
        holder.join(30)
    with storage.run_lock(db):  # free again once the holder is gone
        pass


def test_lock_released_when_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(db), ready, release))
    holder.start()
    assert ready.wait(60)
    holder.kill()
    holder.join(10)
    started = time.monotonic()
    with storage.run_lock(db, wait_seconds=5):
        pass
    assert time.monotonic() - started < 5


def test_forecast_vs_actual_view_matches_forecasts_of_earlier_runs_with_later_sales(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    earlier = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    forecasts = pd.DataFrame({
        "sku": ["A", "A"], "week": pd.to_datetime(["2026-01-05", "2026-01-12"]), "step": [1, 2],
        "mean": [10.0, 10.0], "lo80": [8.0, 8.0], "hi80": [12.0, 12.0], "lo95": [5.0, 5.0], "hi95": [15.0, 15.0],
        "model": ["ses", "ses"], "sd": [2.0, 2.0],
    })
    storage.write_run(db, earlier, {"forecasts": forecasts}, _sales(["2025-12-29"], 9.0), _summary())
    later = storage.start_run(db, pd.Timestamp("2026-01-11"), "in", {})
    storage.write_run(db, later, {}, _sales(["2025-12-29", "2026-01-05"], 13.0), _summary())

    rows = _count(db, "select run_id, week, forecast, actual, error, inside80, inside95 from forecast_vs_actual")
    # only the week that has actuals now (2026-01-05) is tracked; 13 is outside 8..12 but inside 5..15
    assert rows == [(earlier.run_id, pd.Timestamp("2026-01-05").date(), 10.0, 13.0, -3.0, False, True)]


# ------------------------------------------------------------------ the output-table registry

def _information_schema(db: Path) -> dict[str, list[tuple[str, str, bool]]]:
    """table -> [(column, DuckDB type, nullable)] in ordinal order, read from a real DuckDB file."""
    columns: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, is_nullable in _count(
        db, "select table_name, column_name, data_type, is_nullable from information_schema.columns "
            "where table_schema = 'main' and table_name in (select table_name from information_schema.tables "
            "where table_type = 'BASE TABLE') order by table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append((column, data_type, is_nullable == "YES"))
    return columns


def _registry_columns(table: tables.OutputTable) -> list[tuple[str, str, bool]]:
    return [(c.name, c.type.upper(), c.nullable) for c in table.columns]


def test_generated_schema_creates_every_registered_column_with_its_type(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    storage.connect(db).close()
    found = _information_schema(db)
    assert sorted(found) == sorted(t.name for t in tables.OUTPUT_TABLES)  # no table besides the registry's
    for table in tables.OUTPUT_TABLES:
        assert found[table.name] == _registry_columns(table), table.name
    assert _count(db, "select table_name, constraint_column_names from duckdb_constraints() "
                      "where constraint_type = 'PRIMARY KEY'") == [("runs", ["run_id"])]
    assert _count(db, "select count(*) from forecast_vs_actual") == [(0,)]  # the hand-written view


def test_database_of_an_older_safestock_gains_the_registered_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:  # forecasts and policy_backtest as first released
        con.execute("create table forecasts (run_id varchar not null, sku varchar not null, week date not null, "
                    "step integer not null, mean double not null, lo80 double, hi80 double, lo95 double, "
                    "hi95 double, model varchar not null, sd double)")
        con.execute("create table policy_backtest (run_id varchar not null, demand_class varchar not null, "
                    "skus integer, weeks integer, service_level_target double, cycle_service_level double, "
                    "fill_rate_target double, fill_rate double, average_on_hand double, backorder_units double)")
        con.execute("insert into forecasts values ('old', 'A', date '2025-01-06', 1, 5, 1, 9, 0, 12, 'ses', 2)")
    storage.connect(db).close()

    found = _information_schema(db)
    for name in ("forecasts", "policy_backtest"):  # the appended columns are nullable in the registry too
        assert found[name] == _registry_columns(tables.output_table(name)), name
    assert [c for c, _, _ in found["forecasts"]][-1] == "family"
    assert [(c, t) for c, t, _ in found["policy_backtest"]][-3:] == [
        ("review_cycle_service_level", "DOUBLE"), ("cycles", "BIGINT"), ("demand_units", "DOUBLE")]
    assert _count(db, "select run_id, mean, family from forecasts") == [("old", 5.0, None)]  # old rows kept
    _complete_run(db, "2026-01-04", 1.0, ["2025-12-29"])  # and the current writer works on it
    assert _count(db, "select count(*) from inventory_policy") == [(2,)]


def test_unregistered_output_table_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    outputs = {**_outputs(1.0), "shadow_table": pd.DataFrame({"sku": ["A"]})}
    with pytest.raises(ValueError, match="shadow_table"):
        storage.write_run(db, run, outputs, _sales(["2025-12-29"], 1.0), _summary())
    assert _count(db, "select count(*) from inventory_policy") == [(0,)]
    assert "shadow_table" not in _information_schema(db)

    complete = {name: pd.DataFrame() for name in tables.RUN_TABLES}
    tables.check_run_outputs(complete)  # exactly the registry's per-run tables: accepted
    with pytest.raises(ValueError, match=r"unregistered \['shadow_table'\]"):
        tables.check_run_outputs({**complete, "shadow_table": pd.DataFrame()})
    with pytest.raises(ValueError, match=r"missing \['policy_backtest'\]"):
        tables.check_run_outputs({k: v for k, v in complete.items() if k != "policy_backtest"})


def test_frame_missing_a_non_nullable_column_names_table_and_column(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    outputs = _outputs(1.0)
    outputs["purchase_recommendations"] = outputs["purchase_recommendations"].drop(columns="reason")
    with pytest.raises(ValueError, match=r"'purchase_recommendations'.*'reason'"):
        storage.write_run(db, run, outputs, _sales(["2025-12-29"], 1.0), _summary())
    assert _count(db, "select count(*) from inventory_policy") == [(0,)]  # nothing of the run written


def test_committed_output_tables_doc_is_the_generated_one() -> None:
    committed = (Path(__file__).resolve().parents[1] / "docs" / "output-tables.md").read_text(encoding="utf-8")
    assert committed == table_doc.output_tables_markdown(), (
        f"docs/output-tables.md is out of date with pipelines/storage/tables.py; regenerate it: "
        f"{table_doc.REGENERATE}"
    )
