"""Hostile input through the whole CLI, formula neutralising in the order CSVs, and data-loss
accounting (every input row is either used or reported). See docs/reliability.md.

`safestock run` is invoked in-process (typer's CliRunner) against the session's Prefect test
server: every case must end in exit 0 (a correct run) or exit 2 (input rejected, each problem
naming its file and, for a value, its line and column) — never exit 1 or a traceback — and the
database must never show a partial run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safestock.pipelines.cli import app
from safestock.pipelines.inputs import load_inputs
from safestock.pipelines.storage import RUN_TABLES
from typer.testing import CliRunner

pytestmark = pytest.mark.slow

runner = CliRunner()
TABLE_NAMES = ("sales", "items", "suppliers", "inventory", "purchase_orders")
NUMBER_COLUMNS = {"sales": ["quantity"], "items": ["unit_cost", "pack_size", "moq"],
                  "suppliers": ["lead_time_days"], "inventory": ["on_hand"], "purchase_orders": ["quantity"]}
DATE_COLUMNS = {"sales": ["date"], "inventory": ["as_of"], "purchase_orders": ["order_date", "expected_date"]}
TEXT_COLUMNS = {"items": ["description"], "suppliers": ["name"]}
HOSTILE_NUMBERS = ["1e400", "-1e400", "99999999999999999999999999", "1e308", "NaN", "nan", "inf", "-Infinity",
                   "0x10", "1_000", "1,5", "--1", ""]
HOSTILE_DATES = ["1850-01-01", "0001-01-01", "9999-12-31", "2300-06-01", "2150-01-01", "1900-01-01",
                 "2026-02-30", "26-01-05", ""]
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")"]


# ----------------------------------------------------------------------------------- helpers

def read_table(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write_table(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


@contextmanager
def quiet_prefect_like_the_cli():
    """The CLI runs with PREFECT_LOGGING_LEVEL=CRITICAL by default (its own process); in-process
    the test session's level would print Prefect's own log records (with tracebacks) into the
    captured output, so logging is switched off around the invocation, as in a CLI process."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def invoke_run(input_dir: Path, db: Path, reports: Path):
    with quiet_prefect_like_the_cli():
        return runner.invoke(app, ["run", "--input", str(input_dir), "--db", str(db), "--reports", str(reports)])


def assert_no_partial_run(db: Path) -> None:
    if not db.exists():
        return
    with duckdb.connect(str(db), read_only=True) as con:
        succeeded = {r[0] for r in con.execute("select run_id from runs where status = 'succeeded'").fetchall()}
        assert "running" not in {r[0] for r in con.execute("select status from runs").fetchall()}
        for table in RUN_TABLES:
            ids = {r[0] for r in con.execute(f'select distinct run_id from "{table}"').fetchall()}
            assert ids <= succeeded, (table, ids - succeeded)


def assert_clean_outcome(result, touched: set[str]) -> None:
    """Exit 0, or exit 2 whose message names a file; never a crash."""
    output = result.output
    assert "Traceback" not in output, output
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {output}\n{result.exception!r}"
    if result.exit_code == 2:
        assert "Input rejected" in output and "nothing was written" in output, output
        assert any(f"{table}.csv" in output for table in touched | set(TABLE_NAMES)), output


# ----------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def base_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid demo folder (20 SKUs, 1.5 years) that the cases mutate."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    folder = tmp_path_factory.mktemp("hostile_base")
    write_demo_data(generate_demo_data(20, seed=5, years=1.5), folder)
    return folder


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database for all hostile cases: a rejected or failed case must never disturb it."""
    return tmp_path_factory.mktemp("hostile_db") / "s.duckdb"


# ----------------------------------------------------------------------------------- mutations

def set_cell(folder: Path, table: str, column: str, row: int, value: str) -> int:
    frame = read_table(folder, table)
    row %= len(frame)
    frame.loc[row, column] = value
    write_table(folder, table, frame)
    return row + 2  # file line


def apply(folder: Path, mutation: tuple) -> str:
    kind, table, a, b = mutation
    path = folder / f"{table}.csv"
    data = path.read_bytes()
    if kind == "bytes":
        offset = a % (len(data) + 1)
        path.write_bytes(data[:offset] + b + data[offset:])
    elif kind == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + data)
    elif kind == "utf16":
        path.write_bytes(data.decode("utf-8").encode("utf-16"))
    elif kind == "latin1":
        frame = read_table(folder, "items")
        frame.loc[a % len(frame), "description"] = "caf\u00e9 cr\u00e8me"
        path = folder / "items.csv"
        path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
        table = "items"
    elif kind == "number":
        column = NUMBER_COLUMNS[table][a % len(NUMBER_COLUMNS[table])]
        set_cell(folder, table, column, a, b)
    elif kind == "date":
        table = table if table in DATE_COLUMNS else "sales"
        column = DATE_COLUMNS[table][a % len(DATE_COLUMNS[table])]
        set_cell(folder, table, column, a, b)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "header_only":
        path.write_bytes(data.split(b"\n", 1)[0] + b"\n")
    elif kind == "duplicate":
        lines = data.split(b"\n")
        row = 1 + a % max(len(lines) - 2, 1)
        lines.insert(row, lines[row])
        path.write_bytes(b"\n".join(lines))
    elif kind == "formula":
        table = table if table in TEXT_COLUMNS else "items"
        set_cell(folder, table, TEXT_COLUMNS[table][0], a, b)
    elif kind == "crlf_blank":
        path.write_bytes(data.replace(b"\n", b"\r\n\r\n"))
    return table


mutation_strategy = st.one_of(
    st.tuples(st.just("bytes"), st.sampled_from(TABLE_NAMES), st.integers(0, 10**6),
              st.binary(min_size=1, max_size=12)),
    st.tuples(st.sampled_from(["bom", "utf16", "latin1", "empty", "header_only", "crlf_blank"]),
              st.sampled_from(TABLE_NAMES), st.integers(0, 1000), st.none()),
    st.tuples(st.just("number"), st.sampled_from(TABLE_NAMES), st.integers(0, 1000),
              st.sampled_from(HOSTILE_NUMBERS) | st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    st.tuples(st.just("date"), st.sampled_from(TABLE_NAMES), st.integers(0, 1000), st.sampled_from(HOSTILE_DATES)),
    st.tuples(st.just("duplicate"), st.sampled_from(TABLE_NAMES), st.integers(0, 1000), st.none()),
    st.tuples(st.just("formula"), st.sampled_from(TABLE_NAMES), st.integers(0, 1000), st.sampled_from(FORMULAS)),
)


# ----------------------------------------------------------------------------------- tests

@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(mutation_strategy, min_size=1, max_size=2))
def test_hostile_input_exits_0_or_2_and_never_leaves_a_partial_run(
    prefect_harness: None, base_input: Path, shared_db: Path, mutations: list[tuple]
) -> None:
    with tempfile.TemporaryDirectory(prefix="hostile-") as scratch:
        folder = Path(scratch) / "input"
        shutil.copytree(base_input, folder)
        touched = {apply(folder, mutation) for mutation in mutations}
        result = invoke_run(folder, shared_db, Path(scratch) / "reports")
    assert_clean_outcome(result, touched)
    assert_no_partial_run(shared_db)


CASES = {
    # name: (table, column, value, expected exit)
    "nan_on_hand": ("inventory", "on_hand", "NaN", 2),
    "inf_unit_cost": ("items", "unit_cost", "inf", 2),
    "huge_quantity": ("sales", "quantity", "1e400", 2),
    "big_but_finite_quantity": ("sales", "quantity", "1e300", 2),
    "date_far_past": ("sales", "date", "1850-01-01", 2),
    "date_far_future_as_of": ("inventory", "as_of", "2199-12-31", None),
    "negative_lead_time": ("suppliers", "lead_time_days", "-3", 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_value_is_rejected_with_file_line_column_or_run_correctly(
    prefect_harness: None, base_input: Path, shared_db: Path, tmp_path: Path, case: str
) -> None:
    table, column, value, expected = CASES[case]
    folder = tmp_path / "input"
    shutil.copytree(base_input, folder)
    line = set_cell(folder, table, column, 3, value)
    if case == "date_far_future_as_of":  # every snapshot row moves, not just one
        inventory = read_table(folder, "inventory")
        inventory["as_of"] = value
        write_table(folder, "inventory", inventory)
    result = invoke_run(folder, shared_db, tmp_path / "reports")
    assert_clean_outcome(result, {table})
    if expected is not None:
        assert result.exit_code == expected, result.output
    if result.exit_code == 2 and case != "date_far_future_as_of":
        assert f"{table}.csv, line {line}, column '{column}'" in result.output, result.output
    assert_no_partial_run(shared_db)


def test_ten_megabyte_single_line_is_rejected_naming_the_line(
    prefect_harness: None, base_input: Path, shared_db: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "input"
    shutil.copytree(base_input, folder)
    with open(folder / "sales.csv", "ab") as handle:
        handle.write(b"2024-01-01,SKU-000001," + b"9" * (10 * 1024 * 1024) + b"\n")
    lines = (folder / "sales.csv").read_bytes().count(b"\n")
    result = invoke_run(folder, shared_db, tmp_path / "reports")
    assert_clean_outcome(result, {"sales"})
    assert result.exit_code == 2
    assert f"sales.csv, line {lines}" in result.output, result.output[:2000]
    assert len(result.output) < 20_000  # the 10 MB value is not echoed back
    assert_no_partial_run(shared_db)


def test_header_only_and_empty_files(prefect_harness: None, base_input: Path, shared_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "input"
    shutil.copytree(base_input, folder)
    (folder / "purchase_orders.csv").write_text(
        (base_input / "purchase_orders.csv").read_text().splitlines()[0] + "\n")
    result = invoke_run(folder, shared_db, tmp_path / "reports")  # no purchase orders is a valid week
    assert_clean_outcome(result, {"purchase_orders"})
    assert result.exit_code == 0, result.output
    (folder / "suppliers.csv").write_bytes(b"")
    result = invoke_run(folder, shared_db, tmp_path / "reports")
    assert result.exit_code == 2 and "suppliers.csv" in result.output and "empty" in result.output
    assert_no_partial_run(shared_db)


# ----------------------------------------------------------------------------------- formulas + accounting

@pytest.fixture(scope="module")
def formula_run(prefect_harness: None, base_input: Path, tmp_path_factory: pytest.TempPathFactory):
    """A CLI run whose descriptions and one supplier id are spreadsheet formulas, and whose sales
    file has rows after as_of and in the incomplete week of as_of."""
    out = tmp_path_factory.mktemp("formula_run")
    folder = out / "input"
    shutil.copytree(base_input, folder)
    items = read_table(folder, "items")
    items["description"] = [FORMULAS[i % len(FORMULAS)] for i in range(len(items))]
    old_supplier = items["supplier_id"].iloc[0]
    new_supplier = "=cmd|' /C calc'!A0"
    for table in ("items", "suppliers", "purchase_orders"):
        frame = items if table == "items" else read_table(folder, table)
        frame["supplier_id"] = frame["supplier_id"].replace(old_supplier, new_supplier)
        if table == "suppliers":
            frame["name"] = "@evil name"
        write_table(folder, table, frame)
    as_of = pd.Timestamp(read_table(folder, "inventory")["as_of"].max())
    sales = read_table(folder, "sales")
    extra = pd.DataFrame({"date": [str((as_of + pd.Timedelta(days=d)).date()) for d in (1, 2, 30)]
                          + [str(as_of.date())] * 2,
                          "sku": sales["sku"].iloc[0], "quantity": "1"})
    write_table(folder, "sales", pd.concat([sales, extra], ignore_index=True))
    db = out / "s.duckdb"
    result = invoke_run(folder, db, out / "reports")
    assert result.exit_code == 0, result.output
    return folder, db, out / "reports", as_of


def test_formula_cells_are_neutralised_in_order_csvs(formula_run) -> None:
    _, _, reports, _ = formula_run
    files = sorted((reports / "orders").glob("*/*.csv"))   # orders/<as_of>/<supplier>.csv
    assert files
    cells = [cell for path in files for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
             for cell in row]
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    assert "'=cmd|' /C calc'!A0" in cells  # the supplier id, kept readable
    assert any(cell in {"'" + f for f in FORMULAS} for cell in cells if cell != "'=cmd|' /C calc'!A0")


def test_every_input_row_is_counted_and_hashed(formula_run) -> None:
    folder, db, _, _ = formula_run
    with duckdb.connect(str(db), read_only=True) as con:
        stored = json.loads(con.execute("select input_files from runs where status = 'succeeded'").fetchone()[0])
    assert set(stored) == {f"{table}.csv" for table in TABLE_NAMES}
    for name, record in stored.items():
        data = (folder / name).read_bytes()
        assert record["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert record["rows"] == len(read_table(folder, name.removesuffix(".csv"))), name


def test_every_sales_row_is_aggregated_or_dropped_with_a_reason(formula_run) -> None:
    folder, db, _, as_of = formula_run
    rows = len(read_table(folder, "sales"))
    loaded = load_inputs(folder)
    by_kind = {}
    for note in loaded.notes:
        if note.file == "sales.csv":
            for kind in ("aggregated", "after as_of", "incomplete week"):
                if kind in note.message:
                    by_kind[kind] = note.rows
    assert by_kind["after as_of"] == 3  # (no incomplete-week note: the demo as_of is a Sunday)
    assert sum(by_kind.values()) == rows
    sales = read_table(folder, "sales")
    dates = pd.to_datetime(sales["date"])
    complete = (dates.dt.to_period("W-SUN").dt.start_time + pd.Timedelta(days=6)) <= as_of
    assert by_kind["aggregated"] == int(complete.sum())
    # ...and the same accounting is stored with the run for the data-quality report.
    with duckdb.connect(str(db), read_only=True) as con:
        stored = dict(con.execute("select message, rows from data_quality where file = 'sales.csv'").fetchall())
    assert sum(n for message, n in stored.items()
               if any(kind in message for kind in ("aggregated", "after as_of", "incomplete week"))) == rows
