"""The sales fast path over a Parquet file whose columns have their contract types (date TIMESTAMP,
sku VARCHAR, quantity DOUBLE), aggregated on the items' integer numbers (sql/load_sales_sku_ids.sql):
the same weekly sales, notes, history rows and messages as the CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.inputs import InputValidationError, load_inputs

from tests.test_load import VALID_FILES, write_folder

# (date, sku, quantity) of VALID_FILES["sales.csv"], typed
TYPED_ROWS = [("2025-12-29 00:00:00", "007", 3.0), ("2026-01-04 17:30:00", "007", 2.0),
              ("2026-01-05 00:00:00", "007", 4.0), ("2026-01-05 00:00:00", "007", -1.0),
              ("2026-01-06 00:00:00", "008", -2.0), ("2026-01-12 00:00:00", "007", 9.0),
              ("2026-01-20 00:00:00", "008", 1.0)]


def write_typed_sales(folder: Path, rows: list[tuple[str, str | None, float]]) -> Path:
    """The valid folder with sales.parquet of typed columns (date TIMESTAMP, sku VARCHAR,
    quantity DOUBLE) instead of sales.csv."""
    write_folder(folder, {"sales.csv": None})
    frame = pd.DataFrame(rows, columns=["date", "sku", "quantity"])
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute(f"copy (select cast(date as timestamp) as date, cast(sku as varchar) as sku, "
                    f"cast(quantity as double) as quantity from frame) to '{folder / 'sales.parquet'}' "
                    "(format parquet)")
    return folder


def _sales_notes(loaded, name: str) -> set[tuple]:
    return {(n.line, n.column, n.severity, n.message, n.rows) for n in loaded.notes if n.file == name}


def test_typed_parquet_loads_like_the_csv_with_the_same_history_rows(tmp_path: Path) -> None:
    from_csv = load_inputs(write_folder(tmp_path / "csv"), sales_history_path=tmp_path / "csv.parquet")
    typed = write_typed_sales(tmp_path / "typed", TYPED_ROWS)
    from_typed = load_inputs(typed, sales_history_path=tmp_path / "typed.parquet")
    pd.testing.assert_frame_equal(from_csv.sales_weekly, from_typed.sales_weekly)
    # by hand: week of 2025-12-29 = 3 + 2 (the 17:30 line is 2026-01-04) = 5; week of 2026-01-05:
    # 007 4 - 1 = 3, 008 -2 clipped to 0; 2026-01-12 (9) is the incomplete week of as_of 2026-01-14
    weekly = from_typed.sales_weekly.set_index(["sku", "week"])["quantity"]
    assert weekly[("007", pd.Timestamp("2025-12-29"))] == 5
    assert weekly[("007", pd.Timestamp("2026-01-05"))] == 3
    assert weekly[("008", pd.Timestamp("2026-01-05"))] == 0
    assert _sales_notes(from_csv, "sales.csv") == _sales_notes(from_typed, "sales.parquet")
    # the row after as_of (2026-01-20) is named by its line in both (the CSV line number convention)
    dropped = [n for n in from_typed.notes if n.file == "sales.parquet" and "after as_of" in n.message]
    assert [(n.line, n.rows) for n in dropped] == [(8, 1)]
    with duckdb.connect() as con:
        history = [con.execute(f"select sku, \"date\", quantity, lines from '{tmp_path / name}' "
                               "order by sku, \"date\"").fetchall() for name in ("csv.parquet", "typed.parquet")]
    assert history[0] == history[1]
    assert len(history[1]) == 6 and history[1][2][2:] == (3.0, 2)  # 007 on 2026-01-05: 4 - 1, two lines


def test_typed_parquet_with_a_padded_sku_is_trimmed_as_in_the_csv(tmp_path: Path) -> None:
    rows = [(day, " 007 " if index == 2 else sku, quantity) for index, (day, sku, quantity) in enumerate(TYPED_ROWS)]
    loaded = load_inputs(write_typed_sales(tmp_path / "typed", rows))
    pd.testing.assert_frame_equal(loaded.sales_weekly, load_inputs(write_folder(tmp_path / "csv")).sales_weekly)


@pytest.mark.parametrize(("row", "message"), [
    (("2026-01-05 00:00:00", "007", float("inf")),
     "sales.parquet, row 4, column 'quantity': expected a finite number, got 'inf'"),
    (("1850-01-05 00:00:00", "007", 4.0),
     "sales.parquet, row 4, column 'date': date outside the supported range 1900-01-01 .. 2199-12-31, "
     "got '1850-01-05 00:00:00'"),
    (("2026-01-05 00:00:00", "", 4.0), "sales.parquet, row 4, column 'sku': missing value (the column is required)"),
    (("2026-01-05 00:00:00", "999", 4.0),
     "sales.parquet, row 4, column 'sku': unknown sku '999' (not in items.csv; 1 row(s))"),
])
def test_typed_parquet_errors_name_file_line_and_column(tmp_path: Path, row: tuple, message: str) -> None:
    rows = [row if index == 2 else original for index, original in enumerate(TYPED_ROWS)]
    with pytest.raises(InputValidationError) as caught:
        load_inputs(write_typed_sales(tmp_path, rows))
    assert [str(issue) for issue in caught.value.issues] == [message]
