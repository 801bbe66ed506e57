"""Crash safety, locking and idempotency of `safestock run` (issue "Reliability and security").

Real `safestock run` processes are killed with SIGKILL at several stages (timed on the stage lines
the CLI prints to stderr); the database must always hold complete runs only. The subprocesses use
the session's Prefect test server (PREFECT_API_URL) so that each costs seconds, not a server
start-up. See docs/reliability.md for the table of faults and observed behaviour.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.flow import weekly_run
from safestock.pipelines.storage import RUN_TABLES

pytestmark = pytest.mark.slow

SAFESTOCK = Path(sys.executable).with_name("safestock")
SNAPSHOT_TABLES = (*RUN_TABLES, "sales_weekly")


# ----------------------------------------------------------------------------------- helpers

class CliProcess:
    """`safestock <args>` in its own process; stderr stage lines collected as they arrive."""

    def __init__(self, args: list[str], env: dict[str, str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._stdout_path = workdir / f"stdout-{time.monotonic_ns()}.txt"
        self._stdout = open(self._stdout_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([str(SAFESTOCK), *args], stdout=self._stdout, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, marker: str, timeout: float = 180) -> bool:
        """Block until a stderr line contains ``marker`` (False if the process ended first)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(marker in line for line in self.lines):
                    return True
                if (self.proc.poll() is not None and not self._reader.is_alive()) or time.monotonic() > deadline:
                    return False
                self._changed.wait(0.05)

    def finish(self, timeout: float = 240) -> tuple[int, str]:
        """Exit code and everything printed (stderr then stdout)."""
        code = self.proc.wait(timeout)
        self._reader.join(10)
        self._stdout.close()
        return code, "".join(self.lines) + self._stdout_path.read_text(encoding="utf-8")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)


def cli_env(home: Path, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PYTHONUNBUFFERED="1")
    return env


def run_args(input_dir: Path, db: Path, reports: Path) -> list[str]:
    return ["run", "--input", str(input_dir), "--db", str(db), "--reports", str(reports)]


def query(db: Path, text: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(text, params or []).df()


def run_rows(db: Path, run_id: str) -> dict[str, pd.DataFrame]:
    """Every output row of one run, table by table (sorted; sales_weekly is not per run)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {t: con.execute(f'select * from "{t}" where run_id = ? order by all', [run_id]).df()
                  for t in RUN_TABLES}
        tables["sales_weekly"] = con.execute("select * from sales_weekly order by all").df()
    return tables


def values_only(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same rows without run_id (for comparing two runs of the same inputs)."""
    return {name: frame.drop(columns="run_id", errors="ignore").reset_index(drop=True)
            for name, frame in tables.items()}


def assert_tables_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert left.keys() == right.keys()
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def assert_only_complete_runs(db: Path) -> None:
    """Every run_id in an output table belongs to a succeeded run, and each succeeded run
    has rows in every always-filled table (no partial run is visible)."""
    succeeded = set(query(db, "select run_id from runs where status = 'succeeded'")["run_id"])
    for table in RUN_TABLES:
        ids = set(query(db, f'select distinct run_id from "{table}"')["run_id"])
        assert ids <= succeeded, (table, ids - succeeded)
    for table in ("forecasts", "inventory_policy", "backorder_risk", "items_snapshot"):
        ids = set(query(db, f'select distinct run_id from "{table}"')["run_id"])
        assert ids == succeeded, (table, ids, succeeded)


# ----------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def api_url(prefect_harness: None) -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the Prefect test harness did not set PREFECT_API_URL"
    return str(url)


@pytest.fixture(scope="module")
def demo_input(small_crash_input: Path) -> Path:
    """A small (40-SKU) demo folder: every run here costs seconds (conftest: one per session,
    shared with test_reliability_database)."""
    return small_crash_input


@pytest.fixture(scope="module")
def good_run(small_crash_run: tuple[Path, str]):
    """One successful run (in-process, conftest: one per session): its database file, run_id and
    every row it wrote. Tests copy the file before changing it."""
    db, run_id = small_crash_run
    return db, run_id, run_rows(db, run_id)


def copy_db(good_run, tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    shutil.copy(good_run[0], db)
    return db


# ----------------------------------------------------------------------------------- crash safety

# Before the run row exists is covered by "Forecasting" (load is in the same window, no writes).
KILL_POINTS = ["Forecasting", "Writing results", "Writing reports"]


@pytest.mark.parametrize("stage", KILL_POINTS)
def test_kill_9_at_each_stage_keeps_previous_results(
    stage: str, good_run, demo_input: Path, api_url: str, tmp_path: Path
) -> None:
    _, good_id, good_rows = good_run
    db, reports = copy_db(good_run, tmp_path), tmp_path / "reports"
    process = CliProcess(run_args(demo_input, db, reports), cli_env(tmp_path / "home", api_url), tmp_path)
    if not process.wait_for(stage):
        process.kill()
        pytest.fail(f"never saw {stage!r}: {process.finish()}")
    if stage == "Forecasting":
        # A reader can open the file while the run computes (no write window is open).
        assert query(db, "select count(*) as n from forecasts where run_id = ?", [good_id])["n"].iloc[0] == len(
            good_rows["forecasts"])
    process.kill()
    code, output = process.finish()
    assert code == -signal.SIGKILL, output
    assert "Traceback" not in output

    # The database opens read-only and holds complete runs only.
    runs = query(db, "select run_id, status from runs")
    killed = runs[runs["run_id"] != good_id]
    assert len(killed) <= 1
    good_status = runs.loc[runs["run_id"] == good_id, "status"].item()
    if stage == "Forecasting":
        assert set(killed["status"]) <= {"running"}
        assert good_status == "succeeded"
    else:  # the kill may land after the commit: then the new run is complete and replaced the old one
        assert set(killed["status"]) <= {"running", "succeeded"}
        assert good_status == ("superseded" if "succeeded" in set(killed["status"]) else "succeeded")
    assert_only_complete_runs(db)
    if good_status == "succeeded":
        assert_tables_equal(run_rows(db, good_id), good_rows)
    else:
        new_id = killed["run_id"].item()
        assert_tables_equal(values_only(run_rows(db, new_id)), values_only(good_rows))

    # The next run succeeds and records a killed 'running' attempt as failed.
    summary = weekly_run(input_dir=demo_input, db_path=db, reports_dir=reports)
    after = query(db, "select run_id, status, error from runs")
    assert "running" not in set(after["status"])
    for run_id in killed.loc[killed["status"] == "running", "run_id"]:
        row = after[after["run_id"] == run_id].iloc[0]
        assert row["status"] == "failed" and "abandoned" in row["error"]
    assert after.loc[after["run_id"] == summary.run_id, "status"].item() == "succeeded"
    assert_only_complete_runs(db)
    assert_tables_equal(values_only(run_rows(db, summary.run_id)), values_only(good_rows))
    assert (reports / "planner.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_two_runs_at_once_one_waits_out_with_exit_3(good_run, demo_input: Path, api_url: str, tmp_path: Path) -> None:
    """Two `safestock run` on one database: the first to take the lock is frozen (SIGSTOP) while
    it holds it, so the other one deterministically finds it taken."""
    _, good_id, good_rows = good_run
    db = copy_db(good_run, tmp_path)
    env = cli_env(tmp_path / "home", api_url)
    both = [CliProcess(run_args(demo_input, db, tmp_path / f"reports{i}"), env, tmp_path / f"p{i}") for i in (0, 1)]
    holder = None
    deadline = time.monotonic() + 180
    while holder is None and time.monotonic() < deadline:
        for process in both:
            if process.wait_for("Loading and validating", timeout=0.05):
                holder = process
                break
    assert holder is not None, [p.lines for p in both]
    holder.proc.send_signal(signal.SIGSTOP)
    try:
        other = both[1] if holder is both[0] else both[0]
        code, output = other.finish(timeout=180)
        # While the holder is frozen mid-run, a reader sees the previous results.
        assert_tables_equal(run_rows(db, good_id), good_rows)
    finally:
        holder.proc.send_signal(signal.SIGCONT)
    assert code == 3, output
    assert f"another run is in progress on {db} (pid {holder.proc.pid}, started at " in " ".join(output.split())
    assert "Traceback" not in output and "Error" not in output.replace("InProgressError", "")
    holder_code, holder_output = holder.finish()
    assert holder_code == 0, holder_output
    assert_only_complete_runs(db)
    assert list(query(db, "select status from runs order by started_at")["status"]) == ["superseded", "succeeded"]


# ----------------------------------------------------------------------------------- idempotency

def test_same_inputs_twice_give_identical_tables_and_a_changed_input_replaces_them(
    prefect_harness: None, good_run, demo_input: Path, tmp_path: Path
) -> None:
    db, good_id, good_rows = good_run
    db = copy_db(good_run, tmp_path)
    again = weekly_run(input_dir=demo_input, db_path=db, reports_dir=tmp_path / "reports")
    assert again.superseded == [good_id]
    assert_tables_equal(values_only(run_rows(db, again.run_id)), values_only(good_rows))
    assert_only_complete_runs(db)
    for table in RUN_TABLES:  # nothing duplicated: only the newest run's rows are left
        assert query(db, f'select count(*) as n from "{table}"')["n"].iloc[0] == len(good_rows[table]), table

    changed = tmp_path / "changed"
    shutil.copytree(demo_input, changed)
    inventory = pd.read_csv(changed / "inventory.csv", dtype=str, keep_default_na=False)
    sku = inventory["sku"].iloc[3]
    inventory.loc[3, "on_hand"] = "987654"
    inventory.to_csv(changed / "inventory.csv", index=False)
    third = weekly_run(input_dir=changed, db_path=db, reports_dir=tmp_path / "reports")
    assert third.superseded == [again.run_id]
    assert list(query(db, "select status from runs order by started_at")["status"]) == [
        "superseded", "superseded", "succeeded"]
    assert_only_complete_runs(db)
    on_hand = query(db, "select on_hand from inventory_snapshot where sku = ?", [sku])["on_hand"]
    assert list(on_hand) == [987654.0]
    position = query(db, "select inventory_position from backorder_risk where sku = ?", [sku])["inventory_position"]
    assert len(position) == 1 and position.iloc[0] >= 987654.0
    for table in RUN_TABLES:  # one run's rows per table; per-SKU tables keep their size
        assert query(db, f'select count(distinct run_id) as n from "{table}"')["n"].iloc[0] <= 1, table
        if table not in ("purchase_recommendations", "data_quality", "supplier_risk"):
            assert query(db, f'select count(*) as n from "{table}"')["n"].iloc[0] == len(good_rows[table]), table
    for table, key in (("inventory_policy", "sku"), ("backorder_risk", "sku"), ("items_snapshot", "sku")):
        assert query(db, f'select count(*) - count(distinct {key}) as d from "{table}"')["d"].iloc[0] == 0
