"""DDL of the results database generated from the output-table registry (``storage.tables``).

For every registered table: ``create table if not exists`` with all its columns in registry order,
then ``alter table … add column if not exists`` for each column, so a database written by an
older safestock gains the columns appended since (as NULL for its existing rows; DuckDB cannot add
a NOT NULL column to a filled table, so appended columns are declared nullable, see tables.py).
A column whose registered type was widened since (``WIDENINGS``: a count that
values the input contract accepts can overflow, e.g. ``purchase_recommendations.packs`` INTEGER →
BIGINT) is altered in place (``widen_columns_ddl``). Before any of that, ``foreign_table_reason``
recognises a table named like ours that safestock did not create (other columns, other types):
the writer refuses such a file instead of extending or emptying someone else's table.
Only registry identifiers (checked against ``[a-z_][a-z0-9_]*``) and registry types (one of
``tables.DUCKDB_TYPES``) are formatted into the text; no user value ever is. What is not a
registered table (the ``forecast_vs_actual`` view) stays hand-written in ``sql/schema_views.sql``.
"""

from __future__ import annotations

from collections.abc import Mapping

from safestock.pipelines.storage.tables import OUTPUT_TABLES, Column, OutputTable

WIDENINGS: frozenset[tuple[str, str]] = frozenset({("integer", "bigint"), ("integer", "double"), ("bigint", "double")})
"""(type in an older database, registered type) pairs altered in place: every old value fits the new type."""


def _column_ddl(column: Column, *, primary_key: bool = False) -> str:
    constraint = " primary key" if primary_key else "" if column.nullable else " not null"
    return f'"{column.name}" {column.type}{constraint}'


def create_table_ddl(table: OutputTable) -> str:
    """``create table if not exists`` for ``table``; a single-column primary key sits on its column."""
    single_key = table.key[0] if table.primary_key and len(table.key) == 1 else None
    lines = [_column_ddl(column, primary_key=column.name == single_key) for column in table.columns]
    if table.primary_key and single_key is None:
        lines.append("primary key (" + ", ".join(f'"{name}"' for name in table.key) + ")")
    body = ",\n    ".join(lines)
    return f'create table if not exists "{table.name}" (\n    {body}\n);'


def add_columns_ddl(table: OutputTable) -> str:
    """``alter table … add column if not exists`` for every column of ``table`` (nullable)."""
    return "\n".join(
        f'alter table "{table.name}" add column if not exists "{column.name}" {column.type};'
        for column in table.columns
    )


def schema_ddl(tables: tuple[OutputTable, ...] = OUTPUT_TABLES) -> str:
    """The whole DDL script for ``tables``: every table created, then extended by its columns."""
    return "\n\n".join(f"{create_table_ddl(table)}\n{add_columns_ddl(table)}" for table in tables) + "\n"


def foreign_table_reason(table: OutputTable, table_type: str, columns: Mapping[str, str]) -> str | None:
    """Why an existing relation named like ``table`` is not safestock's, or None if it is.

    ``columns`` maps the existing column names to their (lower-case) DuckDB types. A table of this
    or an older safestock is a base table whose columns are all registered ones, of the registered
    type or one ``WIDENINGS`` turns into it, and that has every non-nullable column (columns
    appended since are nullable, see tables.py). Anything else belongs to someone else.
    """
    if table_type != "BASE TABLE":
        return f"it is a {table_type.lower()}, not a table"
    registered = {column.name: column for column in table.columns}
    if unknown := [name for name in columns if name not in registered]:
        return f"it has column(s) safestock does not write: {', '.join(unknown)}"
    if wrong := [f"{name} {kind} (safestock: {registered[name].type})" for name, kind in columns.items()
                 if kind != registered[name].type and (kind, registered[name].type) not in WIDENINGS]:
        return f"column type(s) differ: {', '.join(wrong)}"
    if missing := [column.name for column in table.columns if not column.nullable and column.name not in columns]:
        return f"it lacks column(s) safestock requires: {', '.join(missing)}"
    return None


def columns_to_widen(table: OutputTable, columns: Mapping[str, str]) -> tuple[Column, ...]:
    """The registered columns of ``table`` whose type widens the existing type in ``columns``."""
    return tuple(column for column in table.columns if (columns.get(column.name), column.type) in WIDENINGS)


def widen_columns_ddl(table: OutputTable, columns: Mapping[str, str]) -> str:
    """``alter table … alter column … type …`` for each of ``columns_to_widen``; only registry
    names and types are formatted (the existing types only select the columns)."""
    return "\n".join(
        f'alter table "{table.name}" alter column "{column.name}" type {column.type};'
        for column in columns_to_widen(table, columns)
    )
