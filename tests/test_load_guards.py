"""Input guards of issues 19 and 20: an unterminated quote names its line (20.12); supplier durations
are capped in the contract (20.10); misspelled optional columns are refused, unknown ones noted
(19.3); stale sales history is refused (19.4); stale open POs, receipts before their order and
clamped service levels become data-quality warnings (20.8)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from safestock.pipelines.inputs import InputValidationError, ValidationIssue, load_inputs

from tests.test_load import VALID_FILES, with_line, write_folder


def issues_of(folder: Path, **options: object) -> list[ValidationIssue]:
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder, **options)
    return caught.value.issues


# ------------------------------------------------------------------ 20.12 unterminated quote

@pytest.mark.parametrize("file, line, text", [
    ("sales.csv", 5, '2026-01-05,"007,4'),          # the big table's fast path falls back to staging
    ("items.csv", 3, '008,S1,1,1,10,"Gadget, large,,'),
    ("purchase_orders.csv", 2, 'P1,007,S1,60,"2025-12-01,2025-12-15,2025-12-16,60'),
])
def test_unterminated_quote_names_the_line_where_it_opens(tmp_path: Path, file: str, line: int,
                                                          text: str) -> None:
    folder = write_folder(tmp_path, {file: with_line(file, line, text)})
    found = [str(issue) for issue in issues_of(folder) if issue.file == file]
    assert found and found[0].startswith(f"{file}, line {line}: malformed record (unterminated quote"), found


def test_unterminated_quote_in_a_gzip_csv_names_the_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"sales.csv": None})
    (folder / "sales.csv.gz").write_bytes(gzip.compress(
        with_line("sales.csv", 7, '2026-01-12,007,"9').encode()))
    assert [str(issue) for issue in issues_of(folder)] == [
        "sales.csv.gz, line 7: malformed record (unterminated quote: a quote opened on this line never "
        "closes): '2026-01-12,007,\"9\\n2026-01-20,008,1\\n'"]


# ------------------------------------------------------------------ 20.10 duration caps

def test_lead_time_and_review_period_are_capped_with_file_line_column(tmp_path: Path) -> None:
    suppliers = ("supplier_id,name,lead_time_days,review_period_days\n"
                 "S1,Acme,9e11,\n"
                 "S2,Beta,21,366\n")
    folder = write_folder(tmp_path, {"suppliers.csv": suppliers})
    assert [str(issue) for issue in issues_of(folder)] == [
        "suppliers.csv, line 2, column 'lead_time_days': must be <= 3650 days, got '9e11'",
        "suppliers.csv, line 3, column 'review_period_days': must be <= 365 days, got '366'",
    ]


def test_durations_at_the_caps_load(tmp_path: Path) -> None:
    suppliers = ("supplier_id,name,lead_time_days,review_period_days\n"
                 "S1,Acme,3650,365\n"
                 "S2,Beta,21,14\n")
    loaded = load_inputs(write_folder(tmp_path, {"suppliers.csv": suppliers}))
    assert loaded.suppliers.set_index("supplier_id").loc["S1"].tolist()[1:3] == [3650.0, 365.0]

