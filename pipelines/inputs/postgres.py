"""Read the input tables from a PostgreSQL database (docs/postgres-source.md).

Each contract table is pulled with one SELECT through ADBC's PostgreSQL driver (binary COPY into
Arrow, columnar, no per-row Python objects): a configured table or view, or a query, with its
columns renamed to the contract's (`[source.tables.<table>].columns`). The Arrow tables are
staged as `<table>.parquet` in a temporary folder and `load_inputs` validates them exactly as an
input folder, so every check of the contract applies; the issues and notes are then renamed to
the source (`erp.order_lines`) and the row's key (`line_id=123456`) instead of file and row.
An incremental run pulls only the sales from a first day on (`sales_from`, from the history's
watermark: storage/history.py), the SELECT filtered on the date by PostgreSQL.

The password comes from the environment variable `password_env` (libpq's `PGPASSWORD` by
default): it is never part of the URI that is stored, logged or shown, and it is masked in any
driver message that is passed on.
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq
from safestock.pipelines.config import InputsConfig, SourceConfig
from safestock.pipelines.inputs.contract import (
    TABLES,
    DataQualityNote,
    InputValidationError,
    quote_identifier,
)
from safestock.pipelines.inputs.sources import show
from safestock.pipelines.sqlfiles import sql

URI_SCHEMES = ("postgresql", "postgres")
#: How a row is named in messages when `key` is not configured: the contract key, mapped.
DEFAULT_ROW_KEYS: dict[str, tuple[str, ...]] = {"sales": ("sku", "date")}
KEY_PREFIX = "__row_key_"


#: SQLSTATEs of a connection lost in the middle of a pull: class 08 (connection exception) and
#: 57P01-57P03 (the server was shut down or restarted, or is starting up; PostgreSQL appendix A).
CONNECTION_LOST_STATES: tuple[str, ...] = ("08", "57P01", "57P02", "57P03")


class SourceUnavailableError(Exception):
    """The source cannot be read as configured (unreachable server, wrong credentials, a missing
    table or column): one line, no password; nothing was written."""


class SourceConnectionLostError(SourceUnavailableError):
    """The connection dropped in the middle of a pull: nothing was ingested (the pull goes to a
    temporary folder), so the flow retries the whole pull with back-off."""


def _read_failed(pull: TablePull, what: str, error: Exception, password: str | None) -> SourceUnavailableError:
    """The error of a failed read: `SourceConnectionLostError` when the driver's SQLSTATE says the
    connection was lost (the flow retries), else `SourceUnavailableError`."""
    state = str(getattr(error, "sqlstate", "") or "")
    lost = state.startswith(CONNECTION_LOST_STATES)
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
        pulls.append(TablePull(table, name, relation, mapping, frozenset(entry.get("columns", {})), key))
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
            value = f"cast({quote_identifier(name)} as text)" if as_text else quote_identifier(name)
            selected.append(f"{value} as {quote_identifier(column)}")
        elif required or column in pull.explicit:
            raise SourceUnavailableError(
                f"{pull.name} ({subject}): column {show(name)} for {table}.{column} does not exist {columns}")
    for index, name in enumerate(pull.key):
        if name not in available:
            raise SourceUnavailableError(f"{pull.name} ({subject}): key column {show(name)} does not exist {columns}")
        selected.append(f"{quote_identifier(name)} as {quote_identifier(f'{KEY_PREFIX}{index}')}")
    return sql("source_postgres_table").format(columns=", ".join(selected), relation=pull.relation), schema


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
    pull: TablePull
    keys: pa.Table  # the key columns, row by row as staged


def pull_tables(uri: str, source: SourceConfig, folder: Path,
                sales_from: datetime.date | None = None) -> dict[str, PulledTable]:
    """Every contract table read into Arrow and staged as `<table>.parquet` in `folder` (contract
    columns only), its key columns kept in memory for messages. `sales_from`: only the sales
    dated on or after this day (an incremental pull); None: all."""
    password = _password(source)
    pulled = {}
    with connect(uri, source) as connection, connection.cursor() as cursor:
        for pull in table_pulls(source):
            select, schema = _select_sql(cursor, pull, password)
            parameters = None
            if pull.table == "sales" and sales_from is not None:
                select = _sales_since(select, schema.field(pull.columns["date"]).type)
                parameters = (sales_from.isoformat(),)
            try:
                cursor.execute(select, parameters)
                arrow = cursor.fetch_arrow_table()
            except Exception as error:
                raise _read_failed(pull, "read failed", error, password) from None
            key_names = [name for name in arrow.schema.names if name.startswith(KEY_PREFIX)]
            pq.write_table(arrow.drop_columns(key_names), folder / f"{pull.table}.parquet")
            pulled[pull.table] = PulledTable(pull, arrow.select(key_names))
    return pulled


def _row_key(table: PulledTable, line: int | None) -> str | None:
    """`line_id=123456` of a staged row (line = Parquet row + 2, the staging's convention)."""
    if line is None or not table.pull.key or not 0 <= line - 2 < table.keys.num_rows:
        return None
    values = table.keys.slice(line - 2, 1).to_pylist()[0]
    return ", ".join(f"{name}={show(values[f'{KEY_PREFIX}{index}'])[1:-1]}"
                     for index, name in enumerate(table.pull.key))


def _renamed(text: str, pulled: dict[str, PulledTable]) -> str:
    for table, entry in pulled.items():
        text = text.replace(f"{table}.parquet", entry.pull.name)
    return text


def _by_staged_file(pulled: dict[str, PulledTable]) -> dict[str, PulledTable]:
    """The pulled tables by the name of the Parquet file each was staged as."""
    return {f"{table}.parquet": entry for table, entry in pulled.items()}


def renamed_error(error: InputValidationError, pulled: dict[str, PulledTable]) -> InputValidationError:
    """The issues of the staged Parquet files named by source table and row key."""
    by_file = _by_staged_file(pulled)
    issues = []
    for issue in error.issues:
        entry = by_file.get(issue.file)
        if entry is None:
            issues.append(issue)
            continue
        message = re.sub(r"\(first on line (\d+)\)",
                         lambda match: f"(first at {_row_key(entry, int(match.group(1)))})",
                         _renamed(issue.message, pulled))
        issues.append(replace(issue, file=entry.pull.name, message=message, line=None,
                              row_key=_row_key(entry, issue.line)))
    return InputValidationError(issues)


def renamed_notes(notes: list[DataQualityNote], pulled: dict[str, PulledTable]) -> list[DataQualityNote]:
    """The notes of the staged Parquet files named by source table, the first row's key appended."""
    by_file = _by_staged_file(pulled)
    renamed = []
    for note in notes:
        entry = by_file.get(note.file)
        if entry is None:
            renamed.append(note)
            continue
        key = _row_key(entry, note.line)
        renamed.append(replace(note, file=entry.pull.name, line=None,
                               message=_renamed(note.message, pulled) + (f" (first at {key})" if key else "")))
    return renamed


def load_postgres_inputs(uri: str, source: SourceConfig, as_of: datetime.date | None = None,
                         options: InputsConfig | None = None, memory_limit: str = "2GB",
                         sales_from: datetime.date | None = None, sales_history_path: Path | None = None):
    """Pull, stage and validate the input tables from PostgreSQL; `LoadedInputs` as from a folder,
    its notes and `files` named by source table. Raises `SourceUnavailableError` or
    `InputValidationError` (source tables and row keys). `sales_from`: pull only the sales from
    this day on (None: all); `sales_history_path`: where the validated sku-day sales go as Parquet
    (`load_inputs`), for `sales_history`."""
    from safestock.pipelines.inputs.load import load_inputs

    options = options or InputsConfig()
    with tempfile.TemporaryDirectory(prefix="safestock-pull-") as folder:
        pulled = pull_tables(uri, source, Path(folder), sales_from)
        try:
            inputs = load_inputs(Path(folder), as_of, memory_limit=memory_limit,
                                 allow_extra_columns=options.allow_extra_columns,
                                 max_sales_age_days=options.max_sales_age_days,
                                 sales_history_path=sales_history_path,
                                 unmet_demand=options.unmet_demand,
                                 infer_stockouts=options.infer_stockouts)
        except InputValidationError as error:
            raise renamed_error(error, pulled) from None
    by_file = _by_staged_file(pulled)
    inputs.notes = renamed_notes(inputs.notes, pulled)
    inputs.files = {by_file[name].pull.name if name in by_file else name: value
                    for name, value in inputs.files.items()}
    return inputs
