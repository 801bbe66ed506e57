"""Shared fixtures: one Prefect test harness per session, and a small generated input folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database for the flow tests (started once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded 120-SKU demo input folder (CSV), generated once per session."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    folder = tmp_path_factory.mktemp("demo_input")
    write_demo_data(generate_demo_data(120, seed=7), folder)
    return folder


@pytest.fixture(scope="session")
def demo_database(prefect_harness: None, demo_input: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file written by one real flow run on the demo input (read it, do not modify it)."""
    from safestock.pipelines.flow import weekly_run

    out = tmp_path_factory.mktemp("demo_run")
    weekly_run(input_dir=demo_input, db_path=out / "safestock.duckdb", reports_dir=out / "reports")
    return out / "safestock.duckdb"


@pytest.fixture(scope="session")
def small_crash_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded 40-SKU demo input folder (CSV) for the reliability tests, whose `safestock run`
    subprocesses must each cost seconds (tests/test_reliability_crash.py, test_reliability_database.py)."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    folder = tmp_path_factory.mktemp("crash_input")
    write_demo_data(generate_demo_data(40, seed=1), folder)
    return folder


@pytest.fixture(scope="session")
def small_crash_run(prefect_harness: None, small_crash_input: Path, tmp_path_factory: pytest.TempPathFactory):
    """One successful in-process run on ``small_crash_input``: (database file, run_id, the summary).
    Shared by the reliability modules: copy the file before changing it."""
    from safestock.pipelines.flow import weekly_run

    out = tmp_path_factory.mktemp("good_run")
    summary = weekly_run(input_dir=small_crash_input, db_path=out / "s.duckdb", reports_dir=out / "reports")
    return out / "s.duckdb", summary.run_id
