"""The results file under faults the first round did not inject (issue 20.4, 20.5, 20.6, 20.9, 20.11).

- values the input contract accepts fit the output columns, and a failed write reports the
  database's own error (not "transaction is aborted" / "cannot rollback");
- a table of someone else's named like ours is refused before anything is written;
- another process holding the DuckDB file (a reader kept open with ``read_only=True``) makes a
  run wait up to --wait, then exit 3; `safestock explain` says so in one line;
- the forecast cache stays in ``<db>.cache/`` and is pruned.

The "other process" is always a real second process holding a DuckDB connection.
See docs/reliability.md for the table of faults and observed behaviour.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines import storage
from safestock.pipelines.cli import app
from safestock.pipelines.storage import database
from safestock.pipelines.storage.forecast_cache import (
    forecast_cache_dir,
    prune_forecast_cache,
    prune_legacy_forecast_entries,
)
from typer.testing import CliRunner

from tests.test_reliability_crash import (  # noqa: F401  (module fixtures: api_url, demo_input, good_run)
    CliProcess,
    api_url,
    assert_tables_equal,
    cli_env,
    copy_db,
    demo_input,
    good_run,
    query,
    run_args,
    run_rows,
)

runner = CliRunner()

HOLDER = (
    "import duckdb, sys\n"
    "con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'read_only')\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"
    "con.close()\n"
)


@contextmanager
def held(db: Path, *, read_only: bool = True, release_after: float | None = None) -> Iterator[subprocess.Popen]:
    """Another process holds ``db`` open (read-only like a notebook, or for writing like a run's
    write window) until the block ends, or for ``release_after`` seconds."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), "read_only" if read_only else "write"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "holding"
    timer = threading.Timer(release_after, proc.stdin.close) if release_after is not None else None
    if timer:
        timer.start()
    try:
        yield proc
    finally:
        if timer:
            timer.join()
        if not proc.stdin.closed:
            proc.stdin.close()
        proc.wait(20)


def _summary() -> dict[str, object]:
    return {"skus": 1, "first_forecast_week": None, "horizon_weeks": 26, "service_level_type": "cycle",
            "input_files": "{}"}


def _sales(quantity: float) -> pd.DataFrame:
    return pd.DataFrame({"sku": ["A"], "week": pd.to_datetime(["2025-12-29"]), "quantity": [quantity]})


def _order(quantity: float, packs: float) -> dict[str, pd.DataFrame]:
    return {"purchase_recommendations": pd.DataFrame({
        "sku": ["A"], "supplier_id": ["S1"], "order_quantity": [quantity], "packs": [packs], "reason": ["test"]})}


def _good_database(db: Path) -> storage.RunRecord:
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    storage.write_run(db, run, _order(12.0, 1), _sales(5.0), _summary())
    return run


def _fetch(db: Path, text: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(text).fetchall()


def _everything(db: Path) -> dict[str, list[tuple]]:
    """Every relation of the file and its rows (to show that nothing was written)."""
    with duckdb.connect(str(db), read_only=True) as con:
        relations = con.execute("select table_name, table_type from information_schema.tables order by 1").fetchall()
        return {name: sorted(con.execute(f'select * from "{name}"').fetchall(), key=repr) if kind == "BASE TABLE"
                else [(kind,)] for name, kind in relations}


# ------------------------------------------------------------------------ 20.4 overflow, real errors

def test_counts_the_contract_allows_fit_and_an_older_database_is_widened(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _good_database(db)
    with duckdb.connect(str(db)) as con:  # purchase_recommendations.packs as released: INTEGER
        con.execute("alter table purchase_recommendations alter column packs type integer")
    storage.connect(db).close()
    assert _fetch(db, "select data_type from information_schema.columns where table_name = "
                      "'purchase_recommendations' and column_name = 'packs'") == [("BIGINT",)]
    assert _fetch(db, "select packs from purchase_recommendations") == [(1,)]  # the old row kept

    # daily sales of 9e8 and a backorder of 9e11 (both accepted by the contract) order ~9e11 units
    run = storage.start_run(db, pd.Timestamp("2026-01-11"), "in", {})
    storage.write_run(db, run, _order(9e11, 9e11 / 12), _sales(6.3e9), _summary())
    assert _fetch(db, f"select packs from purchase_recommendations where run_id = '{run.run_id}'") == [(75_000_000_000,)]


def test_a_failed_insert_reports_the_database_error_and_names_the_table(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    good = _good_database(db)
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    broken = {"inventory_policy": pd.DataFrame({"sku": ["A"], "supplier_id": ["S1"], "safety_stock": ["lots"]})}
    with pytest.raises(storage.OutputWriteError) as caught:
        storage.write_run(db, run, broken, _sales(9.0), _summary())
    message = str(caught.value)
    assert "'inventory_policy'" in message and "Conversion Error" in message and "lots" in message
    assert "aborted" not in message
    # what the flow records in runs.error
    storage.fail_run(db, run.run_id, f"{type(caught.value).__name__}: {caught.value}")
    (error,) = _fetch(db, f"select error from runs where run_id = '{run.run_id}'")[0]
    assert error.startswith("OutputWriteError: writing output table 'inventory_policy' failed: ConversionException")
    assert _fetch(db, "select distinct run_id from purchase_recommendations") == [(good.run_id,)]


class _CommitFails:
    """A connection whose commit fails as on a full disk (DuckDB then has no transaction to roll back)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def __enter__(self) -> "_CommitFails":
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()

    def commit(self) -> None:
        self._con.rollback()
        raise duckdb.IOException("could not write the write-ahead log: No space left on device")


def test_a_failed_commit_reports_its_own_error_not_cannot_rollback(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "r.duckdb"
    good = _good_database(db)
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    real_connect = database.connect
    monkeypatch.setattr(database, "connect", lambda path, **kw: _CommitFails(real_connect(path, **kw)))
    with pytest.raises(duckdb.IOException, match="No space left on device"):
        storage.write_run(db, run, _order(30.0, 3), _sales(9.0), _summary())
    monkeypatch.undo()
    assert _fetch(db, "select distinct run_id from purchase_recommendations") == [(good.run_id,)]


# ------------------------------------------------------------------------ 20.5 a foreign table

FOREIGN = {
    "other columns": ("forecasts", "create table forecasts (id integer, note varchar)",
                      "insert into forecasts values (1, 'keep me')", "safestock does not write: id, note"),
    "ours plus one": ("runs", "create table runs as select 'r1' as run_id, date '2026-01-04' as as_of, "
                      "now()::timestamp as started_at, 'succeeded' as status, 'x' as owner", None,
                      "safestock does not write: owner"),
    "another type": ("sales_weekly", "create table sales_weekly (sku varchar not null, week date not null, "
                     "quantity varchar not null)", "insert into sales_weekly values ('A', date '2025-12-29', 'ten')",
                     "quantity varchar (safestock: double)"),
    "a view": ("items_snapshot", "create view items_snapshot as select 1 as run_id", None, "it is a view"),
    "our view's name": ("forecast_vs_actual", "create table forecast_vs_actual (x integer)",
                        "insert into forecast_vs_actual values (1)", "safestock keeps a view of this name"),
}


@pytest.mark.parametrize("case", FOREIGN)
def test_a_foreign_table_named_like_ours_is_refused_before_anything_is_written(case: str, tmp_path: Path) -> None:
    table, create, insert, reason = FOREIGN[case]
    db = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(create)
        if insert:
            con.execute(insert)
    before = _everything(db)
    with pytest.raises(storage.ForeignTableError) as caught:
        storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    assert f"{db} holds a table {table!r} that is not safestock's" in str(caught.value)
    assert reason in str(caught.value) and "nothing was written" in str(caught.value)
    assert _everything(db) == before


def test_a_foreign_table_refuses_the_write_too(tmp_path: Path) -> None:
    """A table replaced by someone else's between start and write: the write deletes nothing."""
    db = tmp_path / "r.duckdb"
    _good_database(db)
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    with duckdb.connect(str(db)) as con:
        con.execute("drop table forecasts")
        con.execute("create table forecasts (run_id varchar, payload varchar)")
        con.execute("insert into forecasts values ('x', 'theirs')")
    before = _everything(db)
    with pytest.raises(storage.ForeignTableError, match="'forecasts'"):
        storage.write_run(db, run, _order(30.0, 3), _sales(9.0), _summary())
    assert _everything(db) == before


# ------------------------------------------------------------------------ 20.6 a process holds the file

def test_a_held_file_is_waited_for_then_refused_with_the_holder_named(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    _good_database(db)
    before = _everything(db)
    with held(db) as reader:
        started = time.monotonic()
        with pytest.raises(storage.DatabaseBusyError) as caught:
            storage.start_run(db, pd.Timestamp("2026-01-11"), "in", {}, wait_seconds=1.0)
        assert 1.0 <= time.monotonic() - started < 5
        assert f"the database file {db} is held open by process {reader.pid} (waited 1 s)" in str(caught.value)
    assert _everything(db) == before  # no run row: the file could not be reached
    with held(db, release_after=1.0):  # released within --wait: the run goes ahead
        started = time.monotonic()
        run = storage.start_run(db, pd.Timestamp("2026-01-11"), "in", {}, wait_seconds=20)
        assert time.monotonic() - started < 10
    assert _fetch(db, f"select status from runs where run_id = '{run.run_id}'") == [("running",)]


def test_a_write_that_cannot_reach_the_file_leaves_the_previous_results_and_its_row_is_settled(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    good = _good_database(db)
    run = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    with held(db):
        with pytest.raises(storage.DatabaseBusyError):
            storage.write_run(db, run, _order(30.0, 3), _sales(9.0), _summary(), wait_seconds=0.5)
        assert storage.fail_run(db, run.run_id, "DatabaseBusyError: …", wait_seconds=0.5) is False
    # the file unreachable: the row stays running, the next run marks it abandoned
    assert _fetch(db, f"select status from runs where run_id = '{run.run_id}'") == [("running",)]
    assert _fetch(db, "select distinct run_id from purchase_recommendations") == [(good.run_id,)]
    storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    status, error = _fetch(db, f"select status, error from runs where run_id = '{run.run_id}'")[0]
    assert status == "failed" and error.startswith("abandoned")

    # reachable again within the grace: recorded as failed with the run's own error
    other = storage.start_run(db, pd.Timestamp("2026-01-04"), "in", {})
    with held(db, release_after=0.5):
        assert storage.fail_run(db, other.run_id, "DatabaseBusyError: the database file …", wait_seconds=10) is True
    assert _fetch(db, f"select status, error from runs where run_id = '{other.run_id}'") == [
        ("failed", "DatabaseBusyError: the database file …")]


pytest_slow = pytest.mark.slow


@pytest_slow
def test_run_while_a_reader_holds_the_file_exits_3(good_run, demo_input: Path, api_url: str, tmp_path: Path) -> None:
    _, good_id, good_rows = good_run
    db = copy_db(good_run, tmp_path)
    env = cli_env(tmp_path / "home", api_url)
    with held(db) as reader:
        started = time.monotonic()
        process = CliProcess([*run_args(demo_input, db, tmp_path / "reports"), "--wait", "1"], env, tmp_path)
        code, output = process.finish()
    flat = " ".join(output.split())
    assert code == 3, output
    assert f"Database busy: the database file {db} is held open by process {reader.pid} (waited 1 s)" in flat
    assert "Traceback" not in output
    assert list(query(db, "select run_id from runs")["run_id"]) == [good_id]  # nothing written
    assert_tables_equal(run_rows(db, good_id), good_rows)
    assert time.monotonic() - started < 120


@pytest_slow
def test_reader_taking_the_file_mid_run_gives_exit_3_and_no_partial_run(
    good_run, demo_input: Path, api_url: str, tmp_path: Path
) -> None:
    """The run is frozen (SIGSTOP) once its run row is written; a reader opens the file and keeps it
    past --wait and the 5 s grace of recording the failure; the row stays 'running' until the next run."""
    _, good_id, good_rows = good_run
    db = copy_db(good_run, tmp_path)
    env = cli_env(tmp_path / "home", api_url)
    process = CliProcess([*run_args(demo_input, db, tmp_path / "reports"), "--wait", "1"], env, tmp_path)
    assert process.wait_for("Forecasting"), process.finish()
    process.proc.send_signal(signal.SIGSTOP)
    with held(db):
        process.proc.send_signal(signal.SIGCONT)
        code, output = process.finish()
    assert code == 3, output
    assert f"Database busy: the database file {db} is held open by process" in " ".join(output.split())
    assert "Traceback" not in output
    runs = query(db, "select run_id, status from runs")
    assert dict(zip(runs["run_id"], runs["status"])).get(good_id) == "succeeded"
    left = runs[runs["run_id"] != good_id]
    assert list(left["status"]) == ["running"]
    assert_tables_equal(run_rows(db, good_id), good_rows)
    storage.start_run(db, pd.Timestamp("2030-01-01"), "in", {})  # what the next run does first
    assert query(db, f"select status from runs where run_id = '{left['run_id'].item()}'")["status"].item() == "failed"


@pytest_slow
def test_run_on_a_file_with_a_foreign_table_exits_2_naming_it(
    demo_input: Path, api_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table forecasts (id integer, note varchar)")
        con.execute("insert into forecasts values (1, 'keep me')")
    before = _everything(db)
    code, output = CliProcess(run_args(demo_input, db, tmp_path / "reports"), cli_env(tmp_path / "home", api_url),
                              tmp_path).finish()
    assert code == 2, output
    assert f"Database refused: {db} holds a table 'forecasts' that is not safestock's" in " ".join(output.split())
    assert "Traceback" not in output
    assert _everything(db) == before


# ------------------------------------------------------------------------ 20.9 explain on a bad file

def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_explain_during_a_write_window_says_so_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    _good_database(db)
    with held(db, read_only=False) as writer:  # a run's write window holds the file exclusively
        result = runner.invoke(app, ["explain", "A", "--db", str(db), "--wait", "0.5"])
    assert result.exit_code == 2, result.output
    line = " ".join(_one_line(result.output).split())
    assert line.startswith(f"Database busy: the database file {db} is held open by process {writer.pid}")
    with held(db, read_only=False, release_after=0.5):  # a short window is waited out (default --wait 10)
        waited = runner.invoke(app, ["explain", "NO-SUCH-SKU", "--db", str(db)])
    assert waited.exit_code == 2 and "is not in run" in waited.output and "busy" not in waited.output


@pytest.mark.parametrize("content", ["garbage", "not ours"])
def test_explain_on_a_corrupt_or_foreign_file_says_so_in_one_line(content: str, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    if content == "garbage":
        db.write_bytes(os.urandom(8192))
    else:
        with duckdb.connect(str(db)) as con:
            con.execute("create table notes (x integer)")
    result = runner.invoke(app, ["explain", "A", "--db", str(db)])
    assert result.exit_code == 2, result.output
    line = " ".join(_one_line(result.output).split())
    assert line.startswith(f"Cannot read {db}:")
    assert ("not a valid DuckDB database file" in line) if content == "garbage" else ("runs" in line)


# ------------------------------------------------------------------------ 20.11 the forecast cache

def test_prune_removes_expired_then_oldest_entries_down_to_the_size_bound(tmp_path: Path) -> None:
    folder = tmp_path / "s.duckdb.cache"
    folder.mkdir()
    now = 1_000_000_000.0
    hour = 3600.0
    ages_and_sizes = {"expired": (50 * hour, 100), "old": (30 * hour, 300), "middle": (20 * hour, 300),
                      "new": (1 * hour, 300)}
    for name, (age, size) in ages_and_sizes.items():
        path = folder / name
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))
    # 48 h removes "expired"; then 900 bytes remain > 700: the oldest ("old") goes, 600 <= 700
    pruned = prune_forecast_cache(folder, max_bytes=700, now=now)
    assert sorted(p.name for p in pruned.removed) == ["expired", "old"]
    assert sorted(p.name for p in folder.iterdir()) == ["middle", "new"] and pruned.kept_bytes == 600
    assert prune_forecast_cache(tmp_path / "missing").removed == ()


def test_legacy_forecast_entries_in_prefect_storage_are_removed_and_nothing_else(tmp_path: Path) -> None:
    """Old versions cached partitions in Prefect's storage as safestock-forecast-<sha256>; only those go."""
    storage_dir = tmp_path / "storage"
    (storage_dir / "safestock-forecast-folder").mkdir(parents=True)  # not a file of ours: kept
    legacy = storage_dir / f"safestock-forecast-{'ab' * 32}"
    legacy.write_bytes(b"x" * 100)
    others = ["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "my-safestock-forecast-notes"]
    for name in others:
        (storage_dir / name).write_bytes(b"y")
    assert prune_legacy_forecast_entries(storage_dir) == (legacy,)
    assert sorted(p.name for p in storage_dir.iterdir()) == sorted([*others, "safestock-forecast-folder"])
    assert prune_legacy_forecast_entries(storage_dir) == ()
    assert prune_legacy_forecast_entries(tmp_path / "missing") == ()


@pytest_slow
def test_forecast_cache_lives_beside_the_database_and_is_pruned(
    prefect_harness: None, demo_input: Path, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from safestock.pipelines.flow import weekly_run

    home_storage = tmp_path / "home" / "storage"
    db = tmp_path / "out" / "s.duckdb"
    cache = forecast_cache_dir(db)
    cache.mkdir(parents=True)
    stale = cache / "safestock-forecast-from-last-month"
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (time.time() - 30 * 86400,) * 2)
    home_storage.mkdir(parents=True)  # what an older version left there, beside another flow's result
    legacy = home_storage / f"safestock-forecast-{'0f' * 32}"
    legacy.write_bytes(b"x" * 1000)
    (home_storage / "5d0c3a9e61b24f0f9a8e7d6c5b4a3f21").write_bytes(b"another flow's result")
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: home_storage}):
        weekly_run(input_dir=demo_input, db_path=db, reports_dir=tmp_path / "reports")
    assert cache == tmp_path / "out" / "s.duckdb.cache"
    entries = sorted(p.name for p in cache.iterdir())
    assert entries and all(name.startswith("safestock-forecast-") for name in entries)
    assert stale.name not in entries
    # the run removed the old version's entry, kept the other flow's, and wrote nothing there
    assert [p.name for p in home_storage.iterdir()] == ["5d0c3a9e61b24f0f9a8e7d6c5b4a3f21"]


@pytest_slow
def test_quantities_the_contract_accepts_go_through_a_whole_run(
    prefect_harness: None, tmp_path: Path
) -> None:
    """Daily sales of 9e8 and a backorder of 9e11: the run succeeds and stores the order's packs."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data
    from safestock.pipelines.flow import weekly_run

    folder = tmp_path / "in"
    write_demo_data(generate_demo_data(30, seed=3), folder)
    sales = pd.read_csv(folder / "sales.csv")
    sku = sales["sku"].iloc[0]
    sales.loc[sales["sku"] == sku, "quantity"] = 9e8
    sales.to_csv(folder / "sales.csv", index=False)
    inventory = pd.read_csv(folder / "inventory.csv")
    inventory.loc[inventory["sku"] == sku, "backordered"] = 9e11
    inventory.to_csv(folder / "inventory.csv", index=False)

    summary = weekly_run(input_dir=folder, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "reports")
    (packs,) = _fetch(tmp_path / "s.duckdb", f"select packs from purchase_recommendations where run_id = "
                                              f"'{summary.run_id}' and sku = '{sku}'")[0]
    assert packs > 2**31
