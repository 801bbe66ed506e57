"""Messages of a PostgreSQL pull (inputs/postgres.py): the loader's issues and notes on the pulled
tables (`sales.pulled`, line 77) renamed to the source table (`erp.order_lines`) and the row's
key (`line_id=77`). A row's key is looked up in the pulled DuckDB table by its `__line`, only
for the rows a message names; a pull held in Arrow (the overrides) is indexed directly.
"""

from __future__ import annotations

import re
from dataclasses import replace

import duckdb
import pyarrow as pa
from safestock.pipelines.inputs.contract import DataQualityNote, InputValidationError
from safestock.pipelines.inputs.postgres import KEY_PREFIX, PulledTable, TablePull
from safestock.pipelines.inputs.sources import PULLED_SUFFIX, RELATION_LINE_COLUMN, show


def row_key_text(pull: TablePull, values: dict[str, object]) -> str | None:
    """`line_id=123456` from a row's key columns (`__row_key_N` -> value); None without a key."""
    if not pull.key:
        return None
    return ", ".join(f"{name}={show(values[f'{KEY_PREFIX}{index}'])[1:-1]}"
                     for index, name in enumerate(pull.key))


def _row_key(pull: TablePull, keys: pa.Table, line: int | None) -> str | None:
    """`line_id=123456` of a row of a pull held in Arrow (`keys`: its key columns; line = row + 2,
    the staging's convention)."""
    if line is None or not 0 <= line - 2 < keys.num_rows:
        return None
    return row_key_text(pull, keys.slice(line - 2, 1).to_pylist()[0])


def _row_keys(pulled_db: duckdb.DuckDBPyConnection, table: str, pull: TablePull,
              lines: set[int]) -> dict[int, str]:
    """The keys (`line_id=77`) of the rows `lines` of the pulled table `table`, looked up by
    `__line` (only the rows a message names)."""
    if not pull.key or not lines:
        return {}
    line = duckdb.ColumnExpression(RELATION_LINE_COLUMN)
    keys = [f"{KEY_PREFIX}{index}" for index in range(len(pull.key))]
    rows = (pulled_db.table(table).filter(line.isin(*(duckdb.ConstantExpression(n) for n in sorted(lines))))
            .select(RELATION_LINE_COLUMN, *keys).fetchall())
    return {int(found): row_key_text(pull, dict(zip(keys, values))) for found, *values in rows}


def _renamed(text: str, pulled: dict[str, PulledTable]) -> str:
    for table, entry in pulled.items():
        text = text.replace(f"{table}{PULLED_SUFFIX}", entry.pull.name)
    return text


def by_staged_name(pulled: dict[str, PulledTable]) -> dict[str, tuple[str, PulledTable]]:
    """The pulled tables by the name the loader gives them in issues (`sales.pulled`)."""
    return {f"{table}{PULLED_SUFFIX}": (table, entry) for table, entry in pulled.items()}


def _keys_named(pulled_db: duckdb.DuckDBPyConnection, pulled: dict[str, PulledTable],
                named: list[tuple[str, int | None]]) -> dict[tuple[str, int], str]:
    """The row keys of the (staged name, line) pairs that messages name, one lookup per table."""
    by_name = by_staged_name(pulled)
    wanted: dict[str, set[int]] = {}
    for name, line in named:
        if name in by_name and line is not None:
            wanted.setdefault(name, set()).add(line)
    found = {}
    for name, lines in wanted.items():
        table, entry = by_name[name]
        found.update({(name, line): key for line, key in _row_keys(pulled_db, table, entry.pull, lines).items()})
    return found


def renamed_error(error: InputValidationError, pulled: dict[str, PulledTable],
                  pulled_db: duckdb.DuckDBPyConnection) -> InputValidationError:
    """The issues of the pulled tables named by source table and row key."""
    by_name = by_staged_name(pulled)
    first_lines = [(issue.file, int(match)) for issue in error.issues
                   for match in re.findall(r"\(first on line (\d+)\)", issue.message)]
    keys = _keys_named(pulled_db, pulled, [(issue.file, issue.line) for issue in error.issues] + first_lines)
    issues = []
    for issue in error.issues:
        if issue.file not in by_name:
            issues.append(issue)
            continue
        message = re.sub(r"\(first on line (\d+)\)",
                         lambda match, file=issue.file: f"(first at {keys.get((file, int(match.group(1))))})",
                         _renamed(issue.message, pulled))
        issues.append(replace(issue, file=by_name[issue.file][1].pull.name, message=message, line=None,
                              row_key=keys.get((issue.file, issue.line))))
    return InputValidationError(issues)


def renamed_notes(notes: list[DataQualityNote], pulled: dict[str, PulledTable],
                  pulled_db: duckdb.DuckDBPyConnection) -> list[DataQualityNote]:
    """The notes of the pulled tables named by source table, the first row's key appended."""
    by_name = by_staged_name(pulled)
    keys = _keys_named(pulled_db, pulled, [(note.file, note.line) for note in notes])
    renamed = []
    for note in notes:
        if note.file not in by_name:
            renamed.append(note)
            continue
        key = keys.get((note.file, note.line))
        renamed.append(replace(note, file=by_name[note.file][1].pull.name, line=None,
                               message=_renamed(note.message, pulled) + (f" (first at {key})" if key else "")))
    return renamed
