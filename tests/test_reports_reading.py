"""Reports that read right (issue 19): date columns sort by date, the risk ranking and its horizon,
the projection with the plan, currency and decimals, printing and the order-schedule chart.

The "wide" database is the small report fixture plus rows that make each defect visible: order
lines of one supplier spanning a year boundary, eleven more suppliers in the order schedule (more
series than plotly's ten default colours, over 22 weeks), sixty more risk rows (a table taller than the screen)
and values that round to a negative zero. Browser checks run in headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from safestock.pipelines.reporting.data import ReportLimits, fetch_planner_data
from safestock.pipelines.reporting.render import format_change, format_value, render_reports

from tests.report_fixtures import AS_OF_NEW, RUN_NEW, build_small_db
from tests.test_reports import browser, open_report  # noqa: F401 (browser: a fixture)

# Order-by dates of SUP/B's extra lines: across the 2024/2025 boundary, deferred lines (listed
# after the recommended ones) earliest, so the page's order is not already sorted by date.
YEAR_BOUNDARY_LINES = [  # sku, order_by, status
    ("SKU-101", dt.date(2025, 1, 3), "recommended"),
    ("SKU-102", dt.date(2025, 2, 13), "recommended"),
    ("SKU-103", dt.date(2024, 12, 30), "recommended"),
    ("SKU-104", dt.date(2025, 1, 20), "recommended"),
    ("SKU-105", dt.date(2024, 11, 15), "deferred"),
    ("SKU-106", dt.date(2024, 12, 2), "deferred"),
]
SCHEDULE_SUPPLIERS = [f"SUP-C{index:02d}" for index in range(1, 12)]
EXTRA_RISK_ROWS = 60


def build_wide_db(path: Path) -> Path:
    """The small fixture plus the rows described in the module docstring."""
    build_small_db(path)
    with duckdb.connect(str(path)) as con:
        recommendation = ("insert into purchase_recommendations (run_id, supplier_id, sku, order_quantity, packs, "
                          "order_by, expected_arrival, unit_cost, line_value, reason, status) "
                          "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for sku, order_by, status in YEAR_BOUNDARY_LINES:
            con.execute(recommendation, [RUN_NEW, "SUP/B", sku, 10.0, 1, order_by, order_by + dt.timedelta(days=28),
                                         2.0, 20.0, "order-up-to", status])
        for index, supplier in enumerate(SCHEDULE_SUPPLIERS):
            con.execute("insert into suppliers_snapshot (run_id, supplier_id, name, lead_time_days, "
                        "review_period_days, min_order_value) values (?, ?, ?, 14, 7, 0)",
                        [RUN_NEW, supplier, f"Component Works {index + 1}"])
            for line in range(2):   # 22 order-by weeks: the chart's week labels turn sideways
                order_by = AS_OF_NEW + dt.timedelta(days=1 + 7 * (2 * index + line))
                con.execute(recommendation, [RUN_NEW, supplier, f"SKU-2{index:02d}{line}", 100.0, 10, order_by,
                                             order_by + dt.timedelta(days=14), 3.0, 300.0 + 50 * index,
                                             "below reorder point", "recommended"])
        con.execute(
            "insert into backorder_risk (run_id, sku, supplier_id, on_hand, on_order, backordered, "
            "inventory_position, stockout_probability, expected_backorder_units, expected_backorder_value, "
            "weeks_of_cover) select ?, printf('SKU-3%02d', i), 'SUP-A', 50, 0, 0, 50, 0.01, 0.2, 0.5, 30 "
            "from range(?) as t(i)", [RUN_NEW, EXTRA_RISK_ROWS])
        # values that round to zero from below: shown as 0, never -0
        con.execute("update backorder_risk set expected_backorder_value = -0.001, weeks_of_cover = -0.04 "
                    "where run_id = ? and sku = 'SKU-003'", [RUN_NEW])
        con.execute("update backorder_risk set expected_backorder_units = 10.4 "
                    "where run_id = ? and sku = 'SKU-002'", [RUN_NEW])
    return path


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_db(tmp_path_factory.mktemp("reading_small") / "small.duckdb")


@pytest.fixture(scope="module")
def wide_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wide_db(tmp_path_factory.mktemp("reading_wide") / "wide.duckdb")


@pytest.fixture(scope="module")
def wide(wide_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_reports(wide_db, RUN_NEW, tmp_path_factory.mktemp("reading_out"))


@pytest.fixture(scope="module")
def wide_html(wide: dict[str, Path]) -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in wide.items()}


def with_config(source: Path, target: Path, config: str) -> Path:
    """A copy of ``source`` whose new run was made with the JSON ``config``."""
    target.write_bytes(source.read_bytes())
    with duckdb.connect(str(target)) as con:
        con.execute("update runs set config = ? where run_id = ?", [config, RUN_NEW])
    return target


def header_types(html: str) -> dict[str, set[str]]:
    """Table header label (first line) -> the data-type values it has in the page."""
    found: dict[str, set[str]] = {}
    for kind, label in re.findall(r'<th scope="col" data-type="(\w+)" tabindex="0">([^<]+)', html):
        found.setdefault(label.strip(), set()).add(kind)
    return found


# --- 19.1 date columns sort by date ------------------------------------------------------------

def test_every_date_column_is_marked_date(wide_html: dict[str, str]) -> None:
    planner, buyer = header_types(wide_html["planner"]), header_types(wide_html["buyer"])
    for label in ("Projected stock-out", "Order by", "Run as of"):
        assert planner.get(label) == {"date"}, (label, planner.get(label))
    for label in ("First order-by", "Order by", "Expected arrival"):
        assert buyer.get(label) == {"date"}, (label, buyer.get(label))


def _column_values(page, table, index: int) -> list[str]:
    return [cell.get_attribute("data-value") for cell in table.locator(f"tbody tr td:nth-child({index})").all()]


@pytest.mark.slow
def test_order_by_sorts_by_date_across_a_year_boundary(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["buyer"])
    card = page.locator("#orders .supplier-card", has_text="SUP/B")
    table = card.locator("table")
    headers = [text.strip() for text in table.locator("thead th").all_inner_texts()]
    column = headers.index("Order by") + 1
    shown = _column_values(page, table, column)
    assert sorted(shown) != shown                                   # not already in date order
    header = table.locator("thead th", has_text="Order by")
    header.click()
    ascending = _column_values(page, table, column)
    assert ascending == sorted(shown), ascending                    # 2024-06-07, 2024-11-15, …, 2025-02-13
    assert ascending[0] == "2024-06-07" and ascending[-1] == "2025-02-13"
    header.click()
    assert _column_values(page, table, column) == sorted(shown, reverse=True)
    # the visible text follows the same order
    assert table.locator(f"tbody tr:first-child td:nth-child({column})").inner_text() == "2025-02-13"
    assert not problems, problems


@pytest.mark.slow
def test_projected_stock_out_sorts_by_date_with_blanks_last(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["planner"])
    table = page.locator("#risk-table")
    headers = [text.split("\n")[0].strip() for text in table.locator("thead th").all_inner_texts()]
    column = headers.index("Projected stock-out") + 1
    for descending in (False, True):
        table.locator("thead th", has_text="Projected stock-out").click()
        values = _column_values(page, table, column)
        dated = [value for value in values if value]
        assert len(dated) == 2 and len(values) == 3 + EXTRA_RISK_ROWS
        assert values[:len(dated)] == dated                                    # blanks last both ways
        assert dated == sorted(dated, reverse=descending)
    assert not problems, problems


# --- 19.7 the risk ranking, its horizon and the at-risk mark ---------------------------------------

def test_at_risk_skus_rank_first_then_by_probability(small_db: Path, tmp_path: Path) -> None:
    """SKU-003 (45 %, not at risk) has the largest expected backorder value; SKU-002 (60 %) more
    value than SKU-001 (90 %). A planner expects 90 %, 60 %, then 45 %."""
    db = tmp_path / "ranking.duckdb"
    db.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("update backorder_risk set stockout_probability = 0.45, expected_backorder_value = 1000 "
                    "where run_id = ? and sku = 'SKU-003'", [RUN_NEW])
        con.execute("update backorder_risk set expected_backorder_value = 500 where run_id = ? and sku = 'SKU-002'",
                    [RUN_NEW])
    with duckdb.connect(str(db), read_only=True) as con:
        top = fetch_planner_data(con, RUN_NEW, ReportLimits()).top_risk
    assert top["sku"].tolist() == ["SKU-001", "SKU-002", "SKU-003"]
    assert top["at_risk"].tolist() == [True, True, False]
    assert top["risk_rank"].tolist() == [1, 2, 3]
    # horizon of the probability: mean lead time 2 + review period 1 week (fixture policy)
    assert top["protection_weeks"].tolist() == pytest.approx([3.0, 3.0, 3.0])


def test_equal_probabilities_rank_by_expected_units(small_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "ties.duckdb"
    db.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("update backorder_risk set stockout_probability = 0.9 where run_id = ?", [RUN_NEW])
        con.execute("update backorder_risk set expected_backorder_units = 50 where run_id = ? and sku = 'SKU-003'",
                    [RUN_NEW])
    with duckdb.connect(str(db), read_only=True) as con:
        top = fetch_planner_data(con, RUN_NEW, ReportLimits()).top_risk
    assert top["sku"].tolist() == ["SKU-003", "SKU-001", "SKU-002"]    # 50, 30, 10 units


def test_probability_labels_state_their_horizon(wide_html: dict[str, str]) -> None:
    planner = wide_html["planner"]
    assert "SKUs at risk (P(stock-out within lead time + review) ≥ 50%)" in planner
    assert re.search(r'>P\(stock-out\)<span class="th-note">within lead time \+ review</span></th>', planner)
    assert "P(stock-out within lead time + review, 3.0 weeks)" in planner      # drill-down facts
    assert "Horizon (weeks)" in planner


@pytest.mark.slow
def test_at_risk_mark_is_on_screen_next_to_the_probability(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["planner"])
    badge = page.locator("#risk-table tbody tr").first.locator(".badge.warn")
    assert badge.inner_text() == "at risk"
    box = badge.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1400, box       # inside the 1400 px viewport
    assert not problems, problems


# --- 19.9 the projection with the plan -------------------------------------------------------------

def test_projection_with_the_recommended_orders(small_db: Path) -> None:
    """Worked by hand from the fixture: SKU-001 expects 100 - 12 t on hand (weeks from 2024-06-03);
    its recommended 60 arrive 2024-06-19, in the week of 2024-06-17 (t = 3). SKU-003's 100 arrive
    2024-07-05, week of 2024-07-01 (t = 5). SKU-002's line is deferred: no plan."""
    with duckdb.connect(str(small_db), read_only=True) as con:
        projection = fetch_planner_data(con, RUN_NEW, ReportLimits()).sku_detail.projection
    by_sku = {sku: part.sort_values("step") for sku, part in projection.groupby("sku")}
    assert by_sku["SKU-001"]["planned_receipts"].tolist() == [0, 0, 60, 0, 0, 0, 0, 0]
    assert by_sku["SKU-001"]["on_hand_expected"].tolist() == [88, 76, 64, 52, 40, 28, 16, 4]
    assert by_sku["SKU-001"]["on_hand_with_plan"].tolist() == [88, 76, 124, 112, 100, 88, 76, 64]
    assert by_sku["SKU-003"]["on_hand_with_plan"].tolist() == [488, 476, 464, 452, 540, 528, 516, 504]
    assert by_sku["SKU-002"]["on_hand_with_plan"].tolist() == by_sku["SKU-002"]["on_hand_expected"].tolist()


def test_plan_arrivals_before_and_after_the_horizon(small_db: Path, tmp_path: Path) -> None:
    """An arrival before the first projection week counts in week 1, one after the last in none
    (as open purchase orders are placed in the projection)."""
    db = tmp_path / "edges.duckdb"
    db.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("update purchase_recommendations set expected_arrival = date '2024-05-30' "
                    "where run_id = ? and sku = 'SKU-001'", [RUN_NEW])
        con.execute("update purchase_recommendations set expected_arrival = date '2024-07-29' "
                    "where run_id = ? and sku = 'SKU-003'", [RUN_NEW])     # last week is 2024-07-22
    with duckdb.connect(str(db), read_only=True) as con:
        projection = fetch_planner_data(con, RUN_NEW, ReportLimits()).sku_detail.projection
    by_sku = {sku: part.sort_values("step") for sku, part in projection.groupby("sku")}
    assert by_sku["SKU-001"]["planned_receipts"].tolist() == [60, 0, 0, 0, 0, 0, 0, 0]
    assert by_sku["SKU-003"]["planned_receipts"].sum() == 0


@pytest.mark.slow
def test_stock_chart_draws_the_plan_beside_the_projection(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["planner"])
    assert "SKU-001" in page.locator("#sku-1 h3").inner_text()
    traces = page.evaluate("""() => document.querySelector('#sku-1 .js-plotly-plot').data
        .map(t => ({name: t.name, y: Array.from(t.y || []), color: (t.line || t.marker || {}).color}))""")
    by_name = {trace["name"]: trace for trace in traces}
    assert by_name["expected on hand, no new orders"]["y"] == [88, 76, 64, 52, 40, 28, 16, 4]
    assert by_name["expected on hand with recommended orders"]["y"] == [88, 76, 124, 112, 100, 88, 76, 64]
    assert by_name["recommended order (arrival week)"]["y"] == [60]
    colours = [trace["color"] for trace in traces if trace["color"] and not trace["color"].startswith("rgba")]
    assert len(colours) == len(set(colours)), colours                        # no two series share a colour
    assert "recommended orders arriving" in page.locator("#sku-1").inner_text()
    page.locator("#sku-1").screenshot(path=str(save_dir() / "planner_sku_plan.png"))
    assert not problems, problems


def save_dir() -> Path:
    path = Path(__file__).resolve().parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


# --- 19.12 currency and decimals -------------------------------------------------------------------

@pytest.mark.parametrize(("value", "kind", "shown"), [
    (-0.0, "int", "0"), (-0.4, "int", "0"), (-0.001, "money", "0.00"), (-0.001, "money_whole", "0"),
    (-0.04, "decimal", "0.0"), (-0.00001, "pct", "0.0%"), (-0.01, "number", "0.0"),
    (1630.0, "int", "1,630"), (10.4, "int", "10"), (1234.5, "money", "1,234.50"), (999.5, "money", "999.50"),
    (2_528_841.94, "money", "2,528,841.94"), (2_528_841.94, "money_whole", "2,528,842"),
    (0.8175, "pct", "81.8%"), (-2.26, "decimal", "-2.3"),
])
def test_format_value_decimals_and_no_negative_zero(value: float, kind: str, shown: str) -> None:
    assert format_value(value, kind) == shown


def test_format_change_signs_only_visible_changes() -> None:
    assert format_change(0.3, "int") == "0"
    assert format_change(2.0, "int") == "+2"
    assert format_change(-2.0, "int") == "-2"
    assert format_change(-0.3, "int") == "0"


def test_no_negative_zero_and_whole_units_in_reports(wide_html: dict[str, str]) -> None:
    for name, html in wide_html.items():
        cells = re.findall(r'<td class="num" data-value="[^"]*">([^<]*)</td>', html)
        assert cells, name
        assert not [cell for cell in cells if re.fullmatch(r"-0([.,]0*)?%?", cell)], name
    risk = wide_html["planner"][wide_html["planner"].index('id="risk-table"'):]
    assert '<td class="num" data-value="10.4">10</td>' in risk            # expected backorder units: whole


def test_currency_from_the_run_config_is_shown_with_money(small_db: Path, tmp_path: Path) -> None:
    db = with_config(small_db, tmp_path / "eur.duckdb", '{"currency": "EUR"}')
    paths = render_reports(db, RUN_NEW, tmp_path / "out")
    planner, buyer = (paths[name].read_text(encoding="utf-8") for name in ("planner", "buyer"))
    assert "Expected backorder value (EUR)" in planner and "Inventory value (EUR)" in planner
    assert ">Exp. backorder value (EUR)</th>" in planner
    assert "Recommended order value (EUR)" in buyer
    assert ">Unit cost (EUR)</th>" in buyer and ">Value (EUR)</th>" in buyer
    assert "short by 400.00 EUR" in buyer and "below minimum by 400.00 EUR" in buyer
    assert "order value (EUR)" in buyer                                   # the schedule's axis title


def test_no_currency_stated_shows_none(wide_html: dict[str, str]) -> None:
    for html in wide_html.values():
        assert "(EUR)" not in html and "(None)" not in html and " None<" not in html
    assert "short by 400.00<" in wide_html["buyer"]


@pytest.mark.slow
def test_codes_never_wrap_inside(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    """At a narrow width every SKU, supplier and PO code stays on one line."""
    for name, path in wide.items():
        page, problems, _ = open_report(browser, path)
        page.set_viewport_size({"width": 640, "height": 900})
        broken = page.evaluate("""() => Array.from(document.querySelectorAll('code, .code'))
            .filter(e => e.getClientRects().length > 1).map(e => e.textContent)""")
        assert page.locator("code, .code").count() > 5, name
        assert broken == [], (name, broken)
        assert not problems, problems
        page.close()


# --- 19.13 printing and the order-schedule chart ---------------------------------------------------

@pytest.mark.slow
def test_print_shows_whole_tables(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    for name, path in wide.items():
        page, problems, _ = open_report(browser, path)
        page.emulate_media(media="print")
        clipped = page.evaluate("""() => Array.from(document.querySelectorAll('.table-wrap'))
            .filter(w => w.scrollHeight > w.clientHeight + 1)
            .map(w => (w.querySelector('table') || {}).id || w.parentElement.id)""")
        assert clipped == [], (name, clipped)
        if name == "planner":
            rows = page.locator("#risk-table tbody tr")
            assert rows.count() == 3 + EXTRA_RISK_ROWS
            last = rows.last.bounding_box()
            wrap = page.locator("#risk-table").locator("xpath=..").bounding_box()
            assert last["y"] + last["height"] <= wrap["y"] + wrap["height"] + 1   # the last row is inside
        assert page.pdf(format="A4").startswith(b"%PDF")                          # saving as PDF works
        assert not problems, problems
        page.close()


def _boxes(page, selector: str) -> list[dict[str, float]]:
    return page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector))
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
        .map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}))""", selector)


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


SCHEDULE_CHART = "#schedule .js-plotly-plot"


@pytest.mark.slow
def test_order_schedule_series_have_distinct_colours(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["buyer"])
    colours = page.evaluate(f"() => document.querySelector('{SCHEDULE_CHART}')._fullData.map(t => t.marker.color)")
    names = page.evaluate(f"() => document.querySelector('{SCHEDULE_CHART}')._fullData.map(t => t.name)")
    assert len(names) == 11 and "other suppliers" in names                  # 10 largest + the rest
    assert len(set(colours)) == len(colours), dict(zip(names, colours))
    assert not problems, problems


@pytest.mark.slow
def test_order_schedule_legend_clear_of_axis_labels(browser, wide: dict[str, Path]) -> None:  # noqa: F811
    page, problems, _ = open_report(browser, wide["buyer"])
    chart = SCHEDULE_CHART
    legend = _boxes(page, f"{chart} .legend")
    labels = (_boxes(page, f"{chart} .xaxislayer-above .xtick text") + _boxes(page, f"{chart} .yaxislayer-above .ytick text")
              + _boxes(page, f"{chart} .g-xtitle text") + _boxes(page, f"{chart} .g-ytitle text"))
    assert legend and len(labels) > 5
    assert not [label for label in labels if _overlap(legend[0], label)]
    page.locator("#schedule").screenshot(path=str(save_dir() / "buyer_schedule.png"))
    assert not problems, problems
