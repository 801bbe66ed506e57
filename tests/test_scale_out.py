"""Partitioned forecasting: deterministic partitions; a Dask run equals the single-process run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from safestock.models.partition import partition_skus
from safestock.pipelines.flow import configured_flow, weekly_run

TABLES = ["sku_class", "forecasts", "forecast_accuracy", "inventory_policy", "backorder_risk", "projection",
          "supplier_risk", "purchase_recommendations"]


def test_partitions_cover_every_sku_once_and_ignore_row_order() -> None:
    skus = np.array([f"SKU-{i:05d}" for i in range(1000)], dtype=object)
    parts = partition_skus(skus, 300)
    assert len(parts) == 4
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
    shuffled = skus[::-1]
    by_sku = {frozenset(skus[p]) for p in parts}
    assert {frozenset(shuffled[p]) for p in partition_skus(shuffled, 300)} == by_sku
    assert len(partition_skus(skus, 5000)) == 1


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: con.execute(f"select * exclude (run_id) from {table}").df().sort_values(
                [c for c in ("sku", "supplier_id", "model", "week") if c in con.execute(
                    f"select * from {table} limit 0").df().columns]).reset_index(drop=True)
            for table in TABLES
        }


@pytest.mark.slow
def test_dask_run_equals_single_process_run(prefect_harness: None, demo_input: Path, tmp_path: Path) -> None:
    config = tmp_path / "safestock.toml"
    config.write_text("partition_size = 45\n")  # 120 SKUs -> 3 partitions
    weekly_run(input_dir=demo_input, db_path=tmp_path / "serial.duckdb", reports_dir=tmp_path / "r1",
               config_path=config)
    configured_flow(workers=2)(input_dir=demo_input, db_path=tmp_path / "dask.duckdb", reports_dir=tmp_path / "r2",
                               config_path=config)
    serial, dask = _tables(tmp_path / "serial.duckdb"), _tables(tmp_path / "dask.duckdb")
    for table in TABLES:
        assert len(serial[table]) > 0, table
        pd.testing.assert_frame_equal(serial[table], dask[table], obj=table)
