"""Read the input tables from a PostgreSQL database (docs/postgres-source.md).

Each contract table is pulled with one SELECT through ADBC's PostgreSQL driver (binary COPY into
Arrow, columnar, no per-row Python objects): a configured table or view, or a query, with its
columns renamed to the contract's (`[source.tables.<table>].columns`). Its Arrow record batches
stream straight into a DuckDB file in a temporary folder (table `<table>`, each row numbered by
`__line` and keeping its key columns), so memory is bounded by the batch size, not the table;
`load_inputs(pulled_database=…)` validates those tables exactly as an input folder, so every
check of the contract applies; the issues and notes are then renamed to the source
(`erp.order_lines`) and the row's key (`line_id=123456`, looked up in the pulled table only for
the rows named) instead of file and row.
An incremental run pulls only the sales from a first day on (`sales_from`, from the history's
watermark: storage/history.py), the SELECT filtered on the date by PostgreSQL.

The password comes from the environment variable `password_env` (libpq's `PGPASSWORD` by
default): it is never part of the URI that is stored, logged or shown, and it is masked in any
driver message that is passed on.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import duckdb
import numpy as np
import pyarrow as pa
from safestock.pipelines.config import InputsConfig, SourceConfig
from safestock.pipelines.inputs.contract import (
    TABLES,
    InputValidationError,
    quote_identifier,
)
from safestock.pipelines.inputs.sources import PULLED_SUFFIX, RELATION_LINE_COLUMN, show
from safestock.pipelines.sqlfiles import sql

URI_SCHEMES = ("postgresql", "postgres")
#: How a row is named in messages when `key` is not configured: the contract key, mapped.
DEFAULT_ROW_KEYS: dict[str, tuple[str, ...]] = {"sales": ("sku", "date")}
KEY_PREFIX = "__row_key_"
#: The pulled change-tracking column (`[source.tables.<table>] updated_column`).
UPDATED_COLUMN = "__updated"
#: PostgreSQL types a change-tracking column may have (compared with a watermark of its type).
UPDATED_TYPES: tuple[str, ...] = ("date", "timestamp", "timestamptz")
#: The DuckDB file the pulled tables stream into (in the pull's temporary folder).
PULLED_DATABASE = "pulled.duckdb"


#: SQLSTATEs of a connection lost in the middle of a pull: class 08 (connection exception) and
#: 57P01-57P03 (the server was shut down or restarted, or is starting up; PostgreSQL appendix A).
CONNECTION_LOST_STATES: tuple[str, ...] = ("08", "57P01", "57P02", "57P03")


class SourceUnavailableError(Exception):
    """The source cannot be read as configured (unreachable server, wrong credentials, a missing
    table or column): one line, no password; nothing was written."""


class SourceConnectionLostError(SourceUnavailableError):
    """The connection dropped in the middle of a pull: nothing was ingested (the pull goes to a
    temporary folder), so the flow retries the whole pull with back-off."""


def _read_failed(pull: TablePull, what: str, error: Exception, password: str | None,
                 lost: bool = False) -> SourceUnavailableError:
    """The error of a failed read: `SourceConnectionLostError` when the driver's SQLSTATE says the
    connection was lost, or `lost` (the flow retries), else `SourceUnavailableError`."""
    state = str(getattr(error, "sqlstate", "") or "")
    lost = lost or state.startswith(CONNECTION_LOST_STATES)
    kind = SourceConnectionLostError if lost else SourceUnavailableError
    return kind(f"{pull.name} (input table {pull.table}): {'connection lost during the pull' if lost else what}: "
                f"{_mask(error, password)}")


def check_uri(uri: str) -> None:
    """A `postgresql://user@host:port/db` URI without a password (it would be stored in `runs`)."""
    parts = urlsplit(uri)
    if parts.scheme not in URI_SCHEMES:
        raise SourceUnavailableError(f"source URI must start with postgresql://, not {show(parts.scheme + '://')}")
    if parts.password is not None or re.search(r"(^|[?&])password=", parts.query):
        raise SourceUnavailableError("the source URI must not hold a password (it would be stored and logged): "
                                     "put it in the environment variable named by [source] password_env "
                                     "(default PGPASSWORD)")


def shown_uri(uri: str) -> str:
    """The URI as stored in `runs.input_dir` and shown: as given (`check_uri` refused any password)."""
    return uri


@dataclass(frozen=True)
class TablePull:
    """One contract table's SELECT: `relation` is a quoted table or a parenthesised query."""

    table: str
    name: str  # how messages name the source: `erp.order_lines`, or `sales query`
    relation: str
    columns: dict[str, str]  # contract column -> source column (every contract column)
    explicit: frozenset[str]  # contract columns mapped in the configuration (must exist)
    key: tuple[str, ...]  # source columns naming a row
    #: The change-tracking column (`updated_column`, a date or timestamp), pulled as `__updated`.
    updated: str | None = None


def table_pulls(source: SourceConfig) -> list[TablePull]:
    """What to read for each contract table: the configured table/query and mapping, else the
    table of the contract's name in the search path and the contract's column names."""
    pulls = []
    for table, spec in TABLES.items():
        entry = source.tables.get(table)
        if entry is None and getattr(spec, "optional", False):
            continue
        entry = entry or {}
        mapping = {column.name: entry.get("columns", {}).get(column.name, column.name)
                   for column in spec.columns}
        if "query" in entry:
            name, relation = f"{table} query", f"({entry['query']})"
        else:
            name = entry.get("table", table)
            relation = ".".join(quote_identifier(part) for part in name.split("."))
        key = tuple(entry.get("key") or (mapping[c] for c in spec.key or DEFAULT_ROW_KEYS.get(table, ())))
        pulls.append(TablePull(table, name, relation, mapping, frozenset(entry.get("columns", {})), key,
                               entry.get("updated_column")))
    return pulls


def _password(source: SourceConfig) -> str | None:
    return os.environ.get(source.password_env) or None


def _mask(text: str, password: str | None) -> str:
    """A driver message in one line, the password masked wherever it appears (as given or
    percent-encoded, as in the URI handed to libpq)."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    for form in (password, quote(password or "", safe="")):
        if form:
            line = line.replace(form, "***")
    return line


def connect(uri: str, source: SourceConfig):
    """An ADBC connection; the password is added to the URI handed to libpq only."""
    import adbc_driver_postgresql.dbapi as postgres_dbapi

    check_uri(uri)
    password = _password(source)
    connect_uri = uri
    if password:
        parts = urlsplit(uri)
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[-1]
        connect_uri = urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))
    try:
        return postgres_dbapi.connect(connect_uri)
    except Exception as error:  # ADBC raises driver-specific classes; all mean "cannot connect"
        raise SourceUnavailableError(f"cannot connect to {shown_uri(uri)}: "
                                     f"{_mask(error, password)}") from None


def _select_sql(cursor, pull: TablePull, password: str | None,
                wanted: list[tuple[str, bool, bool]] | None = None, subject: str | None = None,
                table: str | None = None) -> tuple[str, pa.Schema]:
    """The SELECT of one table with contract column names (plus the key columns), after checking
    that the table exists and every mapped, required and key column is in it; and the source's
    columns (Arrow schema). ``wanted``: (contract column, required, read as text) — default the
    input table's contract columns as they are; ``subject`` / ``table`` name it in messages
    (default ``input table <table>`` / the input table)."""
    try:
        cursor.execute(f"select * from {pull.relation} as source limit 0")
        schema = cursor.fetch_arrow_table().schema
        available = schema.names
    except Exception as error:
        raise _read_failed(pull, "cannot be read", error, password) from None
    if wanted is None:
        wanted = [(column.name, column.required, False) for column in TABLES[pull.table].columns]
    subject, table = subject or f"input table {pull.table}", table or pull.table
    columns = f"(columns: {show(', '.join(available), limit=200)[1:-1]})"
    selected = []
    for column, required, as_text in wanted:
        name = pull.columns[column]
        if name in available:
            as_text = as_text or _is_numeric(schema.field(name))
            value = f"cast({quote_identifier(name)} as text)" if as_text else quote_identifier(name)
            selected.append(f"{value} as {quote_identifier(column)}")
        elif required or column in pull.explicit:
            raise SourceUnavailableError(
                f"{pull.name} ({subject}): column {show(name)} for {table}.{column} does not exist {columns}")
    for index, name in enumerate(pull.key):
        if name not in available:
            raise SourceUnavailableError(f"{pull.name} ({subject}): key column {show(name)} does not exist {columns}")
        selected.append(f"{quote_identifier(name)} as {quote_identifier(f'{KEY_PREFIX}{index}')}")
    if pull.updated is not None:
        if pull.updated not in available:
            raise SourceUnavailableError(f"{pull.name} ({subject}): updated_column {show(pull.updated)} does not "
                                         f"exist {columns}")
        if updated_type(schema, pull) is None:
            raise SourceUnavailableError(f"{pull.name} ({subject}): updated_column {show(pull.updated)} must be a "
                                         f"date or timestamp column")
        if not pull.key:
            raise SourceUnavailableError(f"{pull.name} ({subject}): updated_column needs a key (the rows are "
                                         "merged by it): set key")
        selected.append(f"{quote_identifier(pull.updated)} as {quote_identifier(UPDATED_COLUMN)}")
    return sql("source_postgres_table").format(columns=", ".join(selected), relation=pull.relation), schema


def _is_numeric(field: pa.Field) -> bool:
    """A PostgreSQL `numeric` column: the driver returns its values as text (an opaque Arrow
    string), and decoding the binary numeric costs the client twice the CPU of the rest of the
    row, so it is cast to text by the server instead (the same digits: PostgreSQL's numeric output)."""
    return (field.metadata or {}).get(b"POSTGRESQL:type") == b"numeric"


def updated_type(schema: pa.Schema, pull: TablePull) -> str | None:
    """The PostgreSQL type of the pull's change-tracking column when it is one of UPDATED_TYPES."""
    kind = (schema.field(pull.updated).metadata or {}).get(b"POSTGRESQL:type", b"").decode()
    return kind if kind in UPDATED_TYPES else None


def _changed_since(select: str, kind: str) -> str:
    """A table's SELECT restricted to the rows changed from its parameter $1 on (the watermark as
    ISO text, cast to the column's type `kind`, one of UPDATED_TYPES) minus $2 days
    (`sql/source_postgres_changed_since.sql`)."""
    return sql("source_postgres_changed_since").format(pulled=select, since=f"cast($1 as {kind})")


def _sales_since(select: str, date_type: pa.DataType) -> str:
    """The sales SELECT restricted to the days from its parameter $1 on (an ISO date;
    `sql/source_postgres_sales_since.sql`): a date or timestamp source column is compared as a
    date (an index on it serves the filter), a text column as ISO 'YYYY-MM-DD' text."""
    typed = pa.types.is_date(date_type) or pa.types.is_timestamp(date_type)
    return sql("source_postgres_sales_since").format(pulled=select, since="cast($1 as date)" if typed else "$1")


def check_source_structure(uri: str, source: SourceConfig) -> None:
    """The cheap checks before a run (the CLI calls it before Prefect): the server answers, the
    credentials work, every table and mapped column exists. `SourceUnavailableError` otherwise."""
    password = _password(source)
    with connect(uri, source) as connection, connection.cursor() as cursor:
        for pull in table_pulls(source):
            _select_sql(cursor, pull, password)


@dataclass
class PulledTable:
    """One pulled table: its SELECT and rows; the rows themselves (with `__line` and the key
    columns) are the table `<table>` of the pulled DuckDB file."""

    pull: TablePull
    rows: int
    #: The sha256 of the table's SELECT (what a stored snapshot was pulled with).
    fingerprint: str = ""
    #: An incremental read (`updated_column`): the rows changed from this watermark minus the
    #: look-back only, to be merged into the stored snapshot (storage/source_snapshots.py).
    changed_since: str | None = None


def _numbered(reader: pa.RecordBatchReader, failures: list[Exception]) -> pa.RecordBatchReader:
    """The reader's record batches with `__line` appended (2, 3, … over the stream: the staging's
    line convention), streamed batch by batch. A driver error is kept in `failures` (DuckDB, which
    pulls the batches, re-raises it as its own error, without the SQLSTATE)."""
    schema = reader.schema.append(pa.field(RELATION_LINE_COLUMN, pa.int64()))

    def batches():
        line = 2
        try:
            for batch in reader:
                numbers = pa.array(np.arange(line, line + batch.num_rows, dtype=np.int64))
                yield pa.RecordBatch.from_arrays([*batch.columns, numbers], schema=schema)
                line += batch.num_rows
        except Exception as error:
            failures.append(error)
            raise

    return pa.RecordBatchReader.from_batches(schema, batches())


def stream_into(database: duckdb.DuckDBPyConnection, table: str, cursor, pull: TablePull,
                select: str, parameters: tuple | None, password: str | None) -> int:
    """Run `select` on the source and stream its record batches into the new DuckDB table `table`
    of `database` (`cursor.fetch_record_batch()`: one batch in memory at a time); its rows."""
    failures: list[Exception] = []
    try:
        cursor.execute(select, parameters)
        reader = _numbered(cursor.fetch_record_batch(), failures)
        database.from_arrow(reader).create(table)
    except Exception as error:
        error = failures[0] if failures else error
        # an error while streaming reaches us through Arrow, without the driver's SQLSTATE: a
        # connection that no longer answers was lost in the middle of the pull
        lost = not hasattr(error, "sqlstate") and not _answers(cursor)
        raise _read_failed(pull, "read failed", error, password, lost) from None
    return database.table(table).count("*").fetchall()[0][0]


def _answers(cursor) -> bool:
    """Whether the source connection still answers a query."""
    try:
        cursor.execute("select 1")
        cursor.fetchall()
    except Exception:  # any driver error: the connection is gone
        return False
    return True


def pull_tables(uri: str, source: SourceConfig, database: Path,
                sales_from: datetime.date | None = None, memory_limit: str = "1GB",
                incremental: dict[str, tuple[str, str]] | None = None) -> dict[str, PulledTable]:
    """Every contract table streamed from the source into the DuckDB file `database` (a table per
    contract table: its contract columns, `__line`, the key columns `__row_key_N` and, with an
    `updated_column`, `__updated`). `sales_from`: only the sales dated on or after this day (an
    incremental pull); None: all. `incremental`: table -> (fingerprint, watermark as ISO text) of
    the stored snapshots (storage/source_snapshots.py): a table with an `updated_column` whose
    SELECT still has that fingerprint is read from the watermark minus `[source] lookback_days`.
    Memory: one record batch of the driver plus DuckDB's `memory_limit` (beyond it DuckDB writes
    to the file)."""
    password = _password(source)
    incremental = incremental or {}
    pulled = {}
    with connect(uri, source) as connection, connection.cursor() as cursor, \
            duckdb.connect(str(database), config={"memory_limit": memory_limit}) as pulled_db:
        pulled_db.execute("set enable_progress_bar = false")
        for pull in table_pulls(source):
            select, schema = _select_sql(cursor, pull, password)
            parameters = None
            selected = hashlib.sha256(select.encode()).hexdigest()
            stored_print, since = incremental.get(pull.table, ("", None))
            since = since if pull.updated is not None and stored_print == selected else None
            if pull.table == "sales" and sales_from is not None:
                select = _sales_since(select, schema.field(pull.columns["date"]).type)
                parameters = (sales_from.isoformat(),)
            elif since is not None:
                select = _changed_since(select, updated_type(schema, pull))
                parameters = (since, str(source.lookback_days))
            rows = stream_into(pulled_db, pull.table, cursor, pull, select, parameters, password)
            pulled[pull.table] = PulledTable(pull, rows, selected, since)
    return pulled


def load_postgres_inputs(uri: str, source: SourceConfig, as_of: datetime.date | None = None,
                         options: InputsConfig | None = None, memory_limit: str = "2GB",
                         sales_from: datetime.date | None = None, sales_history_path: Path | None = None,
                         snapshots=None):
    """Pull (streamed into a DuckDB file in a temporary folder) and validate the input tables
    from PostgreSQL; `LoadedInputs` as from a folder, its notes and `files` named by source table. Raises `SourceUnavailableError` or
    `InputValidationError` (source tables and row keys). `sales_from`: pull only the sales from
    this day on (None: all); `sales_history_path`: where the validated sku-day sales go as Parquet
    (`load_inputs`), for `sales_history`. `snapshots` (a `storage.source_snapshots.SnapshotPlan`):
    the tables with an `updated_column` are read incrementally and merged into their stored
    snapshots, which are written back, in one transaction, once every check has passed."""
    from safestock.pipelines.inputs.load import load_inputs
    from safestock.pipelines.inputs.postgres_messages import by_staged_name, renamed_error, renamed_notes
    from safestock.pipelines.storage import source_snapshots

    options = options or InputsConfig()
    started = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with tempfile.TemporaryDirectory(prefix="safestock-pull-") as folder:
        database = Path(folder) / PULLED_DATABASE
        pulled = pull_tables(uri, source, database, sales_from,
                             incremental=snapshots.incremental if snapshots is not None else None)
        if snapshots is not None:
            source_snapshots.merge(database, snapshots, pulled)
        try:
            inputs = load_inputs(None, as_of, memory_limit=memory_limit,
                                 allow_extra_columns=options.allow_extra_columns,
                                 max_sales_age_days=options.max_sales_age_days,
                                 sales_history_path=sales_history_path,
                                 unmet_demand=options.unmet_demand,
                                 infer_stockouts=options.infer_stockouts,
                                 pulled_database=database,
                                 # the stored typed rows of a table whose pulled rows alone were checked
                                 **({"complete_frames": source_snapshots.complete_frames(snapshots)}
                                    if snapshots is not None and snapshots.typed_kept else {}))
        except InputValidationError as error:
            if snapshots is not None:
                source_snapshots.merged_back(database, snapshots)
            with duckdb.connect(str(database), read_only=True) as pulled_db:
                raise renamed_error(error, pulled, pulled_db) from None
        if snapshots is not None:
            source_snapshots.merged_back(database, snapshots)
            for table in snapshots.typed_kept:  # the loader counted the pulled rows it checked
                inputs.files[f"{table}{PULLED_SUFFIX}"]["rows"] = pulled[table].rows
        with duckdb.connect(str(database), read_only=True) as pulled_db:
            inputs.notes = renamed_notes(inputs.notes, pulled, pulled_db)
        if snapshots is not None:
            source_snapshots.write(database, snapshots, pulled, started,
                                   typed={table: getattr(inputs, table) for table in source_snapshots.TYPED_TABLES})
    by_name = by_staged_name(pulled)
    inputs.files = {by_name[name][1].pull.name if name in by_name else name: value
                    for name, value in inputs.files.items()}
    return inputs
