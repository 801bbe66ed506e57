"""The exceptions section at the top of the buyer report (issue 19.8): what a buyer acts on first,
from the run's ``exceptions`` table (sql/report_buyer_exceptions.sql)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from safestock.pipelines.reporting.data import ReportLimits, fetch_buyer_data
from safestock.pipelines.reporting.render import render_reports

from tests.report_fixtures import RUN_NEW, build_small_db
from tests.test_reports import browser, open_report, save_screenshot  # noqa: F401  (fixture)

HOSTILE_DETAIL = "arrives 2024-06-19 <script>alert(9)</script>"
# run_id, sku, supplier_id, kind, detail, value (fixture order lines: SKU-001 600.00, SKU-002 100.00)
EXCEPTIONS = [
    (RUN_NEW, "SKU-003", "SUP/B", "late_po", "PO-9: 40 of 40 units open, expected 2024-05-21, 12 days late", 12.0),
    (RUN_NEW, None, "SUP-A", "chase_supplier", "1 new order line(s) arrive after the projected stock-out", 1.0),
    (RUN_NEW, "SKU-002", "SUP-A", "overdue", "overdue by 4 days: should have been ordered by 2024-05-29", 4.0),
    (RUN_NEW, "SKU-001", "SUP-A", "expedite", HOSTILE_DETAIL, 9.0),
    (RUN_NEW, "SKU-002", "SUP-A", "expedite", "arrives 2024-06-26, 3 days after the start of ...", 3.0),
]


@pytest.fixture(scope="module")
def exceptions_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_small_db(tmp_path_factory.mktemp("exceptions_db") / "small.duckdb")
    with duckdb.connect(str(path)) as con:
        con.executemany("insert into exceptions values (?, ?, ?, ?, ?, ?)", EXCEPTIONS)
    return path


@pytest.fixture(scope="module")
def buyer(exceptions_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_reports(exceptions_db, RUN_NEW, tmp_path_factory.mktemp("exceptions_out"))["buyer"]


def test_exceptions_come_first_with_counts_and_order_line_values(buyer: Path) -> None:
    html = buyer.read_text(encoding="utf-8")
    content = html[html.index("<main"):] if "<main" in html else html
    assert content.index('id="exceptions"') < content.index('id="summary"') < content.index('id="orders"')
    cards = dict(re.findall(r'id="exceptions-([a-z_]+)" data-value="(\d+)"', html))
    assert cards == {"expedite": "2", "overdue": "1", "late_po": "1", "chase_supplier": "1"}
    assert "order lines worth 700.00" in html        # expedite: SKU-001 600.00 + SKU-002 100.00
    assert "order lines worth 100.00" in html        # overdue: SKU-002
    kinds = re.findall(r'<tr class="exception" data-kind="([a-z_]+)"[ >]', html)
    assert kinds == ["expedite", "expedite", "overdue", "late_po", "chase_supplier"]
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in html and "<script>alert(9)" not in html
    assert "Smith &amp; Sons" in html[html.index('id="exceptions-table"'):]


def test_run_without_exceptions_says_so(tmp_path: Path) -> None:
    db = build_small_db(tmp_path / "plain.duckdb")
    html = render_reports(db, RUN_NEW, tmp_path / "out")["buyer"].read_text(encoding="utf-8")
    assert "No exceptions: every order line arrives by its projected stock-out week" in html
    assert 'id="exceptions-table"' not in html


def test_each_kind_is_capped_separately(exceptions_db: Path) -> None:
    with duckdb.connect(str(exceptions_db), read_only=True) as con:
        data = fetch_buyer_data(con, RUN_NEW, ReportLimits(table_rows=1))
    shown = data.exceptions
    assert list(shown["kind"]) == ["expedite", "overdue", "late_po", "chase_supplier"]
    assert shown.loc[0, "sku"] == "SKU-001" and shown.loc[0, "kind_rows"] == 2   # the larger value first
    assert list(shown["kind_capped"]) == [True, False, False, False]


@pytest.mark.slow
def test_exceptions_in_browser(browser, buyer: Path) -> None:  # noqa: F811
    page, problems, dialogs = open_report(browser, buyer)
    exceptions_top = page.locator("#exceptions").bounding_box()["y"]
    assert exceptions_top < page.locator("#summary").bounding_box()["y"]
    assert page.locator("nav a").first.inner_text() == "Exceptions"
    assert page.locator("#exceptions-expedite .kpi-value").inner_text() == "2"
    assert page.locator("#exceptions-table tbody tr").count() == 5
    page.fill("input[data-table='exceptions-table']", "PO-9")
    assert page.locator("#exceptions-table tbody tr:visible").count() == 1
    assert "12" in page.locator("#exceptions-table tbody tr:visible").inner_text()
    save_screenshot(page, "buyer_exceptions.png")
    assert not problems and not dialogs, (problems, dialogs)
