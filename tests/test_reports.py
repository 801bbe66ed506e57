"""Tests of the planner and buyer HTML reports (pipelines/reporting/).

Fast checks run on the rendered HTML; the browser checks open both files in headless Chromium
(playwright) and are skipped only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import pytest
from safestock.pipelines.reporting.data import ReportLimits, fetch_planner_data
from safestock.pipelines.reporting.render import render_reports, supplier_csv_name

from tests.report_fixtures import (
    AMP_SUPPLIER,
    BACKTEST,
    BACKTEST_BELOW_TARGET,
    HOSTILE_PO_ID,
    RUN_NEW,
    RUN_OLD,
    SCRIPT_DESCRIPTION,
    SMALL_EXPECTED,
    build_scale_db,
    build_small_db,
    expected_tracking_old_run,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PLOTLY_BANNER = "* plotly.js v"
MAX_REPORT_BYTES = 15 * 1024 * 1024
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small two-run database."""
    return build_small_db(tmp_path_factory.mktemp("reports_db") / "small.duckdb")


@pytest.fixture(scope="module")
def rendered(small_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reports of the newest run of the small database."""
    return render_reports(small_db, RUN_NEW, tmp_path_factory.mktemp("reports_out"))


@pytest.fixture(scope="module")
def html(rendered: dict[str, Path]) -> dict[str, str]:
    """Rendered HTML text per report."""
    return {name: path.read_text(encoding="utf-8") for name, path in rendered.items()}


# --- file names -------------------------------------------------------------------------------

@pytest.mark.parametrize("supplier_id", ["ACME-01", "SUP-001", "SUP_2", "A.B", "12345"])
def test_supplier_csv_name_keeps_safe_ids(supplier_id: str) -> None:
    assert supplier_csv_name(supplier_id) == f"{supplier_id}.csv"


def test_supplier_csv_name_separates_ids_differing_only_by_case() -> None:
    ids = ["ACME", "acme", "Acme", "sup_2", "SUP_2", "a.b", "A.B"]
    names = [supplier_csv_name(supplier_id) for supplier_id in ids]
    assert len({name.lower() for name in names}) == len(ids), names
    assert supplier_csv_name("ACME") == "ACME.csv"               # upper-case ids stay readable
    assert supplier_csv_name("acme").startswith("acme--")        # any lower-case letter: hashed


@pytest.mark.parametrize("supplier_id", ["A/B", "a\\b", "..", "../etc/passwd", "x\x00y", "tab\there",
                                         "", "CON", "nul.txt", "con.txt", "NUL.tar", "com1.x",
                                         "a--b", "Ünïcode & Co", "-x-", "a" * 300])
def test_supplier_csv_name_sanitises_unsafe_ids(supplier_id: str) -> None:
    name = supplier_csv_name(supplier_id)
    assert name.endswith(".csv") and "--" in name
    assert not any(bad in name for bad in ("/", "\\", "..", "\x00"))
    assert not any(ord(char) < 32 for char in name)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.csv", name), name
    assert len(name) <= 100
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt1"}


def test_supplier_csv_name_is_unique_and_stable() -> None:
    ids = ["A/B", "A_B", "A\\B", "A B", "a/b", "A--B", "A-B", "..A", "A"]
    names = [supplier_csv_name(supplier_id) for supplier_id in ids]
    assert len(set(names)) == len(ids)
    assert names == [supplier_csv_name(supplier_id) for supplier_id in ids]
    assert supplier_csv_name("A/B").startswith("A_B--")


# --- rendered files ---------------------------------------------------------------------------

def test_render_writes_dated_files_and_latest_copies(rendered: dict[str, Path]) -> None:
    out_dir = rendered["planner"].parent
    assert rendered == {"planner": out_dir / "planner_2024-06-02.html",
                        "buyer": out_dir / "buyer_2024-06-02.html"}
    for name, path in rendered.items():
        assert (out_dir / f"{name}.html").read_bytes() == path.read_bytes()


def test_older_run_does_not_replace_latest_copies(small_db: Path, tmp_path: Path) -> None:
    render_reports(small_db, RUN_NEW, tmp_path)
    latest = (tmp_path / "planner.html").read_bytes()
    paths = render_reports(small_db, RUN_OLD, tmp_path)
    assert paths["planner"].name == "planner_2024-05-05.html"
    assert (tmp_path / "planner.html").read_bytes() == latest


def test_unknown_run_raises(small_db: Path, tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        render_reports(small_db, "no-such-run", tmp_path)


def test_input_text_is_escaped(html: dict[str, str]) -> None:
    for text in html.values():
        assert "<script>alert(1)</script>" not in text
        assert "onerror=alert(2)>" not in text
        assert "Bolt <b>Co</b>" not in text
        assert "<script>alert(3)" not in text
    assert "Widget &lt;script&gt;alert(1)&lt;/script&gt;" in html["planner"]
    assert "Smith &amp; Sons" in html["planner"] and "Smith &amp; Sons" in html["buyer"]
    assert "below reorder point &lt;urgent&gt;" in html["buyer"]
    assert "PO-1&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html["planner"]


def test_plotly_embedded_once_and_offline(html: dict[str, str]) -> None:
    for text in html.values():
        assert text.count(PLOTLY_BANNER) == 1
        assert re.search(r"<script[^>]*\bsrc=", text) is None      # everything inline
        assert re.search(r"<link[^>]*\bhref=", text) is None


def test_empty_coverage_and_old_run_render_no_data_lines(html: dict[str, str], small_db: Path,
                                                          tmp_path: Path) -> None:
    assert "No interval coverage was recorded for this run." in html["planner"]
    old = render_reports(small_db, RUN_OLD, tmp_path)["planner"].read_text(encoding="utf-8")
    assert "No forecast accuracy or coverage rows for this run." in old
    assert "No supplier risk rows for this run." in old
    assert "No earlier run has forecasts" in old


def test_forecast_tracking_matches_actuals(small_db: Path) -> None:
    with duckdb.connect(str(small_db), read_only=True) as con:
        data = fetch_planner_data(con, RUN_NEW, ReportLimits())
    tracking = data.forecast_tracking
    assert tracking["run_id"].tolist() == [RUN_OLD]
    wape, bias = expected_tracking_old_run()
    assert tracking["wape"].iloc[0] == pytest.approx(wape)
    assert tracking["bias"].iloc[0] == pytest.approx(bias)
    assert tracking["steps_observed"].iloc[0] == 4


def test_at_risk_threshold_comes_from_run_config(small_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "configured.duckdb"
    db.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("update runs set config = ? where run_id = ?",
                    ['{"policy": {"at_risk_probability": 0.65}}', RUN_NEW])
    with duckdb.connect(str(db), read_only=True) as con:
        data = fetch_planner_data(con, RUN_NEW, ReportLimits())
    assert data.limits.at_risk_probability == 0.65
    assert data.kpis["skus_at_risk"] == 1            # 0.9 only (0.6 is below 0.65)
    assert data.previous_kpis["skus_at_risk"] == 1   # old run judged by the same threshold: 0.7


def test_headline_at_risk_equals_the_pipelines_supplier_rollup(small_db: Path) -> None:
    """KPI "SKUs at risk" == sum(supplier_risk.skus_at_risk) of the run == rows marked at risk."""
    with duckdb.connect(str(small_db), read_only=True) as con:
        data = fetch_planner_data(con, RUN_NEW, ReportLimits())
        pipeline = con.execute("select sum(skus_at_risk) from supplier_risk where run_id = ?",
                               [RUN_NEW]).fetchone()[0]
    assert data.kpis["skus_at_risk"] == pipeline == 2
    assert data.kpis["supplier_skus_at_risk"] == pipeline
    assert int(data.top_risk["at_risk"].sum()) == pipeline
    assert set(data.top_risk["at_risk_total"]) == {pipeline}


def test_nan_stockout_probability_is_never_at_risk(small_db: Path, tmp_path: Path) -> None:
    """DuckDB orders NaN above every number; the pipeline's numpy `p >= t` does not count it."""
    db = tmp_path / "nan.duckdb"
    db.write_bytes(small_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("update backorder_risk set stockout_probability = 'nan'::double "
                    "where run_id = ? and sku = 'SKU-003'", [RUN_NEW])
    with duckdb.connect(str(db), read_only=True) as con:
        data = fetch_planner_data(con, RUN_NEW, ReportLimits())
    assert data.kpis["skus_at_risk"] == 2
    assert int(data.top_risk["at_risk"].sum()) == 2


def test_at_risk_rows_are_marked_and_counted(html: dict[str, str]) -> None:
    planner = html["planner"]
    assert len(re.findall(r'<tr class="at-risk"[ >]', planner)) == 2
    assert "<strong>2</strong> SKUs are at risk" in planner
    assert 'id="at-risk-mismatch"' not in planner


def test_model_legend_lists_the_runs_models_with_what_they_do(html: dict[str, str]) -> None:
    planner = html["planner"]
    table = planner[planner.index('id="models-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr><td><code>([^<]+)</code></td><td class="num" data-value="(\d+)">', table)
    assert rows == [("ses_events", "2"), ("sba", "1")]                       # most SKUs first
    assert "Syntetos-Boylan bias correction" in table
    assert "on their real dates each year" in table


def test_every_model_the_engine_can_select_is_described() -> None:
    from safestock.models.forecasting.candidates import (
        INTERMITTENT_CANDIDATES,
        MODEL_DESCRIPTIONS,
        SMOOTH_CANDIDATES,
    )
    emitted = set(SMOOTH_CANDIDATES) | set(INTERMITTENT_CANDIDATES) | {"new_mean", "zero"}
    assert emitted <= set(MODEL_DESCRIPTIONS)
    assert all(text.strip() for text in MODEL_DESCRIPTIONS.values())


def test_policy_backtest_section(html: dict[str, str], small_db: Path, tmp_path: Path) -> None:
    planner = html["planner"]
    assert '<a href="#policy-backtest">Policy backtest</a>' in planner
    section = planner[planner.index('<section id="policy-backtest"'):]
    section = section[:section.index("</section>")]
    assert "The last 26 weeks of real demand replayed under this run's policy, re-forecasting every 4 weeks" in section
    rows = re.findall(r'<tr class="([^"]*)" data-class="([^"]+)">', section)
    assert [name for _, name in rows] == [row[0] for row in BACKTEST]          # 'all' last
    assert [name for cls, name in rows if "below-target" in cls] == BACKTEST_BELOW_TARGET
    assert "More than 2 points below target: erratic, all." in section
    assert 'data-value="0.9">90.0%</td>' in section                            # erratic achieved CSL
    assert "nan" not in section.lower()                                        # NaN fill-rate target shows '–'
    old = render_reports(small_db, RUN_OLD, tmp_path)["planner"].read_text(encoding="utf-8")
    assert "No policy backtest rows for this run" in old


def test_buyer_links_and_minimum(html: dict[str, str]) -> None:
    buyer = html["buyer"]
    assert f'href="orders/2024-06-02/{supplier_csv_name("SUP-A")}"' in buyer     # the run's own folder
    assert f'href="orders/2024-06-02/{supplier_csv_name("SUP/B")}"' in buyer
    assert "short by 400.00" in buyer          # SUP-A: 600 recommended vs 1,000 minimum
    assert "deferred" in buyer


# --- browser ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (CI installs the Debian chromium package)")
    from playwright.sync_api import (
        sync_playwright,  # a test dependency: fail loudly if absent
    )

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_report(browser, path: Path):
    """Open a report; returns the page and the lists of errors and dialogs seen."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector(".main-svg", timeout=15000)
    return page, problems, dialogs


@pytest.mark.slow
def test_planner_in_browser(browser, rendered: dict[str, Path]) -> None:
    page, problems, dialogs = open_report(browser, rendered["planner"])
    expected = SMALL_EXPECTED[RUN_NEW]
    for key, value in expected.items():
        card = page.locator(f"#kpi-{key.replace('_', '-')}")
        assert float(card.get_attribute("data-value")) == pytest.approx(value)
        assert float(card.get_attribute("data-previous")) == pytest.approx(SMALL_EXPECTED[RUN_OLD][key])
    assert page.locator("#kpi-skus-at-risk .kpi-value").inner_text() == "2"
    assert page.locator("#kpi-inventory-value .kpi-value").inner_text() == "2,200"
    for section in ("kpis", "at-risk", "drilldown", "suppliers", "accuracy", "forecast-tracking",
                    "policy-backtest", "data-quality"):
        assert page.locator(f"#{section}").count() == 1, section
    assert page.locator("#risk-table tbody tr.at-risk").count() == 2
    backtest = page.locator("#backtest-table tbody tr")
    assert backtest.count() == len(BACKTEST)
    assert [row.get_attribute("data-class") for row in page.locator("#backtest-table tr.below-target").all()] \
        == BACKTEST_BELOW_TARGET
    assert page.locator("#backtest-table tr[data-class='erratic'] td").nth(4).inner_text() == "90.0%"
    page.click(".page-nav a[href='#policy-backtest']")
    assert page.locator("#policy-backtest").is_visible()
    assert SCRIPT_DESCRIPTION in page.locator("#risk-table").inner_text()
    assert HOSTILE_PO_ID in page.locator("#sku-1").inner_text()
    assert AMP_SUPPLIER in page.locator("#supplier-table").inner_text()
    assert page.locator(".js-plotly-plot .main-svg").count() >= 4
    assert page.locator("#drilldown .sku-card").count() == 3
    page.fill("input[data-table='risk-table']", "bearing")
    assert page.locator("#risk-table tbody tr:visible").count() == 1
    page.fill("input[data-table='risk-table']", "")
    page.click("#risk-table thead th:nth-child(6)")  # P(stock-out), ascending
    assert page.locator("#risk-table tbody tr").first.locator("td").nth(1).inner_text() == "SKU-003"
    save_screenshot(page, "planner.png")
    assert not problems and not dialogs, (problems, dialogs)


@pytest.mark.slow
def test_buyer_in_browser(browser, rendered: dict[str, Path]) -> None:
    page, problems, dialogs = open_report(browser, rendered["buyer"])
    assert page.locator("#kpi-lines .kpi-value").inner_text() == "3"
    assert float(page.locator("#kpi-order-value").get_attribute("data-value")) == pytest.approx(800.0)
    assert AMP_SUPPLIER in page.locator("#supplier-totals").inner_text()
    assert SCRIPT_DESCRIPTION in page.locator("#orders").inner_text()
    assert page.locator("#orders .supplier-card").count() == 2
    assert page.locator("a.csv-link").count() == 2
    save_screenshot(page, "buyer.png")
    assert not problems and not dialogs, (problems, dialogs)


def save_screenshot(page, name: str) -> None:
    """Full-page screenshot into tests/artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


# --- scale ------------------------------------------------------------------------------------

def test_planner_at_20k_skus_is_small_and_fast(tmp_path: Path) -> None:
    db = build_scale_db(tmp_path / "scale.duckdb", 20_000)
    started = time.perf_counter()
    paths = render_reports(db, "scale-new", tmp_path / "out")
    elapsed = time.perf_counter() - started
    for path in paths.values():
        assert path.stat().st_size < MAX_REPORT_BYTES
        assert path.read_text(encoding="utf-8").count(PLOTLY_BANNER) == 1
    planner = paths["planner"].read_text(encoding="utf-8")
    assert "Showing the first 500 of 20,000 SKUs" in planner
    assert planner.count('class="card sku-card"') == 20
    assert "order lines are too many for one page" in paths["buyer"].read_text(encoding="utf-8")
    assert elapsed < 30, f"rendering took {elapsed:.1f} s"
