"""The PostgreSQL source (issue 15) against a real server: the demo data in an ERP-like schema
gives the same results as the same data as files; bad rows are named by source table and key;
an unreachable server, wrong credentials or a missing table/column exit 2 with one line and write
nothing; the password appears nowhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.config import SourceConfig
from safestock.pipelines.storage.tables import per_run_tables
from typer.testing import CliRunner

from tests.postgres_fixtures import PASSWORD, load_erp_schema, postgres_server, source_tables_config  # noqa: F401

runner = CliRunner()
PASSWORD_ENV = "SAFESTOCK_TEST_PG_PASSWORD"
#: Columns of data_quality that name where a note comes from (a file and line, or a source table).
WHERE_COLUMNS = ("file", "line", "message")


@pytest.fixture(scope="module")
def erp_uri(postgres_server: str, demo_input: Path, monkeypatch_module: pytest.MonkeyPatch) -> str:
    load_erp_schema(postgres_server, demo_input)
    monkeypatch_module.setenv(PASSWORD_ENV, PASSWORD)
    return postgres_server


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _config_file(folder: Path, tables: dict | None = None, uri: str | None = None) -> Path:
    """A TOML config with the ERP mapping as a user writes it."""
    lines = ["[source]", f'password_env = "{PASSWORD_ENV}"'] + ([f'uri = "{uri}"'] if uri else [])
    for table, entry in (tables or source_tables_config()).items():
        lines.append(f"[source.tables.{table}]")
        for key in ("table", "query"):
            if key in entry:
                lines.append(f'{key} = "{entry[key]}"')
        if "key" in entry:
            lines.append("key = [" + ", ".join(f'"{k}"' for k in entry["key"]) + "]")
        lines.append("columns = { " + ", ".join(f'{c} = "{s}"' for c, s in entry.get("columns", {}).items()) + " }")
    path = folder / "safestock.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _source(tables: dict | None = None) -> SourceConfig:
    return SourceConfig(password_env=PASSWORD_ENV, tables=tables or source_tables_config())


def _table(db: Path, name: str) -> pd.DataFrame:
    """A per-run output table, run_id (and for data_quality where a note comes from) left out, sorted."""
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute(f"select * exclude (run_id) from {name}").df()
    if name == "data_quality":
        frame = frame.drop(columns=[c for c in WHERE_COLUMNS if c in frame.columns])
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_flow_from_postgres_writes_the_tables_of_a_run_from_the_same_files(
        erp_uri: str, demo_database: Path, tmp_path: Path) -> None:
    from safestock.pipelines.flow import weekly_run

    db = tmp_path / "safestock.duckdb"
    weekly_run(input_dir=None, db_path=db, reports_dir=tmp_path / "reports",
               config_path=_config_file(tmp_path), source=erp_uri)
    for name in (table.name for table in per_run_tables()):
        pd.testing.assert_frame_equal(_table(db, name), _table(demo_database, name), obj=name)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = " ".join(str(value) for row in con.execute("select * from runs").fetchall() for value in row)
    assert erp_uri in stored and "erp.order_lines" in stored  # the source and its mapping are recorded
    written = [path.read_bytes() for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    assert written and not any(PASSWORD.encode() in content for content in written + [db.read_bytes()])
    assert PASSWORD not in stored


def test_bad_rows_are_named_by_source_table_and_row_key(erp_uri: str) -> None:
    import adbc_driver_postgresql.dbapi as postgres_dbapi
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.postgres import load_postgres_inputs

    user, rest = erp_uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        cursor.execute("create or replace view erp.item_master_bad as select * replace_me from erp.item_master"
                       .replace("* replace_me", "item_code, vendor_no, std_cost, min_qty, item_name, "
                                "service_level, item_status, product_group, "
                                "case when item_code = 'SKU-000003' then 0 "
                                "else pack_qty end as pack_qty"))
        cursor.execute("create or replace view erp.order_lines_bad as select line_id, order_date, "
                       "case when line_id = 77 then 'SKU-999999' else item_code end as item_code, qty "
                       "from erp.order_lines")
        connection.commit()
    tables = source_tables_config()
    tables["items"]["table"] = "erp.item_master_bad"
    tables["sales"]["table"] = "erp.order_lines_bad"
    with pytest.raises(InputValidationError) as raised:
        load_postgres_inputs(erp_uri, _source(tables))
    shown = [str(issue) for issue in raised.value.issues]
    assert any(text.startswith("erp.item_master_bad, item_code=SKU-000003, column 'pack_size': ") for text in shown), shown
    assert any(text.startswith("erp.order_lines_bad, line_id=77, column 'sku': unknown sku 'SKU-999999' "
                               "(not in erp.item_master_bad") for text in shown), shown
    assert not any(".parquet" in text or " row " in text for text in shown), shown


@pytest.mark.parametrize("case", ["unreachable", "wrong password", "missing table", "missing column"])
def test_unusable_source_exits_2_with_one_line_and_writes_nothing(
        erp_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    from safestock.pipelines.cli import app

    uri, tables, expected = erp_uri, source_tables_config(), ""
    if case == "unreachable":
        uri, expected = erp_uri.replace("port=54329", "port=54331"), "cannot connect to"
    elif case == "wrong password":
        monkeypatch.setenv(PASSWORD_ENV, "not-" + PASSWORD)
        expected = "password authentication failed"
    elif case == "missing table":
        tables["suppliers"]["table"], expected = "erp.vendor_master", "erp.vendor_master (input table suppliers): cannot be read"
    else:
        tables["sales"]["columns"]["quantity"] = "quantity_sold"
        expected = "erp.order_lines (input table sales): column 'quantity_sold' for sales.quantity does not exist"
    db = tmp_path / "safestock.duckdb"
    result = runner.invoke(app, ["run", "--source", uri, "--db", str(db), "--reports", str(tmp_path / "reports"),
                                 "--config", str(_config_file(tmp_path, tables))])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Source rejected: ") and expected in lines[0], result.output
    assert PASSWORD not in result.output
    assert not db.exists() and not (tmp_path / "reports").exists()


def test_a_password_in_the_uri_is_refused_without_showing_it(tmp_path: Path) -> None:
    from safestock.pipelines.cli import app

    result = runner.invoke(app, ["run", "--source", f"postgresql://app:{PASSWORD}@localhost/erp",
                                 "--db", str(tmp_path / "s.duckdb"), "--reports", str(tmp_path / "r")])
    assert result.exit_code == 2 and "must not hold a password" in result.output
    assert PASSWORD not in result.output and not (tmp_path / "s.duckdb").exists()


@pytest.mark.parametrize(("toml", "expected"), [
    ('[source]\nuri = "postgresql://app:hunter22@db/erp"', "[source]: the source URI must not hold a password"),
    ('[source.tables.orders]\ntable = "erp.orders"', "[source] tables.orders: unknown table; the input tables are"),
    ('[source.tables.sales]\ntable = "a"\nquery = "select 1"', "tables.sales: give either table or query, not both"),
    ('[source.tables.sales]\ncolumns = { qty = "quantity" }', "tables.sales.columns: unknown contract column(s) ['qty']"),
    ('[source.tables.overrides]\ncolumns = { amount = "x" }', "tables.overrides.columns: unknown contract column(s) "
                                                              "['amount']; overrides has end, key, kind, note, scope"),
])
def test_source_section_is_checked_when_the_config_loads(tmp_path: Path, toml: str, expected: str) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    path = tmp_path / "safestock.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert expected in str(raised.value) and "hunter22" not in str(raised.value)


def test_serve_deployment_reads_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safestock.pipelines.cli import deployment_options
    from safestock.pipelines.flow import weekly_run

    monkeypatch.chdir(tmp_path)
    uri = "postgresql://planner@erp-db:5432/erp"
    options = deployment_options(None, Path("s.duckdb"), Path("reports"), "0 6 * * 1", "UTC",
                                 Path("safestock.toml"), uri)
    deployment = weekly_run.to_deployment(name="safestock-weekly", **options)
    assert deployment.parameters["source"] == uri and deployment.parameters["input_dir"] is None
    assert deployment.parameters["config_path"] == str(tmp_path / "safestock.toml")


def test_serve_with_an_unreachable_source_exits_2_before_serving(tmp_path: Path) -> None:
    from safestock.pipelines.cli import app

    result = runner.invoke(app, ["serve", "--source", f"postgresql://app@/erp?host={tmp_path}&port=1",
                                 "--db", str(tmp_path / "s.duckdb"), "--reports", str(tmp_path / "r")])
    assert result.exit_code == 2 and result.output.startswith("Source rejected: cannot connect to"), result.output


def test_driver_messages_are_one_line_with_the_password_masked() -> None:
    from safestock.pipelines.inputs.postgres import _mask

    message = "connection to\n  postgresql://app:p%40ss%2Fw0rd@db/erp failed; password p@ss/w0rd rejected"
    assert _mask(message, "p@ss/w0rd") == "connection to postgresql://app:***@db/erp failed; password *** rejected"


def test_a_connection_lost_mid_pull_is_retried_and_ingested_once(
        erp_uri: str, demo_input: Path, prefect_harness: None) -> None:
    """The sales query's backend is terminated on its first run (a sequence counts the runs, as
    it survives the lost transaction): the flow's pull task retries the whole pull, and the result
    is the data once (it equals the files)."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi
    from safestock.pipelines.config import PipelineConfig
    from safestock.pipelines.flow import pull_task
    from safestock.pipelines.inputs import load_inputs

    user, rest = erp_uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        cursor.execute("drop sequence if exists erp.pull_attempts")
        cursor.execute("create sequence erp.pull_attempts")
        cursor.execute("create or replace function erp.lose_connection_once() returns boolean language plpgsql "
                       "as $$ begin if nextval('erp.pull_attempts') = 1 then "
                       "perform pg_terminate_backend(pg_backend_pid()); end if; return true; end $$")
        connection.commit()
    tables = source_tables_config()
    del tables["sales"]["table"]
    tables["sales"]["query"] = "select * from erp.order_lines where erp.lose_connection_once()"
    inputs = pull_task(erp_uri, None, PipelineConfig(source=_source(tables)))
    pd.testing.assert_frame_equal(inputs.sales_weekly, load_inputs(demo_input).sales_weekly)
    with postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        cursor.execute("select last_value from erp.pull_attempts")
        assert cursor.fetchone()[0] > 1  # the first pull was cut off, a later one read everything


def _planner_overrides(erp_uri: str, extra_rows: str = "") -> None:
    """erp.planner_overrides: the planner's overrides as an ERP table (value as text: a number, or
    the like SKU's code), plus ``extra_rows`` (SQL VALUES rows)."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    user, rest = erp_uri.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}") as connection, connection.cursor() as cursor:
        cursor.execute("drop table if exists erp.planner_overrides")
        cursor.execute("create table erp.planner_overrides (id integer, level text, code text, what text, "
                       "amount text, valid_from date, valid_to date, remark text)")
        cursor.execute("insert into erp.planner_overrides values "
                       "(1, 'sku', 'SKU-000001', 'forecast_multiplier', '1.5', '2026-12-07', null, 'tender'), "
                       "(2, 'category', 'electrical', 'min_stock', '10', null, null, null), "
                       "(3, 'sku', 'SKU-000009', 'like_item', 'SKU-000001', null, '2027-03-31', 'successor')"
                       + extra_rows)
        connection.commit()


OVERRIDES_SOURCE = {"table": "erp.planner_overrides", "key": ["id"],
                    "columns": {"scope": "level", "key": "code", "kind": "what", "value": "amount",
                                "start": "valid_from", "end": "valid_to", "note": "remark"}}


def test_overrides_are_read_from_the_source_and_named_by_row_key(erp_uri: str) -> None:
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.postgres import SourceUnavailableError
    from safestock.pipelines.inputs.postgres_overrides import pull_overrides

    assert pull_overrides(erp_uri, _source()) is None   # not configured: no overrides
    _planner_overrides(erp_uri)
    tables = source_tables_config() | {"overrides": OVERRIDES_SOURCE}
    overrides = pull_overrides(erp_uri, _source(tables))
    assert overrides[["scope", "key", "kind"]].values.tolist() == [
        ["sku", "SKU-000001", "forecast_multiplier"], ["category", "electrical", "min_stock"],
        ["sku", "SKU-000009", "like_item"]]
    assert overrides["value"].tolist()[:2] == [1.5, 10.0] and overrides["text_value"].iloc[2] == "SKU-000001"
    assert overrides["start"].iloc[0] == pd.Timestamp("2026-12-07") and overrides["end"].iloc[2] == pd.Timestamp(
        "2027-03-31")
    assert overrides["line"].tolist() == [2, 3, 4] and overrides["note"].tolist() == ["tender", "", "successor"]

    _planner_overrides(erp_uri, ", (7, 'sku', 'SKU-000002', 'forecast_multiplier', '-2', null, null, null), "
                                "(8, 'shelf', 'SKU-000002', 'forecast_add', '1', null, null, null)")
    with pytest.raises(InputValidationError) as raised:
        pull_overrides(erp_uri, _source(tables))
    shown = [str(issue) for issue in raised.value.issues]
    assert "erp.planner_overrides, id=7, column 'value': -2 is below 0" in shown, shown
    assert any(text.startswith("erp.planner_overrides, id=8, column 'scope': 'shelf' is not a scope")
               for text in shown), shown

    missing = source_tables_config() | {"overrides": OVERRIDES_SOURCE | {"columns": {"scope": "tier"}}}
    with pytest.raises(SourceUnavailableError, match="column 'tier' for overrides.scope does not exist"):
        pull_overrides(erp_uri, _source(missing))


def test_a_source_run_applies_the_sources_overrides(erp_uri: str, prefect_harness: None, tmp_path: Path) -> None:
    import duckdb
    from safestock.pipelines.flow import weekly_run

    _planner_overrides(erp_uri)
    tables = source_tables_config() | {"overrides": OVERRIDES_SOURCE}
    config = _config_file(tmp_path, tables)
    config.write_text("policy_backtest_weeks = 0\n" + config.read_text())   # top-level keys before [source]
    run = weekly_run(input_dir=None, db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r", config_path=config,
                     source=erp_uri)
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        applied = con.execute("select line, sku, kind, scope, key from overrides_applied where run_id = ? "
                              "order by line, sku", [run.run_id]).df()
        electrical = con.execute("select sku from items_snapshot where run_id = ? and category = 'electrical'",
                                 [run.run_id]).df()["sku"]
    assert applied[applied["line"] == 2]["sku"].tolist() == ["SKU-000001"]
    assert set(applied[applied["line"] == 3]["sku"]) == set(electrical) and len(electrical) > 0
    assert applied[applied["line"] == 4][["sku", "kind"]].values.tolist() == [["SKU-000009", "like_item"]]
