"""The value and key checks count first and name rows only when some fail (pipelines/inputs/checks.py,
docs/postgres-source.md "Speed"): a clean table gives no issue, a table with problems in some
checks gets exactly the lines, columns and totals of those checks."""

from __future__ import annotations

from pathlib import Path

import duckdb
from safestock.pipelines.inputs.checks import (
    MAX_ISSUES_PER_KIND,
    check_keys,
    check_values,
)
from safestock.pipelines.inputs.contract import TABLES
from safestock.pipelines.inputs.staging import stage

HEADER = "po_id,sku,supplier_id,quantity,order_date,expected_date,received_date,received_quantity\n"
GOOD = "P{n},A,S1,10,2026-01-05,2026-01-19,2026-01-20,10\n"


def _checked(tmp_path: Path, lines: list[str]) -> list[tuple[int | None, str | None, str]]:
    path = tmp_path / "purchase_orders.csv"
    path.write_text(HEADER + "".join(lines))
    issues: list = []
    with duckdb.connect() as con:
        staged = stage(con, TABLES["purchase_orders"], path, issues)
        check_values(con, staged, issues)
        check_keys(con, staged, issues)
    return [(issue.line, issue.column, issue.message) for issue in issues]


def test_a_clean_table_has_no_issue(tmp_path: Path) -> None:
    assert _checked(tmp_path, [GOOD.format(n=n) for n in range(5)]) == []


def test_only_the_failing_checks_name_their_lines(tmp_path: Path) -> None:
    lines = [GOOD.format(n=n) for n in range(6)]
    lines[1] = "P1,A,S1,ten,2026-01-05,2026-01-19,2026-01-20,10\n"      # file line 3: quantity not a number
    lines[3] = "P3,A,S1,-4,2026-01-05,2026-01-19,2026-01-20,10\n"       # line 5: quantity below 0
    lines[4] = "P4,A,S1,10,2026-13-05,2026-01-19,2026-01-20,10\n"       # line 6: order_date not a date
    lines[5] = GOOD.format(n=0)                                          # line 7: repeats P0 / A of line 2
    assert _checked(tmp_path, lines) == [
        (3, "quantity", "expected a number, got 'ten'"),
        (5, "quantity", "must be >= 0, got '-4'"),
        (6, "order_date", "expected a date YYYY-MM-DD, got '2026-13-05'"),
        (7, "po_id / sku", "duplicate po_id / sku 'P0 / A' (first on line 2)"),
    ]


def test_the_examples_stay_capped_with_the_total(tmp_path: Path) -> None:
    bad = MAX_ISSUES_PER_KIND + 3
    lines = [f"P{n},A,S1,x,2026-01-05,2026-01-19,2026-01-20,10\n" for n in range(bad)] + [GOOD.format(n=bad)]
    issues = _checked(tmp_path, lines)
    assert [line for line, _, _ in issues[:MAX_ISSUES_PER_KIND]] == list(range(2, 2 + MAX_ISSUES_PER_KIND))
    assert issues[MAX_ISSUES_PER_KIND:] == [(None, "quantity", "... and 3 more: expected a number")]
