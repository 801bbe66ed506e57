"""Security of user data flowing through the pipeline: order-file names, HTML escaping (raw HTML
and a real browser), SQL injection, and a static check that SQL is never built from user values.
See docs/reliability.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safestock.pipelines.reporting.orders import (
    supplier_csv_name,
    write_supplier_orders,
)
from safestock.pipelines.reporting.render import supplier_csv_name as report_link_name

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]

HOSTILE_SUPPLIER_IDS = ["../../evil", "a/b", "a\\b", "x\x00y", "..", ".", "CON", "NUL", "LPT1",
                        "\u00dcml\u00e4ut", "\u4f9b\u5e94\u5546", "\U0001f4a3", "a b", "-rf", ".hidden",
                        "a" * 300, "a_b", "a-b", "line\nbreak", "tab\tx", "", " ", "SUP-001", "orders_x",
                        "con.txt", "NUL.tar", "com1.x", "Lpt9.log", "ACME", "acme", "Acme", "aCmE"]
DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
SCRIPT = "<script>alert(1)</script>"
IMG = "\"'><img src=x onerror=alert(1)>"
SQLI = "x'; drop table runs; --"


# ----------------------------------------------------------------------------------- file names

def _assert_safe_names(ids: list[str], folder: Path) -> None:
    names = [supplier_csv_name(i) for i in ids]
    assert len(set(names)) == len(set(ids)), "two supplier ids share an order file"
    # ... also on a case-insensitive file system (Windows, macOS): ACME / acme
    assert len({name.lower() for name in names}) == len(set(ids)), "names collide ignoring case"
    for supplier_id, name in zip(ids, names):
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.csv", name), (supplier_id, name)
        assert not name.startswith(".") and ".." not in name.removesuffix(".csv")
        # Windows judges device names on the part before the first dot: con.txt is CON
        assert name.split(".")[0].upper() not in DEVICE_NAMES, (supplier_id, name)
        assert len(name) <= 120
        assert (folder / name).resolve().parent == folder.resolve()
        assert name == report_link_name(supplier_id)  # the buyer report links to this very file


def test_hostile_supplier_ids_give_distinct_file_names_inside_the_folder(tmp_path: Path) -> None:
    _assert_safe_names(HOSTILE_SUPPLIER_IDS, tmp_path)


@pytest.mark.parametrize("supplier_id", ["con.txt", "CON.txt", "NUL.tar", "com1.x", "lpt9.a.b", "aux."])
def test_device_name_with_extension_is_renamed(supplier_id: str) -> None:
    name = supplier_csv_name(supplier_id)
    assert name.split(".")[0].upper() not in DEVICE_NAMES, name
    assert "--" in name


# ids built from a tiny alphabet, so that case variants (ACME / acme / AcMe), device names and
# ids that differ only in unsafe characters come up often
_CASE_PRONE_IDS = st.one_of(
    st.text(alphabet="aAcCmMeEnNoOuUlL01._-/ ", min_size=0, max_size=8),
    st.sampled_from(["ACME", "acme", "Acme", "SUP-001", "sup-001", "con", "CON.txt", "nul.TXT"]),
    st.text(min_size=0, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CASE_PRONE_IDS, min_size=1, max_size=12, unique=True))
def test_names_are_distinct_ignoring_case(ids: list[str]) -> None:
    """Lower-cased names of any set of distinct ids are distinct (case-insensitive file systems)."""
    with_case_variants = list(dict.fromkeys(ids + [i.swapcase() for i in ids] + [i.upper() for i in ids]))
    _assert_safe_names(with_case_variants, Path("/tmp/orders"))


def test_upper_case_ids_stay_readable() -> None:
    assert [supplier_csv_name(i) for i in ("SUP-001", "ACME-01", "A.B_2")] == ["SUP-001.csv", "ACME-01.csv", "A.B_2.csv"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=8, unique=True))
def test_any_supplier_ids_give_distinct_safe_names(ids: list[str]) -> None:
    _assert_safe_names(ids, Path("/tmp/orders"))


def test_order_files_are_written_inside_the_orders_folder(tmp_path: Path) -> None:
    orders_dir = tmp_path / "reports" / "orders"
    ids = [i for i in HOSTILE_SUPPLIER_IDS if "\x00" not in i] + ["x\x00y"]
    orders = pd.DataFrame({"supplier_id": ids, "sku": [f"S{i}" for i in range(len(ids))], "order_quantity": 1.0,
                           "packs": 1.0, "unit_cost": 1.0, "line_value": 1.0, "order_by": pd.Timestamp("2026-01-05"),
                           "expected_arrival": pd.Timestamp("2026-01-19"), "reason": "below reorder point",
                           "status": "recommended"})
    items = pd.DataFrame({"sku": orders["sku"], "description": "d", "pack_size": 1.0})
    written = write_supplier_orders(orders, items, orders_dir, run_id="r", as_of=pd.Timestamp("2026-01-04"))
    assert len(written) == len(ids)
    everything = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert everything == sorted(written.values())
    assert all(p.parent == orders_dir for p in everything)
    for supplier_id, path in written.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(frame) == 1
        assert frame["supplier_id"].iloc[0].lstrip("'") == supplier_id


# ----------------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def hostile_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory):
    """A real flow run whose SKUs, descriptions, supplier ids and names carry XSS / SQL / path
    payloads."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data
    from safestock.pipelines.flow import weekly_run

    out = tmp_path_factory.mktemp("hostile_run")
    folder = out / "input"
    write_demo_data(generate_demo_data(20, seed=11, years=1.5), folder)
    tables = {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False)
              for t in ("sales", "items", "suppliers", "inventory", "purchase_orders")}
    skus = tables["items"]["sku"]
    rename_sku = {skus.iloc[0]: SCRIPT, skus.iloc[1]: IMG, skus.iloc[2]: SQLI, skus.iloc[3]: "=1+1"}
    suppliers = tables["suppliers"]["supplier_id"]
    rename_supplier = {suppliers.iloc[0]: "../../evil", suppliers.iloc[1]: IMG}
    for name, frame in tables.items():
        if "sku" in frame:
            frame["sku"] = frame["sku"].replace(rename_sku)
        if "supplier_id" in frame:
            frame["supplier_id"] = frame["supplier_id"].replace(rename_supplier)
    tables["items"]["description"] = [SCRIPT, IMG, SQLI] * (len(tables["items"]) // 3) + [SCRIPT] * (
        len(tables["items"]) % 3)
    tables["suppliers"]["name"] = [IMG, SCRIPT, SQLI][: len(tables["suppliers"])] + ["ok"] * max(
        len(tables["suppliers"]) - 3, 0)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    # make sure the hostile SKUs need ordering, so they reach every report section and the CSVs
    inventory = tables["inventory"]
    inventory.loc[inventory["sku"].isin(rename_sku.values()), "on_hand"] = "0"
    inventory.to_csv(folder / "inventory.csv", index=False)
    reports = out / "reports"
    summary = weekly_run(input_dir=folder, db_path=out / "s.duckdb", reports_dir=reports)
    return out, summary


def test_sql_injection_payload_is_data(hostile_run) -> None:
    out, summary = hostile_run
    with duckdb.connect(str(out / "s.duckdb"), read_only=True) as con:
        assert con.execute("select status from runs where run_id = ?", [summary.run_id]).fetchone() == ("succeeded",)
        skus = {r[0] for r in con.execute("select sku from inventory_policy").fetchall()}
        assert {SQLI, SCRIPT, IMG} <= skus
        assert con.execute("select count(*) from items_snapshot where description = ?", [SQLI]).fetchone()[0] > 0


def test_headline_at_risk_equals_supplier_rollup_in_a_real_run(hostile_run) -> None:
    """The planner's "SKUs at risk" KPI == sum(supplier_risk.skus_at_risk), the pipeline's count."""
    from safestock.pipelines.reporting.data import ReportLimits, fetch_planner_data

    out, summary = hostile_run
    with duckdb.connect(str(out / "s.duckdb"), read_only=True) as con:
        data = fetch_planner_data(con, summary.run_id, ReportLimits())
        pipeline = con.execute("select sum(skus_at_risk) from supplier_risk where run_id = ?",
                               [summary.run_id]).fetchone()[0]
    assert data.kpis["skus_at_risk"] == pipeline == summary.skus_at_risk
    assert int(data.top_risk["at_risk"].sum()) == pipeline     # 20 SKUs: the whole table is shown
    planner = _html(out, "planner")
    assert re.search(rf'id="kpi-skus-at-risk" data-value="{pipeline}"', planner)


def test_order_csvs_stay_inside_the_orders_folder(hostile_run) -> None:
    out, summary = hostile_run
    orders = out / "reports" / "orders" / str(summary.as_of)   # the run's own folder
    for name, path in summary.reports.items():
        assert Path(path).resolve().is_relative_to((out / "reports").resolve()), (name, path)
    assert [p for p in out.rglob("*evil*") if p.parent != orders] == []
    assert (orders / supplier_csv_name("../../evil")).is_file()


def _html(out: Path, name: str) -> str:
    return (out / "reports" / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("report", ["planner", "buyer"])
def test_reports_escape_every_payload(hostile_run, report: str) -> None:
    out, _ = hostile_run
    html = _html(out, report)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html.lower()
    assert "onerror=alert(1)>" not in html.replace("onerror=alert(1)&gt;", "")
    # every <script> element is the report's own (no script tag from input), and no `</script>`
    # from input closes one early: each opening tag is matched by exactly one closing tag
    assert html.count("<script") == html.count("</script>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003cscript\\u003e" in html


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")
@pytest.mark.parametrize("report", ["planner", "buyer"])
def test_reports_fire_no_dialog_in_a_browser(hostile_run, report: str) -> None:
    from playwright.sync_api import sync_playwright

    out, _ = hostile_run
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto((out / "reports" / f"{report}.html").as_uri())
            page.wait_for_load_state("load")
            for details in page.query_selector_all("details"):  # open drill-downs (lazy content)
                details.evaluate("d => d.open = true")
            page.wait_for_timeout(300)
            injected = page.evaluate("() => document.querySelectorAll('img[src=\"x\"], img[onerror]').length")
        finally:
            browser.close()
    assert dialogs == []
    assert injected == 0


# ----------------------------------------------------------------------------------- static SQL check

# Every expression formatted into SQL text in pipelines/**/*.py, reviewed: each is a quoted
# identifier, a loader-generated table name, a fragment built from contract constants, or an
# integer constant. User values always travel as bound parameters ($name / ?).
ALLOWED_SQL_FORMATTING = {
    ("inputs/load.py", "sales.raw_table"), ("inputs/load.py", "staged.raw_table"), ("inputs/load.py", "', '.join(selects)"),
    ("inputs/load.py", "blank_sql(quote_identifier(column.name))"),
    ("inputs/staging.py", "quote_identifier(raw)"), ("inputs/staging.py", "quote_identifier(stage)"),
    ("inputs/staging.py", "quote_identifier(rejects)"), ("inputs/staging.py", "quote_identifier(rejects_table)"),
    ("inputs/staging.py", "', '.join(columns)"), ("inputs/staging.py", "rejects"),
    ("inputs/staging.py", "f'rejects_scan_{spec.name}'"), ("inputs/staging.py", "MAX_REJECTS_RECORDED"),
    ("inputs/checks.py", "staged.raw_table"), ("inputs/checks.py", "', '.join(selects)"),
    ("inputs/checks.py", "', '.join(codes)"), ("inputs/checks.py", "key_sql"), ("inputs/checks.py", "child.raw_table"),
    ("inputs/checks.py", "quote_identifier(column)"), ("inputs/checks.py", "parent.raw_table"),
    ("inputs/checks.py", "quote_identifier(parent_key)"),
    ("inputs/sources.py", "', union_by_name = true' if path.is_dir() else ''"),
    ("storage/database.py", "table.name"), ("storage/database.py", "quoted"),
    # the stock history's optional column: its contract name or null; the decisions table's constant name
    ("inputs/load.py", "hours"), ("storage/decisions.py", "ORDER_DECISIONS"),
    # the sales fast path: contract-derived check codes and parse expressions, constant read
    # options, and a scan subquery whose user-supplied header names are bound as $column_N
    ("inputs/staging.py", "', '.join((f'{e} as {n}' for e, n in parsed.items()))"),
    ("inputs/staging.py", "', '.join(code_names)"), ("inputs/staging.py", "', '.join(codes)"),
    ("inputs/staging.py", "'line' if line != 'null' else 'null'"), ("inputs/staging.py", "counts"),
    ("inputs/staging.py", "scan"), ("inputs/load.py", "scan"),
    ("inputs/staging.py", "source.parquet_line()"),
    # a typed input's FROM item (sources.Source.reader_sql): read_parquet($path, constant options), or
    # a pulled PostgreSQL table, `pulled."<contract table>"` (loader-built, quoted); its DESCRIBE
    ("inputs/staging.py", "source.reader_sql()"), ("inputs/stock_fast.py", "source.reader_sql(row_numbers=False)"),
    ("inputs/sources.py", "relation"),
    # source snapshots (storage/source_snapshots.py): quoted internal table names built from contract
    # table names (`source_snapshot_items`, `stored."source_snapshot_items"`) and the key match over
    # the quoted internal key columns "__row_key_N"
    ("storage/source_snapshots.py", "changed"), ("storage/source_snapshots.py", "key_match"),
    ("storage/source_snapshots.py", "quote_identifier(table)"), ("storage/source_snapshots.py", "snapshot"),
    # and the internal names of an incremental read's pulled rows ("__pulled_<table>", also as
    # pulled."<…>"), of the merged table waiting while the pulled rows alone are checked
    # ("__merged_<table>"), and of the typed snapshot's source rows: contract table names, quoted
    ("storage/source_snapshots.py", "pulled_rows"), ("storage/source_snapshots.py", "merged"),
    # the PostgreSQL source (run by the source server, not DuckDB): `relation` is a configured table
    # name quoted part by part, or the [source] query the operator wrote (SQL by design, run with the
    # operator's own credentials); `select` is sql/source_postgres_table.sql over quoted identifiers
    ("inputs/postgres.py", "pull.relation"), ("inputs/postgres.py", "select"),
    # the overrides pulled from the source: the same `select` (sql/source_postgres_table.sql over
    # quoted identifiers and the configured relation, built by postgres._select_sql)
    ("inputs/postgres_overrides.py", "select"),
    # counted value checks: contract-derived check codes over the internal staged table, numbered
    ("inputs/checks.py", "rows"),
    ("inputs/checks.py", "'select ' + ', '.join((f'count(*) filter (where {code} = {number})' for number, "
                         "(_, code, _) in enumerate(checks, start=1))) + f' from {rows}'"),
    # the optional unit_price column: its quoted contract name or null (staged path); the fast path's
    # four price columns: constant aggregate SQL over the parsed column, or their constants without it
    ("inputs/load.py", "price"), ("inputs/staging.py", "price_aggregates"),
    # the sales fast path: `failed` joins the contract's check-code column names (or the native
    # check column) with `or`; the sku numbering reads the staged items table (a loader name)
    ("inputs/staging.py", "failed"),
    ("inputs/staging.py", "items.raw_table if staged else '(select cast(null as varchar) as sku)'"),
    # the stock-history fast path: contract-derived codes and checks, the Parquet header names bound
    # as $column_N, constant read options, internal table names, a constant query text
    ("inputs/stock_fast.py", "', '.join(codes)"), ("inputs/stock_fast.py", "failed"),
    ("inputs/stock_fast.py", "hours"), ("inputs/stock_fast.py", "items.raw_table"),
    ("inputs/stock_fast.py", "native_sql"), ("inputs/stock_fast.py", "query"),
    ("inputs/stock_fast.py", "quote_identifier(rejects)"), ("inputs/stock_fast.py", "scan"),
    # stock-out inference: a constant prefix before a SQL file
    ("inputs/stockout_inference.py", "'create or replace temp table inference_sales as ' + sql('stockout_inference_sales')"),
}
SQL_CALLS = {"execute", "executemany", "sql", "query"}


def _formatted_sql_expressions() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(PIPELINES.rglob("*.py")):
        name = path.relative_to(PIPELINES).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_CALLS and node.args):
                continue
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):
                found |= {(name, ast.unparse(v.value)) for v in first.values if isinstance(v, ast.FormattedValue)}
            elif isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute) and first.func.attr == "format":
                found |= {(name, ast.unparse(k.value)) for k in first.keywords}
                found |= {(name, ast.unparse(a)) for a in first.args}
            elif isinstance(first, (ast.BinOp, ast.Name)) and node.func.attr != "sql":
                found.add((name, ast.unparse(first)))  # "..." + value, "..." % value, prebuilt text
    return found


def test_sql_is_never_formatted_from_user_values() -> None:
    found = _formatted_sql_expressions()
    assert found, "the scan found nothing: did the SQL call style change?"
    assert found <= ALLOWED_SQL_FORMATTING, f"review and allow-list: {sorted(found - ALLOWED_SQL_FORMATTING)}"


def test_storage_formats_only_registry_identifiers() -> None:
    """storage/database.py formats `table.name` and `quoted` (column names), and storage/schema.py
    builds the DDL, only from the output-table registry, whose identifiers and types are checked
    when it is declared: a name or type that is not a plain identifier / known type is refused."""
    from safestock.pipelines.storage.tables import (
        DUCKDB_TYPES,
        OUTPUT_TABLES,
        Column,
        OutputTable,
    )

    text = (PIPELINES / "storage/database.py").read_text(encoding="utf-8")
    assert "for table in per_run_tables():" in text
    assert "columns = [name for name in table.column_names if name in frame.columns]" in text
    for table in OUTPUT_TABLES:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", table.name)
        assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", c.name) and c.type in DUCKDB_TYPES for c in table.columns)
    with pytest.raises(ValueError, match="not an identifier"):
        Column('x"; drop table runs; --', "varchar", "hostile name")
    with pytest.raises(ValueError, match="type"):
        Column("x", "varchar; drop table runs", "hostile type")
    with pytest.raises(ValueError, match="not an identifier"):
        OutputTable("Runs;", "hostile table", "row", (), (), per_run=False)
