"""Reading a run back (safestock.pipelines.results): the functions the notebooks load a run with."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from safestock.pipelines.config import ForecastConfig, PipelineConfig
from safestock.pipelines.results import (
    read_demand_matrix,
    read_run,
    read_run_table,
    read_runs,
    run_config,
)
from safestock.pipelines.storage.database import connect, start_run

AS_OF = pd.Timestamp("2024-03-06")   # a Wednesday: the last complete ISO week starts Monday 2024-02-26
CONFIG = PipelineConfig(horizon_weeks=13, forecast=ForecastConfig(season_length=26))


def _database(tmp_path: Path) -> tuple[Path, str]:
    """Two runs; the second (returned) has SKUs B and A; sales of A, B and of C (not in the run)."""
    db_path = tmp_path / "results.duckdb"
    other = start_run(db_path, AS_OF - pd.Timedelta(weeks=1), "in", PipelineConfig().as_dict())
    run = start_run(db_path, AS_OF, "in", CONFIG.as_dict())
    with connect(db_path) as con:
        con.execute("insert into items_snapshot (run_id, sku, unit_cost) values (?, 'B', 2.0), (?, 'A', 1.0), "
                    "(?, 'Z', 9.0)", [run.run_id, run.run_id, other.run_id])
        con.executemany("insert into sales_weekly (sku, week, quantity) values (?, ?, ?)", [
            ("A", "2024-01-29", 5.0), ("A", "2024-02-12", 3.0), ("A", "2024-02-26", 2.0),
            ("A", "2024-03-04", 9.0),          # the week of as_of: not complete, not history
            ("B", "2024-02-19", 1.0),
            ("C", "2023-01-02", 7.0),          # not one of the run's SKUs: does not start the week axis
        ])
    return db_path, run.run_id


def test_run_tables_config_and_demand_matrix(tmp_path: Path) -> None:
    db_path, run_id = _database(tmp_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        runs = read_runs(con)
        run = read_run(con, run_id)
        items = read_run_table(con, "items_snapshot", run_id)
        demand = read_demand_matrix(con, run)
        with pytest.raises(duckdb.CatalogException):
            read_run_table(con, "no_such_table", run_id)

    assert runs["run_id"].iloc[-1] == run_id and len(runs) == 2
    assert items["sku"].tolist() == ["A", "B"] and set(items["run_id"]) == {run_id}
    assert run_config(run) == CONFIG
    assert demand.skus.tolist() == ["A", "B"]
    assert list(demand.weeks) == list(pd.date_range("2024-01-29", periods=5, freq="7D"))
    np.testing.assert_array_equal(demand.quantity, [[5.0, 0.0, 3.0, 0.0, 2.0], [0.0, 0.0, 0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(demand.start, [0, 3])
