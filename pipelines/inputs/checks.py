"""Validate staged inputs in SQL: value checks (types, ranges, row rules), duplicate keys
and unknown references, each reported as issues capped per kind ("... and N more").
"""

from __future__ import annotations

import duckdb
from safestock.pipelines.inputs.contract import (
    ValidationIssue,
    quote_identifier,
    value_check_cases,
)
from safestock.pipelines.inputs.sources import show
from safestock.pipelines.inputs.staging import StagedTable, ensure_staged
from safestock.pipelines.sqlfiles import sql

MAX_ISSUES_PER_KIND = 50


def _capped(file_name: str, column: str | None, message: str, total: int,
            examples: list[ValidationIssue]) -> list[ValidationIssue]:
    """The examples plus a '... and N more' issue when `total` exceeds them."""
    if total > len(examples):
        examples.append(ValidationIssue(file_name, None, column,
                                        f"... and {total - len(examples)} more: {message}"))
    return examples


def check_values(con: duckdb.DuckDBPyConnection, staged: StagedTable,
                 issues: list[ValidationIssue]) -> None:
    """Type, range and row-rule checks of one staged table: one scan counts the rows failing each
    check (see `value_check_cases`); only when some fail, a second scan takes the first lines of
    the failing checks. The examples' top-N aggregates cost about twice the counting (a 974,000-line
    purchase-order table: 0.6 s counting vs 2.0 s for both in one scan), and valid input has none."""
    codes, checks = value_check_cases(staged.spec, staged.present_columns)
    if not checks:
        return
    rows = f"(select *, {', '.join(codes)} from {staged.raw_table})"
    counts = con.execute("select " + ", ".join(f"count(*) filter (where {code} = {number})"
                                               for number, (_, code, _) in enumerate(checks, start=1))
                         + f" from {rows}").fetchone()
    failing = [index for index, total in enumerate(counts) if total]
    if not failing:
        return
    selects = [f"arg_min(struct_pack(line := line, value := left({quote_identifier(checks[index][0])}, 100)), "
               f"line, {MAX_ISSUES_PER_KIND}) filter (where {checks[index][1]} = {index + 1})" for index in failing]
    first_lines = dict(zip(failing, con.execute(f"select {', '.join(selects)} from {rows}").fetchone()))
    for index, (column, _, message) in enumerate(checks):
        total, examples = counts[index], first_lines.get(index) or []
        if not total:
            continue
        found = [ValidationIssue(staged.file_name, int(example["line"]), column,
                                 message if message.startswith(("missing", "received"))
                                 else f"{message}, got {show(example['value'])}")
                 for example in examples]
        issues.extend(_capped(staged.file_name, column, message, int(total), found))


def check_keys(con: duckdb.DuckDBPyConnection, staged: StagedTable,
               issues: list[ValidationIssue]) -> None:
    """Duplicate primary keys (staged text: trimmed). A hash count of the distinct keys first; the
    window that names the repeated rows (a sort of every row by key) runs only when some repeat."""
    key_sql = " || ' / ' || ".join(quote_identifier(c)
                                   for c in staged.spec.key)
    (repeated,) = con.execute(sql("validate_duplicate_keys_count").format(
        raw_table=staged.raw_table, key=key_sql)).fetchone()
    if not repeated:
        return
    rows = con.execute(sql("validate_duplicate_keys").format(
        raw_table=staged.raw_table, key=key_sql)).fetchall()
    label = " / ".join(staged.spec.key)
    found = [ValidationIssue(staged.file_name, int(line), label,
                             f"duplicate {label} {show(value)} (first on line {first_line})")
             for line, value, first_line, _ in rows]
    issues.extend(_capped(staged.file_name, label, f"duplicate {label}",
                          int(rows[0][3]) if rows else 0, found))


def check_references(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable],
                     issues: list[ValidationIssue]) -> None:
    """Values of reference columns (sku, supplier_id) missing from the referenced table."""
    for child_name in list(staged):
        for column, parent_name in staged[child_name].spec.references:
            child, parent = staged[child_name], staged.get(parent_name)
            if parent is None or not parent.structurally_ok or not child.structurally_ok:
                continue
            parent_key = parent.spec.key[0]
            if child.source is not None and child_name == "stock_history":
                continue  # fast path: stock_fast counted unknown skus (staged when any)
            if child.source is not None:  # fast path: its scan counted the lines of unknown skus
                assert column == "sku", column
                unknown = con.execute(sql("load_sales_unknown_skus")).fetchone()[0]
                if not unknown:
                    continue
                child = staged[child_name] = ensure_staged(con, child, issues)
                if not child.structurally_ok:
                    continue
            rows = con.execute(sql("validate_unknown_reference").format(
                raw_table=child.raw_table, column=quote_identifier(column),
                parent_table=parent.raw_table, parent_column=quote_identifier(parent_key),
            )).fetchall()
            found = [ValidationIssue(child.file_name, int(first_line), column,
                                     f"unknown {column} {show(value)} (not in "
                                     f"{parent.file_name}; {rows_with} row(s))")
                     for value, first_line, rows_with, _ in rows]
            issues.extend(_capped(child.file_name, column, f"unknown {column} values",
                                  int(rows[0][3]) if rows else 0, found))
