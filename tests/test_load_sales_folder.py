"""Sales given as a folder of Parquet files (`sales/*.parquet`), and the sales fast path."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.inputs import InputValidationError, load_inputs

from tests.test_load import VALID_FILES, write_folder


def write_sales_folder(folder: Path, sales_csv: str, parts: int = 2) -> Path:
    """Replace sales.csv by sales/part-<i>.parquet: the rows in order, split into `parts`."""
    (folder / "sales.csv").write_text(sales_csv)
    (folder / "sales").mkdir()
    con = duckdb.connect()
    con.execute(f"create table s as select row_number() over () as n, * from read_csv("
                f"'{folder / 'sales.csv'}', all_varchar = true, header = true)")
    total = con.execute("select count(*) from s").fetchone()[0]
    size = -(-total // parts)
    for part in range(parts):
        con.execute(f"copy (select date, sku, try_cast(quantity as double) as quantity from s "
                    f"where n > {part * size} and n <= {(part + 1) * size} order by n) "
                    f"to '{folder / 'sales' / f'part-{part}.parquet'}' (format parquet)")
    con.close()
    (folder / "sales.csv").unlink()
    return folder


def test_sales_folder_loads_like_the_csv(tmp_path: Path) -> None:
    from_csv = load_inputs(write_folder(tmp_path / "csv"))
    folder = write_sales_folder(write_folder(tmp_path / "dir"), VALID_FILES["sales.csv"])
    from_dir = load_inputs(folder)
    pd.testing.assert_frame_equal(from_csv.sales_weekly, from_dir.sales_weekly)
    assert from_dir.files["sales/"]["rows"] == 7
    assert len(from_dir.files["sales/"]["sha256"]) == 64
    notes = {(n.line, n.column, n.message, n.rows) for n in from_dir.notes if n.file == "sales/"}
    assert notes == {(n.line, n.column, n.message, n.rows) for n in from_csv.notes
                     if n.file == "sales.csv"}
    after = next(n for n in from_dir.notes if "after as_of" in n.message)
    assert (after.file, after.line, after.rows) == ("sales/", 8, 1)


def test_sales_folder_errors_name_the_folder_and_row(tmp_path: Path) -> None:
    sales = VALID_FILES["sales.csv"].replace("2026-01-06,008,-2", "2026-01-06,999,-2")
    folder = write_sales_folder(write_folder(tmp_path), sales.replace(
        "2026-01-05,007,4", "2026-01-05,,4"))
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder)
    assert [str(i) for i in caught.value.issues] == [
        "sales/, row 4, column 'sku': missing value (the column is required)",
        "sales/, row 6, column 'sku': unknown sku '999' (not in items.csv; 1 row(s))",
    ]


def test_unknown_sku_found_by_the_fast_path_keeps_its_message(tmp_path: Path) -> None:
    sales = VALID_FILES["sales.csv"].replace("2026-01-12,007,9", "2026-01-12,999,9")
    with pytest.raises(InputValidationError) as caught:
        load_inputs(write_folder(tmp_path, {"sales.csv": sales}))
    assert [str(i) for i in caught.value.issues] == [
        "sales.csv, line 7, column 'sku': unknown sku '999' (not in items.csv; 1 row(s))"]


def test_empty_sales_folder_and_folder_next_to_a_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "empty", {"sales.csv": None})
    (folder / "sales").mkdir()
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder)
    assert [(i.file, i.message) for i in caught.value.issues] == [
        ("sales/", "folder holds no .parquet files (expected one or more <name>.parquet)")]
    both = write_folder(tmp_path / "both")
    (both / "sales").mkdir()
    with pytest.raises(InputValidationError) as caught:
        load_inputs(both)
    assert [i.message for i in caught.value.issues] == [
        "several files for one table: sales.csv, sales/"]
