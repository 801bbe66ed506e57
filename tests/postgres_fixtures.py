"""A real PostgreSQL server for the source tests: Debian's `postgresql` programs started with
initdb/pg_ctl in a temporary folder (Unix socket only, no TCP port), and the demo input loaded
into an ERP-like schema (`erp.*`, column names unlike the contract's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

def _postgres_bin() -> Path:
    """Debian's server programs (not on PATH): $SAFESTOCK_POSTGRES_BIN, else the newest
    /usr/lib/postgresql/<version>/bin."""
    if "SAFESTOCK_POSTGRES_BIN" in os.environ:
        return Path(os.environ["SAFESTOCK_POSTGRES_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
                   if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


POSTGRES_BIN = _postgres_bin()
PORT = 54329
USER = "app"
PASSWORD = "s3cret-Pa55word"

#: ERP table, its columns as (ERP name, contract column, SQL type), for each contract table.
ERP_SCHEMA: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "suppliers": ("erp.vendors", [("vendor_no", "supplier_id", "text"), ("vendor_name", "name", "text"),
                                  ("lead_days", "lead_time_days", "integer"),
                                  ("review_days", "review_period_days", "integer"),
                                  ("min_order_value", "min_order_value", "numeric(12,2)")]),
    "items": ("erp.item_master", [("item_code", "sku", "text"), ("vendor_no", "supplier_id", "text"),
                                  ("std_cost", "unit_cost", "numeric(12,2)"), ("pack_qty", "pack_size", "integer"),
                                  ("min_qty", "moq", "integer"), ("item_name", "description", "text"),
                                  ("service_level", "service_level", "double precision"),
                                  ("item_status", "status", "text"), ("product_group", "category", "text")]),
    "inventory": ("erp.stock_levels", [("item_code", "sku", "text"), ("qty_on_hand", "on_hand", "numeric"),
                                       ("snapshot_date", "as_of", "date"),
                                       ("qty_backordered", "backordered", "numeric")]),
    "purchase_orders": ("erp.po_lines", [("po_number", "po_id", "text"), ("item_code", "sku", "text"),
                                         ("vendor_no", "supplier_id", "text"), ("qty_ordered", "quantity", "numeric"),
                                         ("ordered_on", "order_date", "date"), ("due_on", "expected_date", "date"),
                                         ("received_on", "received_date", "date"),
                                         ("qty_received", "received_quantity", "numeric"),
                                         ("po_status", "status", "text")]),
    "sales": ("erp.order_lines", [("order_date", "date", "date"), ("item_code", "sku", "text"),
                                  ("qty", "quantity", "numeric")]),
}


def source_tables_config() -> dict[str, dict]:
    """The `[source.tables]` mapping of the ERP schema (as a parsed TOML table)."""
    tables = {table: {"table": name, "columns": {contract: erp for erp, contract, _ in columns}}
              for table, (name, columns) in ERP_SCHEMA.items()}
    tables["sales"]["key"] = ["line_id"]
    return tables


def _as_postgres(*command: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + list(command), check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running server; yields its URI (user `app`, password PASSWORD required over the socket)."""
    if not (POSTGRES_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL programs not found in {POSTGRES_BIN} (Debian package postgresql; "
                    "`make test` installs it)")
    # not under pytest's root-only tmp folder: the postgres user must reach its data and socket
    folder = Path(tempfile.mkdtemp(prefix="safestock-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(password_file, "postgres", "postgres")
    _as_postgres(str(POSTGRES_BIN / "initdb"), "-D", str(folder / "data"), "-A", "scram-sha-256",
                 "-U", USER, "--pwfile", str(password_file))
    _as_postgres(str(POSTGRES_BIN / "pg_ctl"), "-D", str(folder / "data"), "-w", "-l", str(folder / "log"),
                 "-o", f"-p {PORT} -k {folder} -c listen_addresses=''", "start")
    try:
        yield f"postgresql://{USER}@/postgres?host={folder}&port={PORT}"
    finally:
        _as_postgres(str(POSTGRES_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def load_erp_schema(uri: str, input_dir: Path) -> None:
    """The demo input folder's CSVs as ERP tables `erp.*` (typed columns, ERP names; sales get a
    `line_id` in file order)."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    parts = uri.split("@", 1)
    with postgres_dbapi.connect(f"{parts[0]}:{PASSWORD}@{parts[1]}") as connection:
        with connection.cursor() as cursor:
            cursor.execute("drop schema if exists erp cascade")
            cursor.execute("create schema erp")
            for table, (name, columns) in ERP_SCHEMA.items():
                frame = pd.read_csv(input_dir / f"{table}.csv", dtype=str, keep_default_na=False)
                raw = pa.Table.from_pandas(frame, preserve_index=False)
                cursor.adbc_ingest(f"raw_{table}", raw, mode="replace", temporary=True)
                selects = ", ".join(f"nullif(\"{contract}\", '')::{kind} as {erp}"
                                    for erp, contract, kind in columns if contract in frame.columns)
                line_id = "row_number() over () as line_id, " if table == "sales" else ""
                cursor.execute(f"create table {name} as select {line_id}{selects} from raw_{table}")
        connection.commit()
