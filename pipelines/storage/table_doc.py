"""The output-table list rendered from the registry as markdown (``docs/output-tables.md``).

Regenerate the committed file after changing ``storage/tables.py``:

    .venv/bin/python -m safestock.pipelines.storage.table_doc > docs/output-tables.md

``tests/test_storage.py`` fails when the committed file differs from ``output_tables_markdown()``.
"""

from __future__ import annotations

from safestock.pipelines.storage.tables import OUTPUT_TABLES, OutputTable

REGENERATE = ".venv/bin/python -m safestock.pipelines.storage.table_doc > docs/output-tables.md"


def _cell(text: str) -> str:
    """Markdown table cell text: pipes escaped so they do not split the cell."""
    return text.replace("|", "\\|")


def _keys(table: OutputTable) -> str:
    return ", ".join(f"`{name}`" for name in table.key) or "—"


def _table_section(table: OutputTable) -> list[str]:
    kind = "written once per run (rows carry its `run_id`)" if table.per_run else "not per run"
    key = _keys(table) + (" (primary key)" if table.primary_key else "")
    lines = [
        f"## `{table.name}`",
        "",
        _cell(table.description),
        "",
        f"One row per {table.grain}; key: {key}; {kind}.",
        "",
        "| column | type | null | description |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {_cell(c.description)} |"
        for c in table.columns
    ]
    return [*lines, ""]


def output_tables_markdown(tables: tuple[OutputTable, ...] = OUTPUT_TABLES) -> str:
    """The registry as markdown: an overview table, then each table's columns in database order."""
    lines = [
        "<!-- Generated from pipelines/storage/tables.py; do not edit. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        "# Output tables (DuckDB)",
        "",
        "The tables of the results database, their columns in database order, DuckDB types and",
        "whether NULL is allowed. Names and columns are the public interface: they are extended,",
        "never renamed. Per-run tables carry the `run_id` of the run that wrote them.",
        "",
        "| table | one row per | key columns | per run | description |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| [`{t.name}`](#{t.name}) | {_cell(t.grain)} | {_keys(t)} | {'yes' if t.per_run else 'no'} "
        f"| {_cell(t.description)} |"
        for t in tables
    ]
    lines.append("")
    for table in tables:
        lines += _table_section(table)
    return "\n".join(lines)


if __name__ == "__main__":
    print(output_tables_markdown(), end="")
