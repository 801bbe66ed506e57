"""The planner overrides read from a PostgreSQL source (`[source.tables.overrides]`; docs/overrides.md).

A run from PostgreSQL has no input folder, so its overrides come from a table, view or query of
the source, configured like an input table: ``table`` or ``query``, ``columns`` (override column
-> source column; unmapped ones are read under their own name) and ``key`` (source columns that
name a row in messages). Every column is read as text (``cast(... as text)``: a date column gives
``YYYY-MM-DD``, a number its digits, a like-item SKU code stays text), written as the
``overrides.csv`` the reader expects in a temporary folder and validated by the same reader
(``inputs.overrides.read_overrides``), so every rule of the file applies; an issue is then named by
the source and the row's key (``erp.planner_overrides, id=7, column 'value': -2 is below 0``).
The ``line`` of a row (``overrides_applied.line``) is its position in the pull + 2, as a file's
line would be. Without ``[source.tables.overrides]`` a source run has no overrides.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
from safestock.pipelines.config import SourceConfig
from safestock.pipelines.inputs.contract import InputValidationError, quote_identifier
from safestock.pipelines.inputs.overrides import COLUMNS, OVERRIDES_FILE, read_overrides
from safestock.pipelines.inputs.postgres import (
    KEY_PREFIX,
    TablePull,
    _password,
    _read_failed,
    _select_sql,
    connect,
)
from safestock.pipelines.inputs.postgres_messages import _row_key

#: The `[source.tables.<name>]` entry that holds the overrides, and the columns it may map.
OVERRIDES_TABLE = "overrides"
OVERRIDES_SOURCE_COLUMNS: tuple[str, ...] = (*COLUMNS, "note")


def overrides_pull(source: SourceConfig) -> TablePull | None:
    """The configured overrides SELECT (None when `[source.tables.overrides]` is absent)."""
    entry = source.tables.get(OVERRIDES_TABLE)
    if entry is None:
        return None
    mapping = {column: entry.get("columns", {}).get(column, column) for column in OVERRIDES_SOURCE_COLUMNS}
    if "query" in entry:
        name, relation = f"{OVERRIDES_TABLE} query", f"({entry['query']})"
    else:
        name = entry.get("table", OVERRIDES_TABLE)
        relation = ".".join(quote_identifier(part) for part in name.split("."))
    return TablePull(OVERRIDES_TABLE, name, relation, mapping, frozenset(entry.get("columns", {})),
                     tuple(entry.get("key") or ()))


def pull_overrides(uri: str, source: SourceConfig) -> pd.DataFrame | None:
    """The overrides of the source as ``read_overrides`` returns them (None when not configured).
    Raises ``SourceUnavailableError`` (unreadable table, a missing column) or
    ``InputValidationError`` naming the source and row key."""
    pull = overrides_pull(source)
    if pull is None:
        return None
    password = _password(source)
    with connect(uri, source) as connection, connection.cursor() as cursor:
        select, _ = _select_sql(cursor, pull, password,
                                [(column, column != "note", True) for column in OVERRIDES_SOURCE_COLUMNS],
                                "planner overrides", "overrides")
        try:
            cursor.execute(select)
            arrow: pa.Table = cursor.fetch_arrow_table()
        except Exception as error:
            raise _read_failed(pull, "read failed", error, password) from None
    key_names = [name for name in arrow.schema.names if name.startswith(KEY_PREFIX)]
    rows = arrow.drop_columns(key_names).to_pandas().fillna("")
    with tempfile.TemporaryDirectory(prefix="safestock-overrides-") as folder:
        rows.to_csv(Path(folder) / OVERRIDES_FILE, index=False)
        try:
            return read_overrides(Path(folder))
        except InputValidationError as error:
            keys = arrow.select(key_names)
            raise InputValidationError([
                replace(issue, file=pull.name, line=None, row_key=_row_key(pull, keys, issue.line))
                if issue.file == OVERRIDES_FILE else issue for issue in error.issues]) from None
