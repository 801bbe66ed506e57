"""The accumulated sales history (issue 15.2): `sales_history` in the DuckDB file grows with each
pull; a PostgreSQL run pulls only the days after its watermark minus the look-back, late
corrections replace the old values, a source that drops its old rows still plans from the whole
history, a failed run leaves the history as it was; files feed the same history.

The window rules are checked on hand-built rows (no flow); the pulls against the real server of
tests/postgres_fixtures.py in a database of their own (`history`, a 50-SKU demo), with cheap runs
(no policy replay)."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.config import ConfigError, load_config
from safestock.pipelines.storage import history
from safestock.pipelines.storage.database import connect
from safestock.pipelines.storage.records import RunRecord

from tests.postgres_fixtures import PASSWORD, load_erp_schema, postgres_server, source_tables_config  # noqa: F401

PASSWORD_ENV = "SAFESTOCK_TEST_PG_PASSWORD"
DAY = datetime.timedelta(days=1)
AB = ["A", "B"]


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def _parquet(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    """A pull file as the loader writes it: sku, date, quantity, lines (one line per row)."""
    frame = pd.DataFrame(rows, columns=["sku", "date", "quantity"]).assign(lines=1)
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute("copy (select sku, cast(date as date) as date, quantity, lines from frame) to $path "
                    "(format parquet)", {"path": str(path)})
    return path


def _history(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select sku, cast(date as varchar) as date, quantity, source from sales_history "
                           "order by sku, date").df()


def _write(db: Path, update: history.SalesHistoryUpdate) -> None:
    with connect(db) as con:
        con.begin()
        history.write_history(con, update, datetime.datetime(2026, 3, 2, 6, 0))
        con.commit()


# --- the window rules on hand-built rows ------------------------------------------------------

def test_pull_start_is_the_day_after_watermark_minus_lookback() -> None:
    # date > 2026-03-01 − 14 days = 2026-02-15, so the first day pulled is 2026-02-16
    assert history.pull_start(_day("2026-03-01"), 14, False) == _day("2026-02-16")
    assert history.pull_start(_day("2026-03-01"), 0, False) == _day("2026-03-02")  # only new days
    assert history.pull_start(None, 14, False) is None  # empty history: full pull
    assert history.pull_start(_day("2026-03-01"), 14, True) is None  # --full-reload


def test_an_incremental_pull_replaces_its_days_and_a_file_only_the_days_it_covers(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    first = _parquet(tmp_path / "1.parquet", [("A", f"2026-02-0{d}", float(d)) for d in range(1, 10)]
                     + [("B", "2026-02-03", 7.0)])
    _write(db, history.describe_pull(first, "pg", None, open_end=True, skus=AB))
    # incremental from 02-06: A on 02-07 corrected to 70, A's 02-08 deleted at the source, A on 02-10 new
    second = _parquet(tmp_path / "2.parquet", [("A", "2026-02-06", 6.0), ("A", "2026-02-07", 70.0),
                                               ("A", "2026-02-09", 9.0), ("A", "2026-02-10", 10.0)])
    update = history.describe_pull(second, "pg", _day("2026-02-06"), open_end=True, skus=AB)
    assert (update.replace_from, update.replace_to, update.sku_days, update.source_rows) == (
        _day("2026-02-06"), None, 4, 4)
    _write(db, update)
    stored = _history(db)
    a = dict(zip(stored.loc[stored["sku"] == "A", "date"], stored.loc[stored["sku"] == "A", "quantity"]))
    assert a == {"2026-02-01": 1, "2026-02-02": 2, "2026-02-03": 3, "2026-02-04": 4, "2026-02-05": 5,
                 "2026-02-06": 6, "2026-02-07": 70, "2026-02-09": 9, "2026-02-10": 10}
    assert stored.loc[stored["sku"] == "B", "quantity"].tolist() == [7.0]  # before the window: kept
    # a file of items A and C covering 02-02..02-04 replaces exactly A's days there (A's 02-03 is not
    # in it: gone); B is not one of its items: B's 02-03 stays
    file_rows = _parquet(tmp_path / "3.parquet", [("A", "2026-02-02", 20.0), ("A", "2026-02-04", 40.0)])
    update = history.describe_pull(file_rows, "/in", None, open_end=False, skus=["A", "C"])
    assert (update.replace_from, update.replace_to) == (_day("2026-02-02"), _day("2026-02-04"))
    _write(db, update)
    stored = _history(db)
    assert stored[stored["date"].between("2026-02-01", "2026-02-05")][["sku", "date", "quantity", "source"]] \
        .values.tolist() == [["A", "2026-02-01", 1.0, "pg"], ["A", "2026-02-02", 20.0, "/in"],
                             ["A", "2026-02-04", 40.0, "/in"], ["A", "2026-02-05", 5.0, "pg"],
                             ["B", "2026-02-03", 7.0, "pg"]]
    assert not stored.duplicated(["sku", "date"]).any()
    # an empty full pull replaces nothing
    empty = _parquet(tmp_path / "4.parquet", [])
    _write(db, history.describe_pull(empty, "pg", None, open_end=True, skus=AB))
    assert _history(db).equals(stored)


def test_weekly_sales_merge_the_stored_days_outside_the_window_with_the_pull(tmp_path: Path) -> None:
    """Weeks (Monday) from history + pull, complete weeks up to as_of, negative weeks clipped."""
    db = tmp_path / "h.duckdb"
    # Mon 2026-02-02 .. Sun 2026-02-08 and the next week
    _write(db, history.describe_pull(_parquet(tmp_path / "1.parquet", [
        ("A", "2026-02-02", 3.0), ("A", "2026-02-06", 4.0), ("A", "2026-02-10", 5.0), ("A", "2026-02-13", 1.0),
        ("B", "2026-02-03", -2.0), ("Z", "2026-02-03", 4.0)]), "pg", None, open_end=True, skus=["A", "B", "Z"]))
    pull = history.describe_pull(_parquet(tmp_path / "2.parquet", [
        ("A", "2026-02-13", 6.0), ("A", "2026-02-16", 9.0), ("Z", "2026-02-12", 1.0)]), "pg", _day("2026-02-11"),
        open_end=True, skus=AB + ["Z"])
    weekly = history.weekly_sales(db, pull, pd.Timestamp("2026-02-16"))
    # week of 02-02: 3 + 4 = 7 (stored); week of 02-09: stored 5 (02-10, before the window) + pulled 6
    # (02-13 corrected from 1); week of 02-16 is incomplete on as_of 02-16; B's −2 clipped to 0
    assert weekly.assign(week=weekly["week"].dt.strftime("%Y-%m-%d")).values.tolist() == [
        ["A", "2026-02-02", 7.0], ["A", "2026-02-09", 11.0], ["B", "2026-02-02", 0.0], ["Z", "2026-02-02", 4.0],
        ["Z", "2026-02-09", 1.0]]


def test_lookback_days_and_full_reload_are_checked_when_the_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[source]\nlookback_days = 28\nfull_reload = true\n")
    assert (load_config(path).source.lookback_days, load_config(path).source.full_reload) == (28, True)
    assert load_config(None).source.lookback_days == 14
    for bad, message in (("lookback_days = -1", "lookback_days must be a whole number of days >= 0"),
                         ("full_reload = 1", "full_reload must be true or false")):
        path.write_text(f"[source]\n{bad}\n")
        with pytest.raises(ConfigError, match=message):
            load_config(path)


def test_a_file_run_feeds_the_history_with_its_daily_sales(demo_database: Path, demo_input: Path) -> None:
    """The demo run from files (conftest) stored the CSV's sales summed per sku and day."""
    stored = _history(demo_database)
    with duckdb.connect() as con:
        expected = con.execute("select sku, cast(cast(date as date) as varchar) as date, sum(quantity) as quantity "
                               "from read_csv($path, all_varchar = true, columns = {'date': 'varchar', "
                               "'sku': 'varchar', 'quantity': 'double'}) group by all order by sku, date",
                               {"path": str(demo_input / "sales.csv")}).df()
    pd.testing.assert_frame_equal(stored[["sku", "date", "quantity"]], expected, check_dtype=False)
    assert set(stored["source"]) == {str(demo_input)}


# --- pulls from a real PostgreSQL server ------------------------------------------------------

@pytest.fixture(scope="module")
def history_source(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The 50-SKU demo in database `history` as ERP tables; the last 7 sales days held back in
    erp.held_back (run 1 plans a week earlier)."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    folder = tmp_path_factory.mktemp("history_demo")
    write_demo_data(generate_demo_data(50, seed=3), folder)
    user, rest = postgres_server.split("@", 1)
    with postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}", autocommit=True) as connection, \
            connection.cursor() as cursor:
        cursor.execute("drop database if exists history")
        cursor.execute("create database history")
    uri = postgres_server.replace("@/postgres?", "@/history?")
    load_erp_schema(uri, folder)
    with _pg(uri) as cursor:
        cursor.execute("select max(order_date) from erp.order_lines")
        last = cursor.fetchone()[0]
        cutoff = last - 7 * DAY
        cursor.execute(f"create table erp.held_back as select * from erp.order_lines where order_date > '{cutoff}'")
        cursor.execute(f"delete from erp.order_lines where order_date > '{cutoff}'")
        cursor.execute("create index on erp.order_lines (order_date)")
    return {"uri": uri, "last": last, "cutoff": cutoff, "folder": folder}


class _pg:
    """A cursor on the test database, committed on exit."""

    def __init__(self, uri: str) -> None:
        import adbc_driver_postgresql.dbapi as postgres_dbapi

        user, rest = uri.split("@", 1)
        self.connection = postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}")

    def __enter__(self):
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *exc) -> None:
        self.cursor.close()
        if exc[0] is None:
            self.connection.commit()
        self.connection.close()


def _source_daily(uri: str, since: datetime.date | None = None) -> pd.DataFrame:
    """The source's sales summed per item and day (as the history should hold them)."""
    with _pg(uri) as cursor:
        cursor.execute("select item_code as sku, order_date::text as date, sum(qty)::float8 as quantity, "
                       "count(*) as lines from erp.order_lines "
                       + ("where order_date >= cast($1 as date) " if since else "") + "group by 1, 2 order by 1, 2",
                       (since.isoformat(),) if since else None)
        return cursor.fetch_arrow_table().to_pandas()


def _config(folder: Path) -> Path:
    tables = source_tables_config()
    lines = ["policy_backtest_weeks = 0", "[source]", f'password_env = "{PASSWORD_ENV}"', "lookback_days = 14"]
    for table, entry in tables.items():
        lines.append(f"[source.tables.{table}]")
        lines.append(f'table = "{entry["table"]}"')
        if "key" in entry:
            lines.append("key = [" + ", ".join(f'"{k}"' for k in entry["key"]) + "]")
        lines.append("columns = { " + ", ".join(f'{c} = "{s}"' for c, s in entry["columns"].items()) + " }")
    path = folder / "safestock.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _per_run(db: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute(f"select * exclude (run_id) from {table}").df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_runs_pull_incrementally_replace_late_corrections_and_keep_history_the_source_dropped(
        history_source: dict, prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safestock.pipelines.flow import weekly_run
    from safestock.pipelines.storage import database

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    uri, cutoff, last = history_source["uri"], history_source["cutoff"], history_source["last"]
    db, config = tmp_path / "safestock.duckdb", _config(tmp_path)

    def run(as_of: datetime.date, **options):
        return weekly_run(input_dir=None, db_path=db, reports_dir=tmp_path / "reports", as_of=as_of,
                          config_path=config, source=uri, **options)

    # run 1: empty history, full pull of weeks 1..N
    first = run(cutoff)
    source = _source_daily(uri)
    assert first.pulled_from is None and first.rows_pulled == source["lines"].sum()
    stored = _history(db)
    pd.testing.assert_frame_equal(stored[["sku", "date", "quantity"]], source[["sku", "date", "quantity"]])
    assert set(stored["source"]) == {uri}
    watermark = _day(stored["date"].max())

    # a new week arrives; a line within the look-back is corrected; a line older than it changes too
    corrected_day, old_day = watermark - 3 * DAY, watermark - 30 * DAY
    with _pg(uri) as cursor:
        cursor.execute("insert into erp.order_lines select * from erp.held_back")
        cursor.execute(f"select item_code from erp.order_lines where order_date = '{corrected_day}' limit 1")
        sku = cursor.fetchone()[0]
        cursor.execute(f"update erp.order_lines set qty = qty + 5 where line_id = (select min(line_id) from "
                       f"erp.order_lines where item_code = '{sku}' and order_date = '{corrected_day}')")
        cursor.execute(f"update erp.order_lines set qty = qty + 1000 where order_date = '{old_day}'")
    before = stored.set_index(["sku", "date"])["quantity"]

    # run 2: pulls only the days after watermark − 14 days
    second = run(last)
    pulled_from = watermark - 13 * DAY
    window = _source_daily(uri, pulled_from)
    assert second.pulled_from == pulled_from and second.rows_pulled == window["lines"].sum()
    assert second.rows_pulled < first.rows_pulled / 10
    stored = _history(db)
    assert not stored.duplicated(["sku", "date"]).any()
    expected = pd.concat([source[source["date"] < str(pulled_from)], window])[["sku", "date", "quantity"]]
    pd.testing.assert_frame_equal(stored[["sku", "date", "quantity"]],
                                  expected.sort_values(["sku", "date"]).reset_index(drop=True))
    after = stored.set_index(["sku", "date"])["quantity"]
    assert after[(sku, str(corrected_day))] == before[(sku, str(corrected_day))] + 5  # the correction replaced
    old = after.xs(str(old_day), level="date")
    assert (old == before.xs(str(old_day), level="date")).all()  # older than the look-back: not re-read
    assert _day(stored["date"].max()) == last
    with duckdb.connect(str(db), read_only=True) as con:  # the notes speak of the history, not the 21 days
        notes = [row[0] for row in con.execute("select message from data_quality").fetchall()]
        with_sales = con.execute("select count(distinct sku) from sales_history").fetchone()[0]
    assert any(f"incremental pull of the sales dated from {pulled_from} on" in note for note in notes), notes
    without = [note for note in notes if "without sales in the history" in note]
    assert without == ([f"{50 - with_sales} item(s) without sales in the history"] if with_sales < 50 else []), notes
    planned = {name: _per_run(db, name) for name in ("forecasts", "inventory_policy", "purchase_recommendations")}

    # the source keeps only its last 60 days; a full reload re-reads them and the history keeps the rest
    # (the change older than the look-back is undone first: a full reload would read it)
    with _pg(uri) as cursor:
        cursor.execute(f"update erp.order_lines set qty = qty - 1000 where order_date = '{old_day}'")
        cursor.execute(f"delete from erp.order_lines where order_date < '{last - 60 * DAY}'")
    third = run(last, full_reload=True)
    assert third.pulled_from is None and third.rows_pulled == _source_daily(uri)["lines"].sum()
    pd.testing.assert_frame_equal(_history(db), stored)  # nothing older than the source's 60 days lost
    for name, frame in planned.items():  # planned from the whole history, as before the deletion
        pd.testing.assert_frame_equal(_per_run(db, name), frame, obj=name)

    # a run failing in the middle of its write (after the history's rows) leaves the history unchanged
    with _pg(uri) as cursor:
        cursor.execute(f"update erp.order_lines set qty = qty + 1 where order_date = '{last}'")
    real_write = database.write_history

    def write_then_fail(*args, **kwargs) -> None:
        real_write(*args, **kwargs)
        raise RuntimeError("disk full (simulated) after the history rows")

    monkeypatch.setattr(database, "write_history", write_then_fail)
    with pytest.raises(RuntimeError, match="simulated"):
        run(last)
    pd.testing.assert_frame_equal(_history(db), stored)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select status from runs order by started_at desc limit 1").fetchone()[0] == "failed"


def test_run_full_reload_flag_reaches_the_flow_and_the_rows_read_are_printed(
        history_source: dict, prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safestock.pipelines import flow
    from safestock.pipelines.cli import app
    from safestock.pipelines.storage import RunSummary
    from typer.testing import CliRunner

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    calls: list[dict] = []

    def fake_flow(**options) -> RunSummary:
        calls.append(options)
        return RunSummary(run_id="r", as_of=datetime.date(2026, 3, 2), db_path=tmp_path / "db", reports={}, skus=50,
                          skus_at_risk=0, order_lines=0, order_value=0.0, rows_pulled=41_962,
                          pulled_from=None if options["full_reload"] else datetime.date(2026, 2, 16))

    monkeypatch.setattr(flow, "configured_flow", lambda workers=None, dask_address=None: fake_flow)
    base = ["run", "--source", history_source["uri"], "--db", str(tmp_path / "db"), "--reports",
            str(tmp_path / "reports"), "--config", str(_config(tmp_path))]
    result = CliRunner().invoke(app, base + ["--full-reload"])
    assert result.exit_code == 0, result.output
    assert calls[-1]["full_reload"] is True and "sales rows read:   41,962 (all) into sales_history" in result.output
    result = CliRunner().invoke(app, base)
    assert calls[-1]["full_reload"] is False
    assert "sales rows read:   41,962 (dated from 2026-02-16 on) into sales_history" in result.output


@pytest.mark.parametrize("date_sql", ["order_date", "order_date::text", "order_date + interval '10 hours'"])
def test_an_incremental_pull_reads_the_days_from_its_first_day_on_for_date_text_and_timestamp_columns(
        history_source: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, date_sql: str) -> None:
    """The pull's filter on a date column (native), an ISO text column (compared as text) and a
    timestamp column (a sale at 10:00 on the first day is in, one at 10:00 the day before is out)."""
    from safestock.pipelines.config import SourceConfig
    from safestock.pipelines.inputs.postgres import pull_tables

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    tables = source_tables_config()
    del tables["sales"]["table"]
    tables["sales"]["query"] = f"select line_id, item_code, {date_sql} as order_date, qty from erp.order_lines"
    first = history_source["cutoff"] - 20 * DAY
    pull_tables(history_source["uri"], SourceConfig(password_env=PASSWORD_ENV, tables=tables), tmp_path / "pulled.duckdb",
                first)
    with duckdb.connect(str(tmp_path / "pulled.duckdb"), read_only=True) as con:
        pulled = con.execute("select count(*), min(cast(cast(date as timestamp) as date)) from sales").fetchone()
    with _pg(history_source["uri"]) as cursor:
        cursor.execute("select count(*), min(order_date) from erp.order_lines where order_date >= cast($1 as date)",
                       (first.isoformat(),))
        expected = cursor.fetchone()
    assert pulled == expected and expected[0] > 0 and expected[1] == first
