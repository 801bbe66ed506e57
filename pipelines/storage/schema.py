"""DDL of the results database generated from the output-table registry (``storage.tables``).

For every registered table: ``create table if not exists`` with all its columns in registry order,
then ``alter table … add column if not exists`` for each column, so a database written by an
older safestock gains the columns appended since (as NULL for its existing rows; DuckDB cannot add
a NOT NULL column to a filled table, so appended columns are declared nullable, see tables.py).
Only registry identifiers (checked against ``[a-z_][a-z0-9_]*``) and registry types (one of
``tables.DUCKDB_TYPES``) are formatted into the text; no user value ever is. What is not a
registered table (the ``forecast_vs_actual`` view) stays hand-written in ``sql/schema_views.sql``.
"""

from __future__ import annotations

from safestock.pipelines.storage.tables import OUTPUT_TABLES, Column, OutputTable


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
