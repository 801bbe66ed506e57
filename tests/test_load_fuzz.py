"""Fuzz tests of safestock.pipelines.inputs: whatever bytes an input file holds, load_inputs returns
LoadedInputs or raises InputValidationError whose issues name input files, never another
exception. Kept small (each load opens a DuckDB connection) so the module runs in ~20 s."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safestock.pipelines.inputs import InputValidationError, LoadedInputs, load_inputs

from tests.test_load import VALID_FILES, write_folder

# These tests never touch `random`. Hypothesis flags any change of the global random state
# during a draw, from any thread (see HypothesisWorks/hypothesis#4453). In the full suite the
# Prefect events client left running by the flow tests pings its websocket from
# GlobalEventLoopThread (websockets keepalive: random.getrandbits), which can land inside a draw.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning")

FUZZ_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])

NASTY_CELLS = st.one_of(
    st.sampled_from([
        "", " ", "NaN", "nan", "-inf", "Infinity", "1e400", "-1e400", "1e308", "1_000", "0x10",
        "99999999999999999999999999", "0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01",
        "294247-01-10", "infinity", "-infinity", "epoch", "2026-02-30", "2026-01-01 (BC)",
        "=cmd|' /C calc'!A0", "+SUM(A1:A9)", "@HYPERLINK(\"x\")", "-2+3", "'007", "\"", "\"\"",
        "a\nb", "\t", "\x00", "é", "💥", "DROP TABLE items;--", "' or 1=1 --", "$path",
    ]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)

TABLE_FILES = sorted(VALID_FILES)


def check_outcome(folder: Path) -> None:
    """The load either succeeds or fails with issues that name files of the folder."""
    known = {path.name for path in folder.iterdir()} | set(VALID_FILES)
    try:
        result = load_inputs(folder)
    except InputValidationError as error:
        assert error.issues, "an InputValidationError must carry issues"
        for issue in error.issues:
            assert issue.file in known, issue
        assert str(error)  # the message renders
    else:
        assert isinstance(result, LoadedInputs)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    def quote(cell: str) -> str:
        if any(ch in cell for ch in ',"\n\r'):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    return "\n".join(",".join(quote(c) for c in row) for row in [header, *rows]) + "\n"


@pytest.fixture()
def scratch():
    """A fresh folder per hypothesis example (function fixtures are shared across examples)."""
    folders: list[Path] = []

    def make() -> Path:
        folders.append(Path(tempfile.mkdtemp(prefix="safestock-fuzz-")))
        return folders[-1]

    yield make
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@FUZZ_SETTINGS
@given(file=st.sampled_from(TABLE_FILES), content=st.binary(max_size=300))
def test_random_bytes_in_any_file(scratch, file: str, content: bytes) -> None:
    check_outcome(write_folder(scratch(), {file: content}))


@FUZZ_SETTINGS
@given(file=st.sampled_from(TABLE_FILES),
       encoding=st.sampled_from(["utf-16", "utf-16-le", "latin-1", "cp1252", "utf-32"]),
       extra=st.sampled_from(["", "é", "Café ©", "ÿþ"]))
def test_wrong_encodings(scratch, file: str, encoding: str, extra: str) -> None:
    text = VALID_FILES[file].replace("\n", f"{extra}\n", 2) if extra else VALID_FILES[file]
    check_outcome(write_folder(scratch(), {file: text.encode(encoding)}))


@FUZZ_SETTINGS
@given(data=st.data(), file=st.sampled_from(TABLE_FILES))
def test_nasty_cell_values(scratch, data: st.DataObject, file: str) -> None:
    lines = VALID_FILES[file].splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") if '"' not in line else [*line.split(",")[:5], "x", "", ""]
            for line in lines[1:]]
    row = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = data.draw(st.integers(min_value=0, max_value=len(header) - 1))
    rows[row][column] = data.draw(NASTY_CELLS)
    check_outcome(write_folder(scratch(), {file: csv_text(header, rows)}))


@pytest.mark.parametrize("content", [
    b"", b"\n", b"\n\n\n", b"\xef\xbb\xbf", b"date,sku,quantity", b"date,sku,quantity\n",
    b"date,sku,quantity\r\n2026-01-05,007,1\r\n", b"date;sku;quantity\n2026-01-05;007;1\n",
    b"date,sku,quantity\n" + b"2026-01-05,007,1\n" * 3 + b"\x1f\x8b\x08garbage",
    b"\x00" * 1000, b'date,sku,quantity\n"2026-01-05,007,1\n',
])
def test_degenerate_sales_files(tmp_path: Path, content: bytes) -> None:
    check_outcome(write_folder(tmp_path, {"sales.csv": content}))


@pytest.mark.parametrize("file", ["sales.csv", "items.csv"])
def test_ten_megabyte_single_line(tmp_path: Path, file: str) -> None:
    header = VALID_FILES[file].splitlines()[0]
    huge = header + "\n" + "9" * 10_000_000 + "\n"
    check_outcome(write_folder(tmp_path, {file: huge}))
    check_outcome(write_folder(tmp_path / "header", {file: "x" * 10_000_000}))


def test_far_dates_and_huge_numbers_load_or_fail_cleanly(tmp_path: Path) -> None:
    sales = ("date,sku,quantity\n1900-01-01,007,1e300\n2199-12-31 23:59:59,007,-1e300\n"
             "2026-01-05,007,1e15\n")
    check_outcome(write_folder(tmp_path, {"sales.csv": sales}))


def test_garbage_parquet_and_gzip(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"sales.csv": None, "items.csv": None})
    (folder / "sales.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    (folder / "items.csv.gz").write_bytes(b"\x1f\x8b\x08\x00broken gzip")
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder)
    named = {issue.file for issue in caught.value.issues}
    assert {"sales.parquet", "items.csv.gz"} <= named
