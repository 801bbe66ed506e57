"""Reports a planner filters (issue 18, item 5): filters by supplier, category, ABC class and risk
status and a search box on every table, "Download CSV" of the visible rows, and links from the
buyer's order lines to the SKU's forecast and stock in the planner report.

On the small report fixture (tests/report_fixtures.py, newest run): SKU-001 (SUP-A, A, at risk,
P 0.9), SKU-002 (SUP-A, B, at risk, P 0.6), SKU-003 (SUP/B, C, not at risk, P 0.1); the at-risk
threshold is 0.5. This module's copy sets a comma and quotes in SKU-003's description and a
formula-like one on SKU-002, and gives SKU-001 and SKU-002 the category "Tools" in a second copy.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from safestock.pipelines.reporting.facets import sku_anchor
from safestock.pipelines.reporting.render import render_reports

from tests.report_fixtures import AMP_SUPPLIER, RUN_NEW, SCRIPT_DESCRIPTION, build_small_db
from tests.test_reports import browser, open_report  # noqa: F401  (the module's Chromium fixture)

QUOTED_DESCRIPTION = 'Bearing, 6204 "2RS"'
FORMULA_DESCRIPTION = "=1+2 gear"


@pytest.fixture(scope="module")
def filter_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_small_db(tmp_path_factory.mktemp("filters_db") / "small.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("update items_snapshot set description = ? where sku = 'SKU-003'", [QUOTED_DESCRIPTION])
        con.execute("update items_snapshot set description = ? where sku = 'SKU-002'", [FORMULA_DESCRIPTION])
    return path


@pytest.fixture(scope="module")
def reports(filter_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_reports(filter_db, RUN_NEW, tmp_path_factory.mktemp("filters_out"))


@pytest.fixture(scope="module")
def category_reports(filter_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same run with items.category: 'Tools' for SKU-001 and SKU-002, none for SKU-003
    (the column is added when this checkout's schema lacks it)."""
    path = tmp_path_factory.mktemp("filters_category") / "small.duckdb"
    shutil.copy(filter_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table items_snapshot add column if not exists category varchar")
        con.execute("update items_snapshot set category = 'Tools' where sku in ('SKU-001', 'SKU-002')")
    return render_reports(path, RUN_NEW, tmp_path_factory.mktemp("filters_category_out"))


def row_attributes(html: str, table_id: str) -> list[dict[str, str]]:
    """data-* attributes of each body row of the table ``table_id``."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [dict(re.findall(r'data-([a-z-]+)="([^"]*)"', row)) for row in re.findall(r"<tr[^>]*>", body)]


def test_rows_carry_supplier_abc_and_risk(reports: dict[str, Path]) -> None:
    planner = reports["planner"].read_text(encoding="utf-8")
    rows = {row["sku"]: row for row in row_attributes(planner, "risk-table")}
    assert rows["SKU-001"] == {"sku": "SKU-001", "supplier": "SUP-A", "supplier-name": "Smith &amp; Sons",
                               "abc": "A", "risk": "at risk"}
    assert (rows["SKU-003"]["supplier"], rows["SKU-003"]["abc"], rows["SKU-003"]["risk"]) == ("SUP/B", "C", "not at risk")
    assert "category" not in rows["SKU-001"]          # no items.category: no attribute, no filter
    suppliers = row_attributes(planner, "supplier-table")  # SUP-A has 2 SKUs at risk, SUP/B none
    assert [(row["supplier"], row["risk"]) for row in suppliers] == [("SUP-A", "at risk"), ("SUP/B", "not at risk")]
    buyer = reports["buyer"].read_text(encoding="utf-8")
    lines = [row for table_id in re.findall(r'id="(lines-supplier-[0-9a-f]+)"', buyer)
             for row in row_attributes(buyer, table_id)]
    assert sorted((row["sku"], row["supplier"], row["abc"], row["risk"]) for row in lines) == [
        ("SKU-001", "SUP-A", "A", "at risk"), ("SKU-002", "SUP-A", "B", "at risk"), ("SKU-003", "SUP/B", "C", "not at risk")]


def test_ordered_skus_table_by_hand(reports: dict[str, Path]) -> None:
    """One row per SKU with an order line; forecast units = sum of the weekly means (SKU-001:
    13 a week for the fixture's 8 steps: 4 weeks 52, 13 weeks 104; SKU-003: 3 a week: 12, 24)."""
    planner = reports["planner"].read_text(encoding="utf-8")
    table = planner.split('id="ordered-skus-table"', 1)[1].split("</table>", 1)[0]
    for sku, cells in (("SKU-001", ("52.0", "104.0")), ("SKU-003", ("12.0", "24.0"))):
        row = table.split(f'id="{sku_anchor(sku)}"', 1)[1].split("</tr>", 1)[0]
        values = re.findall(r'data-value="([^"]*)"', row)
        # on hand, on order, safety stock, reorder point, order-up-to, 4 weeks, 13 weeks, P(stock-out)
        assert values[5:7] == list(cells), (sku, values)
    assert table.count("<tr id=\"plan-") == 3
    assert 'href="#sku-1">chart</a>' in table        # SKU-001 has the first drill-down card
    buyer = reports["buyer"].read_text(encoding="utf-8")
    for sku in ("SKU-001", "SKU-002", "SKU-003"):
        assert f'href="planner_2024-06-02.html#{sku_anchor(sku)}"' in buyer


@pytest.mark.slow
def test_filters_and_search_hide_the_right_rows(browser, reports: dict[str, Path]) -> None:  # noqa: F811
    page, problems, dialogs = open_report(browser, reports["planner"])
    rows = page.locator("#risk-table tbody tr:visible")
    tools = page.locator("#at-risk .table-tools")
    assert rows.count() == 3
    assert tools.locator("select[data-facet='category']").count() == 0   # no row has a category
    supplier = tools.locator("select[data-facet='supplier']")
    assert supplier.locator("option").all_inner_texts() == ["All suppliers", f"{AMP_SUPPLIER} (SUP-A)",
                                                            "Bolt <b>Co</b> (SUP/B)"]
    supplier.select_option("SUP-A")
    assert rows.count() == 2
    tools.locator("select[data-facet='abc']").select_option("B")
    assert [r.get_attribute("data-sku") for r in rows.all()] == ["SKU-002"]
    assert page.locator("[data-count-for='risk-table']").inner_text() == "1 of 3 rows"
    supplier.select_option("")
    tools.locator("select[data-facet='abc']").select_option("")
    tools.locator("select[data-facet='risk']").select_option("not at risk")
    assert [r.get_attribute("data-sku") for r in rows.all()] == ["SKU-003"]
    tools.locator("select[data-facet='risk']").select_option("")
    page.fill("input[data-table='risk-table']", "SKU-002")      # the search box finds a SKU
    assert [r.get_attribute("data-sku") for r in rows.all()] == ["SKU-002"]
    # tables without a template search box get one from report.js, and their own filters
    ordered = page.locator("#ordered-skus .table-tools")
    ordered.locator("input.table-search").fill("sku-003")
    assert page.locator("#ordered-skus-table tbody tr:visible").count() == 1
    assert page.locator("#service-value .table-tools select[data-facet='abc']").count() == 1
    assert not problems and not dialogs, (problems, dialogs)


@pytest.mark.slow
def test_category_filter_appears_when_rows_have_one(browser, category_reports: dict[str, Path]) -> None:  # noqa: F811
    page, problems, dialogs = open_report(browser, category_reports["planner"])
    category = page.locator("#at-risk .table-tools select[data-facet='category']")
    assert category.locator("option").all_inner_texts() == ["All categories", "Tools", "–"]
    category.select_option("Tools")
    assert [r.get_attribute("data-sku") for r in page.locator("#risk-table tbody tr:visible").all()] \
        == ["SKU-001", "SKU-002"]
    category.select_option("–")                                  # the SKUs without a category
    assert [r.get_attribute("data-sku") for r in page.locator("#risk-table tbody tr:visible").all()] == ["SKU-003"]
    assert not problems and not dialogs, (problems, dialogs)


@pytest.mark.slow
def test_csv_download_holds_the_visible_rows(browser, reports: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    page, problems, dialogs = open_report(browser, reports["buyer"])
    card = page.locator("#orders .supplier-card").filter(has_text="SUP/B")
    with page.expect_download() as info:
        card.locator("button.csv-download").click()
    download = info.value
    assert re.fullmatch(r"buyer-report_lines-supplier-[0-9a-f]{12}_2024-06-02\.csv", download.suggested_filename)
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                          # UTF-8 BOM: spreadsheets read UTF-8
    text = raw.decode("utf-8-sig")
    assert f'"{QUOTED_DESCRIPTION.replace(chr(34), chr(34) * 2)}"' in text   # quoted, quotes doubled
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["SKU", "Description", "Quantity", "Packs"]
    assert rows[1:] == [["SKU-003", QUOTED_DESCRIPTION, "100.0", "10", "2024-06-07", "2024-07-05", "2.0", "200.0",
                         "order-up-to", "recommended", "undecided", ""]]

    page, problems2, dialogs2 = open_report(browser, reports["planner"])
    tools = page.locator("#at-risk .table-tools")
    tools.locator("select[data-facet='supplier']").select_option("SUP-A")
    with page.expect_download() as info:
        tools.locator("button.csv-download").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["#", "SKU", "Description"]
    assert rows[0][5] == "P(stock-out) (within lead time + review)"
    assert [(r[1], r[2], r[3], r[5], r[6]) for r in rows[1:]] == [
        ("SKU-001", SCRIPT_DESCRIPTION, f"{AMP_SUPPLIER} SUP-A", "0.9", "at risk"),
        ("SKU-002", "'" + FORMULA_DESCRIPTION, f"{AMP_SUPPLIER} SUP-A", "0.6", "at risk"),  # formula defused
    ]
    assert not problems + problems2 and not dialogs + dialogs2, (problems, problems2, dialogs, dialogs2)


@pytest.mark.slow
def test_order_line_link_lands_on_the_skus_forecast_and_stock(browser, reports: dict[str, Path]) -> None:  # noqa: F811
    page, problems, dialogs = open_report(browser, reports["buyer"])
    page.locator("#orders a.sku-link", has_text="SKU-003").click()
    page.wait_for_url(f"**/planner_2024-06-02.html#{sku_anchor('SKU-003')}")
    page.wait_for_selector(".main-svg")
    target = page.locator("tr:target")
    assert target.get_attribute("data-sku") == "SKU-003"
    assert target.is_visible() and target.locator("td").nth(9).get_attribute("data-value") == "12.0"
    box, header = target.bounding_box(), page.locator(".page-header").bounding_box()
    assert box is not None and header["y"] + header["height"] <= box["y"]    # not under the sticky header
    assert box["y"] + box["height"] <= page.viewport_size["height"]
    # a target hidden by a filter is shown again when a link lands on it
    page.locator("#ordered-skus .table-tools select[data-facet='supplier']").select_option("SUP-A")
    assert not target.is_visible()
    page.evaluate("window.location.hash = ''")
    page.evaluate(f"window.location.hash = '{sku_anchor('SKU-003')}'")
    assert target.is_visible()
    # an SKU with a drill-down card links on to its forecast and stock chart
    page.locator(f"#{sku_anchor('SKU-001')} a.chart-link").click()
    assert page.locator("#sku-1").is_visible() and page.locator("#sku-1 .main-svg").count() >= 1
    assert page.locator("#sku-1").get_attribute("data-sku") == "SKU-001"
    assert not problems and not dialogs, (problems, dialogs)
