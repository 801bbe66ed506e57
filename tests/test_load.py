"""Tests of safestock.pipelines.inputs: a valid folder loads; every contract violation is reported with
file, line and column; all problems are reported at once; weekly aggregation by hand."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pandas.api import types as ptypes
from safestock.pipelines.inputs import (
    InputValidationError,
    LoadedInputs,
    ValidationIssue,
    load_inputs,
)

VALID_FILES = {
    "suppliers.csv": """supplier_id,name,lead_time_days,review_period_days
S1,Acme,14,
S2,Beta,21,14
""",
    "items.csv": """sku,supplier_id,unit_cost,pack_size,moq,description,service_level,status
007,S1,2.5,6,0,Widget,0.95,active
008,S1,1,1,10,"Gadget, large",,
100,S2,10,12,24,Thing,,discontinued
""",
    "inventory.csv": """sku,on_hand,as_of
007,10,2026-01-14
008,0,2026-01-14
100,5,2026-01-13
""",
    "purchase_orders.csv": """po_id,sku,supplier_id,quantity,order_date,expected_date,received_date,received_quantity
P1,007,S1,60,2025-12-01,2025-12-15,2025-12-16,60
P2,008,S1,20,2026-01-05,2026-01-19,,
P3,100,S2,24,2025-12-01,2025-12-22,2025-12-20,12
""",
    # as_of = 2026-01-14 (a Wednesday): the last complete ISO week is Mon 2026-01-05..Sun 01-11.
    "sales.csv": """date,sku,quantity
2025-12-29,007,3
2026-01-04 17:30:00,007,2
2026-01-05,007,4
2026-01-05,007,-1
2026-01-06,008,-2
2026-01-12,007,9
2026-01-20,008,1
""",
}


def write_folder(folder: Path, replace: dict[str, str | bytes | None] | None = None) -> Path:
    """Write the valid folder, with files replaced (text/bytes) or removed (None)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | bytes | None] = {**VALID_FILES, **(replace or {})}
    for name, content in files.items():
        if content is None:
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def with_line(file: str, line_number: int, new_line: str) -> str:
    """VALID_FILES[file] with physical line `line_number` (1 = header) replaced."""
    lines = VALID_FILES[file].splitlines()
    lines[line_number - 1] = new_line
    return "\n".join(lines) + "\n"


def issues_of(folder: Path) -> list[ValidationIssue]:
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder)
    return caught.value.issues


def texts(issues: list[ValidationIssue]) -> list[str]:
    return [str(issue) for issue in issues]


def test_valid_csv_folder_loads_with_types_and_values(tmp_path: Path) -> None:
    loaded = load_inputs(write_folder(tmp_path))
    assert isinstance(loaded, LoadedInputs)
    assert loaded.as_of == pd.Timestamp("2026-01-14")
    items = loaded.items
    assert list(items.columns) == ["sku", "supplier_id", "description", "unit_cost", "pack_size",
                                   "moq", "service_level", "status", "unmet_demand", "supplier_sku", "category"]
    assert items["category"].isna().all()  # an optional column the folder lacks: empty, not an error
    assert list(loaded.suppliers.columns) == ["supplier_id", "name", "lead_time_days",
                                              "review_period_days", "min_order_value"]
    assert list(loaded.inventory.columns) == ["sku", "on_hand", "backordered", "as_of"]
    assert list(loaded.purchase_orders.columns) == [
        "po_id", "sku", "supplier_id", "quantity", "order_date", "expected_date",
        "received_date", "received_quantity", "status"]
    assert items["sku"].tolist() == ["007", "008", "100"]  # leading zeros kept
    assert ptypes.is_float_dtype(items["unit_cost"]) and ptypes.is_float_dtype(items["moq"])
    assert items["service_level"].iloc[0] == 0.95 and items["service_level"].iloc[1:].isna().all()
    assert items["status"].tolist() == ["active", "active", "discontinued"]
    assert items["description"].iloc[1] == "Gadget, large"
    suppliers = loaded.suppliers.set_index("supplier_id")
    assert suppliers["review_period_days"].to_dict() == {"S1": 7.0, "S2": 14.0}
    assert suppliers["min_order_value"].tolist() == [0.0, 0.0]
    assert loaded.inventory["backordered"].tolist() == [0.0, 0.0, 0.0]
    assert ptypes.is_datetime64_any_dtype(loaded.inventory["as_of"])
    orders = loaded.purchase_orders.set_index("po_id")
    assert orders["status"].to_dict() == {"P1": "closed", "P2": "open", "P3": "open"}
    assert pd.isna(orders.loc["P2", "received_date"])
    assert pd.isna(orders.loc["P2", "received_quantity"])
    for column in ("order_date", "expected_date", "received_date"):
        assert ptypes.is_datetime64_any_dtype(orders[column])
    assert loaded.files["sales.csv"]["rows"] == 7
    assert len(loaded.files["sales.csv"]["sha256"]) == 64


def test_weekly_aggregation_by_hand(tmp_path: Path) -> None:
    weekly = load_inputs(write_folder(tmp_path)).sales_weekly
    assert list(weekly.columns) == ["sku", "week", "quantity"]
    assert ptypes.is_datetime64_any_dtype(weekly["week"])
    assert (weekly["week"].dt.dayofweek == 0).all()  # ISO week starts on Monday
    rows = [(sku, week.date().isoformat(), quantity) for sku, week, quantity in
            weekly.itertuples(index=False)]
    # 007: 3 + 2 (Sunday 2026-01-04 with a time of day) ; 4 - 1 (a return) ; 9 on 01-12 is in
    # the partial week of as_of ; 008: -2 clipped to 0 ; 008's 01-20 sale is after as_of.
    assert rows == [("007", "2025-12-29", 5.0), ("007", "2026-01-05", 3.0),
                    ("008", "2026-01-05", 0.0)]


def test_notes_report_dropped_excluded_defaulted_and_returns(tmp_path: Path) -> None:
    notes = load_inputs(write_folder(tmp_path)).notes
    by_message = {note.message: note for note in notes}
    after = next(n for n in notes if "after as_of" in n.message)
    assert (after.file, after.line, after.rows, after.severity) == ("sales.csv", 8, 1, "warning")
    assert next(n for n in notes if "incomplete week" in n.message).rows == 1
    assert next(n for n in notes if "negative sales line" in n.message).rows == 2
    assert next(n for n in notes if "clipped" in n.message).rows == 1
    assert next(n for n in notes if "without sales" in n.message).rows == 1
    defaults = {(n.file, n.column): n.rows for n in notes if "not given" in n.message}
    assert defaults == {("suppliers.csv", "review_period_days"): 1,
                        ("suppliers.csv", "min_order_value"): 2,
                        ("items.csv", "service_level"): 2, ("items.csv", "status"): 1,
                        ("inventory.csv", "backordered"): 3}
    assert by_message  # every note has a message


def test_as_of_given_on_a_sunday_keeps_that_week(tmp_path: Path) -> None:
    loaded = load_inputs(write_folder(tmp_path), as_of=datetime.date(2026, 1, 11))
    assert loaded.as_of == pd.Timestamp("2026-01-11")
    assert loaded.sales_weekly["week"].max() == pd.Timestamp("2026-01-05")
    assert not any("incomplete week" in note.message for note in loaded.notes)
    dropped = next(n for n in loaded.notes if "after as_of" in n.message)
    assert (dropped.rows, dropped.line) == (2, 7)


def test_parquet_folder_loads_like_csv(tmp_path: Path) -> None:
    csv_folder = write_folder(tmp_path / "csv")
    parquet_folder = tmp_path / "parquet"
    parquet_folder.mkdir()
    con = duckdb.connect()
    for name in VALID_FILES:
        table = name.removesuffix(".csv")
        source = con.read_csv(str(csv_folder / name), all_varchar=True, header=True)
        typed = {"date": "timestamp", "as_of": "date", "order_date": "date",
                 "expected_date": "date", "received_date": "date", "quantity": "double",
                 "on_hand": "integer", "unit_cost": "double"}
        columns = ", ".join(
            f'try_cast("{c}" as {typed[c]}) as "{c}"' if c in typed else f'"{c}"'
            for c in source.columns)
        source.query("t", f"select {columns} from t").write_parquet(
            str(parquet_folder / f"{table}.parquet"))
    from_csv, from_parquet = load_inputs(csv_folder), load_inputs(parquet_folder)
    for frame in ("items", "suppliers", "inventory", "purchase_orders", "sales_weekly"):
        pd.testing.assert_frame_equal(getattr(from_csv, frame), getattr(from_parquet, frame))
    assert set(from_parquet.files) == {f"{n.removesuffix('.csv')}.parquet" for n in VALID_FILES}


def test_parquet_error_names_row(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "inventory.csv").unlink()
    duckdb.connect().execute(
        f"copy (select * from (values ('007', -1.0, date '2026-01-14')) t(sku, on_hand, as_of))"
        f" to '{folder / 'inventory.parquet'}'")
    assert texts(issues_of(folder)) == [
        "inventory.parquet, row 2, column 'on_hand': must be >= 0, got '-1.0'"]


def test_gzip_csv_bom_and_leading_zeros(tmp_path: Path) -> None:
    import gzip

    folder = write_folder(tmp_path, {"sales.csv": None, "items.csv": b"\xef\xbb\xbf"
                                     + VALID_FILES["items.csv"].encode()})
    (folder / "sales.csv.gz").write_bytes(gzip.compress(VALID_FILES["sales.csv"].encode()))
    loaded = load_inputs(folder)
    assert loaded.items["sku"].tolist() == ["007", "008", "100"]
    assert loaded.sales_weekly["sku"].tolist() == ["007", "007", "008"]
    assert "sales.csv.gz" in loaded.files


@pytest.mark.parametrize(("file", "line", "content", "expected"), [
    ("sales.csv", 4, "2026-13-01,007,4",
     "sales.csv, line 4, column 'date': expected a date YYYY-MM-DD, got '2026-13-01'"),
    ("sales.csv", 3, "2026-01-04,007,abc",
     "sales.csv, line 3, column 'quantity': expected a number, got 'abc'"),
    ("sales.csv", 2, "2025-12-29,007,inf",
     "sales.csv, line 2, column 'quantity': expected a finite number, got 'inf'"),
    ("sales.csv", 3, "2026-01-04,007,1e300",
     "sales.csv, line 3, column 'quantity': implausibly large (expected a magnitude below 1e+12), "
     "got '1e300'"),
    ("sales.csv", 2, "1850-01-01,007,1",
     "sales.csv, line 2, column 'date': date outside the supported range 1900-01-01 .. "
     "2199-12-31, got '1850-01-01'"),
    ("sales.csv", 5, "2026-01-05,,-1",
     "sales.csv, line 5, column 'sku': missing value (the column is required)"),
    ("inventory.csv", 3, "008,NaN,2026-01-14",
     "inventory.csv, line 3, column 'on_hand': expected a finite number, got 'NaN'"),
    ("inventory.csv", 2, "007,-3,2026-01-14",
     "inventory.csv, line 2, column 'on_hand': must be >= 0, got '-3'"),
    ("items.csv", 3, "008,S1,-1,1,10,x,,",
     "items.csv, line 3, column 'unit_cost': must be >= 0, got '-1'"),
    ("items.csv", 3, "008,S1,1,0,10,x,,",
     "items.csv, line 3, column 'pack_size': must be >= 1, got '0'"),
    ("items.csv", 3, "008,S1,1,1,-5,x,,",
     "items.csv, line 3, column 'moq': must be >= 0, got '-5'"),
    ("items.csv", 4, "100,S2,10,12,24,Thing,1,",
     "items.csv, line 4, column 'service_level': must be < 1, got '1'"),
    ("items.csv", 4, "100,S2,10,12,24,Thing,0,",
     "items.csv, line 4, column 'service_level': must be > 0, got '0'"),
    ("items.csv", 4, "100,S2,10,12,24,Thing,,sold",
     "items.csv, line 4, column 'status': expected one of active, discontinued, got 'sold'"),
    ("purchase_orders.csv", 3, "P2,008,S1,-20,2026-01-05,2026-01-19,,",
     "purchase_orders.csv, line 3, column 'quantity': must be >= 0, got '-20'"),
    ("purchase_orders.csv", 3, "P2,008,S1,20,2026-01-05,2026-01-19,,5",
     "purchase_orders.csv, line 3, column 'received_date': received_quantity is given but "
     "received_date is empty"),
    ("purchase_orders.csv", 4, "P3,100,S2,24,2025-12-01,2025-12-22,2025-12-20,12,extra",
     "purchase_orders.csv, line 4: malformed record (too many columns): "
     "'P3,100,S2,24,2025-12-01,2025-12-22,2025-12-20,12,extra'"),
    ("sales.csv", 6, "2026-01-06,999,1",
     "sales.csv, line 6, column 'sku': unknown sku '999' (not in items.csv; 1 row(s))"),
    ("inventory.csv", 4, "101,5,2026-01-13",
     "inventory.csv, line 4, column 'sku': unknown sku '101' (not in items.csv; 1 row(s))"),
    ("purchase_orders.csv", 4, "P3,100,S9,24,2025-12-01,2025-12-22,2025-12-20,12",
     "purchase_orders.csv, line 4, column 'supplier_id': unknown supplier_id 'S9' "
     "(not in suppliers.csv; 1 row(s))"),
    ("items.csv", 2, "007,S3,2.5,6,0,Widget,0.95,active",
     "items.csv, line 2, column 'supplier_id': unknown supplier_id 'S3' (not in suppliers.csv; "
     "1 row(s))"),
    ("items.csv", 4, "008,S2,10,12,24,Thing,,",
     "items.csv, line 4, column 'sku': duplicate sku '008' (first on line 3)"),
    ("suppliers.csv", 3, "S1,Beta,21,14",
     "suppliers.csv, line 3, column 'supplier_id': duplicate supplier_id 'S1' (first on line 2)"),
    ("inventory.csv", 3, "007,0,2026-01-14",
     "inventory.csv, line 3, column 'sku': duplicate sku '007' (first on line 2)"),
    ("purchase_orders.csv", 3, "P1,007,S1,20,2026-01-05,2026-01-19,,",
     "purchase_orders.csv, line 3, column 'po_id / sku': duplicate po_id / sku 'P1 / 007' "
     "(first on line 2)"),
])
def test_each_error_kind_names_file_line_and_column(
        tmp_path: Path, file: str, line: int, content: str, expected: str) -> None:
    issues = issues_of(write_folder(tmp_path, {file: with_line(file, line, content)}))
    assert expected in texts(issues)


def test_missing_file_and_missing_column(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {
        "suppliers.csv": None,
        "items.csv": "sku,supplier_id,unit_cost,pack_size,description\n007,S1,1,1,x\n"})
    found = texts(issues_of(folder))
    assert any(t.startswith("suppliers.csv: missing file") for t in found)
    assert ("items.csv, column 'moq': required column is missing (columns found: sku, "
            "supplier_id, unit_cost, pack_size, description)") in found


def test_unreadable_and_empty_files_are_one_clear_issue(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"items.csv": b"\xff\xfe\x00\x01garbage\x00\n\x00\x02",
                                     "suppliers.csv": b""})
    issues = issues_of(folder)
    items = [i for i in issues if i.file == "items.csv"]
    assert len(items) == 1 and items[0].message.startswith("unreadable file")
    assert [str(i) for i in issues if i.file == "suppliers.csv"] == [
        "suppliers.csv: file is empty (expected a header line: supplier_id, name, "
        "lead_time_days)"]


def test_wrong_encoding_line_is_reported_and_later_lines_keep_numbers(tmp_path: Path) -> None:
    latin1 = with_line("items.csv", 2, "007,S1,2.5,6,0,Caf\xe9,0.95,active").encode("latin-1")
    latin1 = latin1.replace(b"100,S2,10,12,24", b"100,S2,-10,12,24")
    found = texts(issues_of(write_folder(tmp_path, {"items.csv": latin1})))
    assert any(t.startswith("items.csv, line 2: malformed record (invalid encoding)")
               for t in found)
    assert "items.csv, line 4, column 'unit_cost': must be >= 0, got '-10'" in found


def test_many_errors_in_many_files_reported_at_once(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {
        "sales.csv": with_line("sales.csv", 3, "2026-02-30,007,2"),
        "inventory.csv": with_line("inventory.csv", 4, "100,-5,2026-01-13"),
        "purchase_orders.csv": with_line("purchase_orders.csv", 2,
                                         "P1,007,S1,60,2025-12-01,someday,2025-12-16,60"),
    })
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder)
    found = texts(caught.value.issues)
    assert found == [
        "inventory.csv, line 4, column 'on_hand': must be >= 0, got '-5'",
        "purchase_orders.csv, line 2, column 'expected_date': expected a date YYYY-MM-DD, "
        "got 'someday'",
        "sales.csv, line 3, column 'date': expected a date YYYY-MM-DD, got '2026-02-30'",
    ]
    message = str(caught.value)
    assert message.startswith("3 problem(s)") and all(text in message for text in found)


def test_issues_are_capped_per_file_column_and_kind(tmp_path: Path) -> None:
    bad_lines = "".join(f"2026-01-05,007,x{i}\n" for i in range(120))
    issues = issues_of(write_folder(tmp_path, {"sales.csv": "date,sku,quantity\n" + bad_lines}))
    assert len(issues) == 51
    assert [i.line for i in issues[:50]] == list(range(2, 52))
    assert str(issues[-1]) == "sales.csv, column 'quantity': ... and 70 more: expected a number"


def test_header_only_sales_and_missing_inventory_rows(tmp_path: Path) -> None:
    loaded = load_inputs(write_folder(tmp_path, {"sales.csv": "date,sku,quantity\n"}))
    assert loaded.sales_weekly.empty and list(loaded.sales_weekly.columns) == [
        "sku", "week", "quantity"]
    found = texts(issues_of(write_folder(tmp_path / "b", {"inventory.csv": "sku,on_hand,as_of\n"})))
    assert found == ["inventory.csv, column 'as_of': no inventory rows: as_of cannot be derived "
                     "(give as_of explicitly)"]


def test_header_case_extra_columns_status_and_quoted_folder_name(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "it's \"odd\" here", {
        "inventory.csv": " SKU ,On_Hand,AS_OF,warehouse\n007,10,2026-01-14,W1\n"
                         "008,0,2026-01-14,W1\n100,5,2026-01-13,W2\n",
        "purchase_orders.csv": VALID_FILES["purchase_orders.csv"].replace(
            "received_quantity\n", "received_quantity,status\n").replace(
            ",60\n", ",60,open\n").replace(",12\n", ",12,\n").replace(",,\n", ",,,\n"),
    })
    loaded = load_inputs(folder)
    assert loaded.inventory["on_hand"].tolist() == [10.0, 0.0, 5.0]
    assert "warehouse" not in loaded.inventory.columns
    assert loaded.purchase_orders["status"].tolist() == ["open", "open", "open"]


def test_duplicate_header_column(tmp_path: Path) -> None:
    found = texts(issues_of(write_folder(tmp_path, {
        "sales.csv": "date,sku,quantity,SKU\n2026-01-05,007,1,007\n"})))
    assert found == ["sales.csv, line 1, column 'sku': column appears twice"]


def test_error_message_is_capped_and_error_pickles(tmp_path: Path) -> None:
    import pickle

    error = InputValidationError([ValidationIssue("sales.csv", n, "sku", "bad")
                                  for n in range(2, 302)])
    text = str(error)
    assert text.startswith("300 problem(s)") and text.endswith("... and 100 more issues")
    assert len(text.splitlines()) == 202
    assert pickle.loads(pickle.dumps(error)).issues == error.issues


def test_malformed_records_are_capped_and_later_lines_renumbered(tmp_path: Path) -> None:
    sales = ("date,sku,quantity\n" + "2026-01-05,007,1,9\n" * 60 + "2026-01-05,007,1\n"
             "2026-01-05,007,x\n")
    issues = issues_of(write_folder(tmp_path, {"sales.csv": sales}))
    assert [i.line for i in issues[:50]] == list(range(2, 52))
    assert issues[50].message == "... and 10 more malformed records"
    assert str(issues[51]) == "sales.csv, line 63, column 'quantity': expected a number, got 'x'"
