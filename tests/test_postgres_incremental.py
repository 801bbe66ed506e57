"""The PostgreSQL source at scale (issue 15, items 1 and 5) against the real server of
tests/postgres_fixtures.py: the pull streams record batches into DuckDB (same rows, same
messages), and the tables with an `updated_column` are read incrementally into snapshots kept in
DuckDB, whose result equals a whole read; a bad changed row is named by table and key and nothing
is written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines.config import SourceConfig

from tests.postgres_fixtures import PASSWORD, load_erp_schema, postgres_server, source_tables_config  # noqa: F401

PASSWORD_ENV = "SAFESTOCK_TEST_PG_PASSWORD"
#: The tracked copies of the ERP tables: input table -> (table, key columns).
TRACKED = {"suppliers": ("erp_tracked.vendors", ["vendor_no"]),
           "items": ("erp_tracked.item_master", ["item_code"]),
           "inventory": ("erp_tracked.stock_levels", ["item_code"]),
           "purchase_orders": ("erp_tracked.po_lines", ["po_number", "item_code"])}
#: The contract keys the frames are compared by.
FRAME_KEYS = {"suppliers": ["supplier_id"], "items": ["sku"], "inventory": ["sku"],
              "purchase_orders": ["po_id", "sku"]}


@pytest.fixture(scope="module")
def erp_uri(postgres_server: str, demo_input: Path) -> str:
    """The demo in the ERP schema, plus copies of the slowly changing tables in `erp_tracked` with
    an `updated_at` one hour apart per row (so a look-back of a day re-reads only ~24 rows)."""
    load_erp_schema(postgres_server, demo_input)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_ENV, PASSWORD)
        with _cursor(postgres_server) as cursor:
            cursor.execute("drop schema if exists erp_tracked cascade")
            cursor.execute("create schema erp_tracked")
            for table, _ in TRACKED.values():
                cursor.execute(f"create table {table} as select *, timestamptz '2025-01-01 00:00+00' "
                               f"+ row_number() over () * interval '1 hour' as updated_at "
                               f"from erp.{table.split('.')[1]}")
            cursor.connection.commit()
        yield postgres_server


class _cursor:
    """A committed-by-hand ADBC cursor on the test server."""

    def __init__(self, uri: str) -> None:
        import adbc_driver_postgresql.dbapi as postgres_dbapi

        user, rest = uri.split("@", 1)
        self.connection = postgres_dbapi.connect(f"{user}:{PASSWORD}@{rest}")

    def __enter__(self):
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *exc) -> None:
        self.cursor.close()
        self.connection.close()


def _execute(uri: str, *statements: str) -> None:
    with _cursor(uri) as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.connection.commit()


def _source(tracked: bool = True, **options) -> SourceConfig:
    tables = source_tables_config()
    if tracked:
        for table, (name, key) in TRACKED.items():
            tables[table] |= {"table": name, "key": key, "updated_column": "updated_at"}
    return SourceConfig(password_env=PASSWORD_ENV, tables=tables, **options)


def _frames(inputs) -> dict[str, pd.DataFrame]:
    frames = {table: getattr(inputs, table).sort_values(key).reset_index(drop=True)
              for table, key in FRAME_KEYS.items()}
    frames["sales_weekly"] = inputs.sales_weekly
    return frames


def _assert_same_inputs(incremental, full) -> None:
    for table, frame in _frames(full).items():
        pd.testing.assert_frame_equal(_frames(incremental)[table], frame, obj=table)


def _state(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select input_table, watermark, runs_since_full, snapshot_rows "
                           "from source_snapshot_state order by input_table").fetchall()


def test_streamed_pull_holds_every_source_row_numbered_with_its_key(erp_uri: str, tmp_path: Path) -> None:
    """The record batches land in DuckDB as the source has them: every row once, `__line` 2..n+1
    in pull order, the key columns beside (the sales' `line_id`)."""
    from safestock.pipelines.inputs.postgres import pull_tables

    pulled = pull_tables(erp_uri, _source(tracked=False), tmp_path / "pulled.duckdb")
    with _cursor(erp_uri) as cursor:
        cursor.execute("select count(*), sum(line_id)::bigint, sum(qty)::float8 from erp.order_lines")
        count, line_ids, quantity = cursor.fetchone()
    with duckdb.connect(str(tmp_path / "pulled.duckdb"), read_only=True) as con:
        rows, keys, total, first, last, distinct = con.execute(
            'select count(*), sum("__row_key_0"), sum(cast(quantity as decimal(18, 3))), min("__line"), '
            'max("__line"), count(distinct "__line") from sales').fetchone()
    assert pulled["sales"].rows == rows == count and keys == line_ids and float(total) == float(quantity)
    assert (first, last, distinct) == (2, count + 1, count)


def test_incremental_reads_equal_a_whole_read_after_changes(erp_uri: str, tmp_path: Path) -> None:
    """Three pulls into one DuckDB file: a first whole read, then two incremental ones after rows
    were changed and added at the source. Each incremental read pulls only the changed rows (plus a
    day of look-back), and its inputs equal those of a whole read of the same source; a row deleted
    at the source stays until the whole read of `--full-reload`."""
    from safestock.pipelines.inputs.postgres import load_postgres_inputs, pull_tables
    from safestock.pipelines.storage.source_snapshots import plan_snapshots

    db = tmp_path / "safestock.duckdb"
    source = _source(lookback_days=1)

    def pull(full_reload: bool = False):
        plan = plan_snapshots(db, erp_uri, source, full_reload=full_reload)
        return plan, load_postgres_inputs(erp_uri, source, snapshots=plan)

    # a line received before its order date (a plausibility note), never changed again: a kept line
    early = ("(select po_number from erp_tracked.po_lines where item_code = 'SKU-000008' and received_on is not null "
             "order by po_number limit 1)")
    _execute(erp_uri, "create table erp_tracked.po_lines_before as select * from erp_tracked.po_lines",
             f"update erp_tracked.po_lines set received_on = ordered_on - 3 where item_code = 'SKU-000008' "
             f"and po_number = {early}")
    try:
        _pulls_equal_whole_reads(erp_uri, tmp_path, db, source, pull)
    finally:
        _execute(erp_uri, "delete from erp_tracked.po_lines",
                 "insert into erp_tracked.po_lines select * from erp_tracked.po_lines_before",
                 "drop table erp_tracked.po_lines_before")


def _pulls_equal_whole_reads(erp_uri: str, tmp_path: Path, db: Path, source: SourceConfig, pull) -> None:
    from safestock.pipelines.inputs.postgres import load_postgres_inputs, pull_tables

    plan, first = pull()
    assert plan.incremental == {}  # nothing stored yet: every table read whole
    _assert_same_inputs(first, load_postgres_inputs(erp_uri, source))
    assert [row[2] for row in _state(db)] == [0, 0, 0, 0]

    _execute(erp_uri,
             "update erp_tracked.item_master set pack_qty = pack_qty + 1, updated_at = now() "
             "where item_code in ('SKU-000001', 'SKU-000002')",
             "insert into erp_tracked.item_master select 'SKU-NEW-1', vendor_no, std_cost, pack_qty, min_qty, "
             "'new item', service_level, item_status, product_group, now() from erp_tracked.item_master "
             "where item_code = 'SKU-000003'",
             "insert into erp_tracked.stock_levels select 'SKU-NEW-1', 5, snapshot_date, 0, now() "
             "from erp_tracked.stock_levels where item_code = 'SKU-000003'",
             "update erp_tracked.stock_levels set qty_on_hand = qty_on_hand + 7, updated_at = now() "
             "where item_code = 'SKU-000004'",
             "update erp_tracked.po_lines set po_status = 'closed', qty_received = qty_ordered, "
             "received_on = ordered_on + 10, updated_at = now() where po_status = 'open' "
             "and item_code = 'SKU-000005'")
    plan, second = pull()
    assert set(plan.incremental) == set(TRACKED)
    changed = pull_tables(erp_uri, source, tmp_path / "changed.duckdb", incremental=plan.incremental)
    assert 0 < changed["items"].rows < 60 and changed["purchase_orders"].rows < 60  # not the whole tables
    assert changed["items"].rows < len(second.items)
    # the purchase-order lines: only the pulled ones were checked; the kept ones came typed from the snapshot
    kept = plan.typed_kept["purchase_orders"]
    assert 0 < changed["purchase_orders"].rows and len(kept) + changed["purchase_orders"].rows == len(second.purchase_orders)
    whole_second = load_postgres_inputs(erp_uri, source)
    _assert_same_inputs(second, whole_second)
    # the notes over the whole PO table (plausibility: counted over kept and pulled lines) are the
    # whole read's, each naming its first line by key, a kept line's too
    po_notes = [note.message for note in second.notes if note.file == "erp_tracked.po_lines"]
    assert po_notes and all(" (first at po_number=" in message for message in po_notes), po_notes
    assert ([message.split(" (first at ")[0] for message in po_notes]
            == [note.message.split(" (first at ")[0] for note in whole_second.notes if note.file == "erp_tracked.po_lines"])
    assert second.items.set_index("sku").loc["SKU-NEW-1", "description"] == "new item"
    assert second.inventory.set_index("sku").loc["SKU-NEW-1", "on_hand"] == 5

    _execute(erp_uri,
             "update erp_tracked.item_master set std_cost = std_cost * 2, updated_at = now() "
             "where item_code = 'SKU-NEW-1'",
             "insert into erp_tracked.po_lines select po_number || '-B', item_code, vendor_no, qty_ordered, "
             "ordered_on, due_on, null, null, 'open', now() from erp_tracked.po_lines where item_code = 'SKU-000006'",
             "delete from erp_tracked.po_lines where item_code = 'SKU-000007'")
    plan, third = pull()
    assert "purchase_orders" in plan.typed_kept  # the typed snapshot written by key last time is read
    whole = load_postgres_inputs(erp_uri, source)
    deleted = third.purchase_orders["sku"] == "SKU-000007"
    assert deleted.any() and not (whole.purchase_orders["sku"] == "SKU-000007").any()  # kept until a whole read
    for table in ("suppliers", "items", "inventory"):
        pd.testing.assert_frame_equal(_frames(third)[table], _frames(whole)[table], obj=table)
    pd.testing.assert_frame_equal(third.purchase_orders[~deleted].sort_values(["po_id", "sku"]).reset_index(drop=True),
                                  _frames(whole)["purchase_orders"], obj="purchase_orders")
    assert [row[2] for row in _state(db)] == [2, 2, 2, 2]

    plan, reloaded = pull(full_reload=True)
    assert plan.incremental == {}
    _assert_same_inputs(reloaded, whole)
    assert [row[2] for row in _state(db)] == [0, 0, 0, 0]


def test_a_bad_changed_row_is_named_by_table_and_key_and_nothing_is_written(erp_uri: str, tmp_path: Path) -> None:
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.postgres import load_postgres_inputs
    from safestock.pipelines.storage.source_snapshots import plan_snapshots

    db = tmp_path / "safestock.duckdb"
    source = _source(lookback_days=1, full_refresh_runs=2)
    load_postgres_inputs(erp_uri, source, snapshots=plan_snapshots(db, erp_uri, source, full_reload=False))
    stored = _state(db)
    with duckdb.connect(str(db), read_only=True) as con:
        items_before = con.execute("select * exclude (\"__line\") from source_snapshot_items order by all").df()
    _execute(erp_uri, "update erp_tracked.item_master set pack_qty = 0, updated_at = now() "
                      "where item_code = 'SKU-000010'")
    try:
        plan = plan_snapshots(db, erp_uri, source, full_reload=False)
        assert set(plan.incremental) == set(TRACKED)
        with pytest.raises(InputValidationError) as raised:
            load_postgres_inputs(erp_uri, source, snapshots=plan)
        shown = [str(issue) for issue in raised.value.issues]
        assert any(text.startswith("erp_tracked.item_master, item_code=SKU-000010, column 'pack_size': ")
                   for text in shown), shown
        assert _state(db) == stored
        with duckdb.connect(str(db), read_only=True) as con:
            items_after = con.execute("select * exclude (\"__line\") from source_snapshot_items order by all").df()
        pd.testing.assert_frame_equal(items_after, items_before)
    finally:
        _execute(erp_uri, "update erp_tracked.item_master set pack_qty = 1, updated_at = now() "
                          "where item_code = 'SKU-000010'")
    # the fixed row: one incremental run, then the periodic whole read (full_refresh_runs = 2)
    load_postgres_inputs(erp_uri, source, snapshots=plan_snapshots(db, erp_uri, source, full_reload=False))
    assert [row[2] for row in _state(db)] == [1, 1, 1, 1]
    assert plan_snapshots(db, erp_uri, source, full_reload=False).incremental == {}


@pytest.mark.parametrize(("entry", "expected"), [
    ({"updated_column": "changed_at"}, "updated_column 'changed_at' does not exist"),
    ({"updated_column": "item_name"}, "updated_column 'item_name' must be a date or timestamp column"),
])
def test_an_unusable_updated_column_is_refused_before_reading(erp_uri: str, entry: dict, expected: str) -> None:
    from safestock.pipelines.inputs.postgres import SourceUnavailableError, check_source_structure

    tables = source_tables_config()
    tables["items"] |= {"table": "erp_tracked.item_master"} | entry
    with pytest.raises(SourceUnavailableError, match=expected):
        check_source_structure(erp_uri, SourceConfig(password_env=PASSWORD_ENV, tables=tables))


def test_updated_column_is_checked_when_the_config_loads(tmp_path: Path) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    path = tmp_path / "safestock.toml"
    path.write_text('[source.tables.sales]\nupdated_column = "changed_at"\n')
    with pytest.raises(ConfigError, match="tables.sales.updated_column: only suppliers, items, inventory, "
                                          "purchase_orders are read incrementally"):
        load_config(path)
    path.write_text('[source]\nfull_refresh_runs = -1\n')
    with pytest.raises(ConfigError, match="full_refresh_runs must be a whole number of runs >= 0"):
        load_config(path)
    path.write_text('[source]\nfull_refresh_runs = 3\n[source.tables.items]\nupdated_column = "updated_at"\n')
    assert load_config(path).source.tables["items"]["updated_column"] == "updated_at"


def _typed_snapshot(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select * exclude (\"__line\") from source_snapshot_typed_purchase_orders "
                           "order by all").df()


def test_a_bad_changed_purchase_order_line_is_checked_alone_named_by_key_and_nothing_is_written(
        erp_uri: str, tmp_path: Path) -> None:
    """The pulled PO lines alone are checked (the kept ones come typed from the snapshot), with the
    messages of a whole read: the bad line named by source table and key; no snapshot changes."""
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.postgres import load_postgres_inputs
    from safestock.pipelines.storage.source_snapshots import plan_snapshots

    db = tmp_path / "safestock.duckdb"
    source = _source(lookback_days=1)
    load_postgres_inputs(erp_uri, source, snapshots=plan_snapshots(db, erp_uri, source, full_reload=False))
    stored, typed = _state(db), _typed_snapshot(db)
    bad = "(select po_number from erp_tracked.po_lines where item_code = 'SKU-000011' order by po_number limit 1)"
    _execute(erp_uri, f"update erp_tracked.po_lines set qty_ordered = -3, updated_at = now() "
                      f"where item_code = 'SKU-000011' and po_number = {bad}")
    try:
        with _cursor(erp_uri) as cursor:
            cursor.execute("select po_number from erp_tracked.po_lines where qty_ordered = -3")
            (po_number,) = cursor.fetchone()
        plan = plan_snapshots(db, erp_uri, source, full_reload=False)
        with pytest.raises(InputValidationError) as raised:
            load_postgres_inputs(erp_uri, source, snapshots=plan)
        assert "purchase_orders" in plan.typed_kept  # checked alone
        with pytest.raises(InputValidationError) as whole:
            load_postgres_inputs(erp_uri, source)
        shown = [str(issue) for issue in raised.value.issues]
        assert shown == [str(issue) for issue in whole.value.issues]
        assert shown == [f"erp_tracked.po_lines, po_number={po_number}, item_code=SKU-000011, column 'quantity': "
                         "must be >= 0, got '-3'"], shown
        assert _state(db) == stored
        pd.testing.assert_frame_equal(_typed_snapshot(db), typed)
    finally:
        _execute(erp_uri, "update erp_tracked.po_lines set qty_ordered = 3, updated_at = now() where qty_ordered = -3")


def test_a_kept_line_the_changes_affect_makes_the_run_check_the_merged_table_whole(
        erp_uri: str, tmp_path: Path) -> None:
    """Suppliers read whole, one of them gone at the source: the stored PO lines of that supplier are
    not pulled, so the pulled lines' checks cannot see them; the kept-row check sends the run to a
    whole check, whose issues are those of a whole read."""
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.postgres import load_postgres_inputs
    from safestock.pipelines.storage.source_snapshots import plan_snapshots

    db = tmp_path / "safestock.duckdb"
    source = _source(lookback_days=1)
    del source.tables["suppliers"]["updated_column"]
    load_postgres_inputs(erp_uri, source, snapshots=plan_snapshots(db, erp_uri, source, full_reload=False))
    with _cursor(erp_uri) as cursor:
        cursor.execute("select vendor_no from erp_tracked.vendors order by vendor_no limit 1")
        (vendor,) = cursor.fetchone()
    _execute(erp_uri, "create table erp_tracked.vendors_kept as select * from erp_tracked.vendors",
             f"delete from erp_tracked.vendors where vendor_no = '{vendor}'")
    try:
        plan = plan_snapshots(db, erp_uri, source, full_reload=False)
        with pytest.raises(InputValidationError) as raised:
            load_postgres_inputs(erp_uri, source, snapshots=plan)
        assert "purchase_orders" in plan.incremental and "purchase_orders" not in plan.typed_kept
        with pytest.raises(InputValidationError) as whole:
            load_postgres_inputs(erp_uri, source)
        shown = [str(issue) for issue in raised.value.issues]
        assert shown == [str(issue) for issue in whole.value.issues]
        assert any(text.startswith("erp_tracked.po_lines, ") and f"unknown supplier_id '{vendor}'" in text
                   for text in shown), shown
    finally:
        _execute(erp_uri, "delete from erp_tracked.vendors",
                 "insert into erp_tracked.vendors select * from erp_tracked.vendors_kept",
                 "drop table erp_tracked.vendors_kept")
