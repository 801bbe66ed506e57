"""Reading a buyer's edited order file (``safestock approve``) into decisions, validated.

The file is an order CSV as a run wrote it (``reporting/orders.py``, columns in docs/reports.md),
edited by the buyer: the ``approve`` column says the decision per line, ``order_quantity`` the
quantity approved (edit it to approve another quantity), an optional ``po_reference`` column
the ERP purchase-order id once placed. ``approve`` values (any case, surrounding spaces ignored):
``yes y approve approved true 1 x`` → approved; ``no n reject rejected false 0`` → rejected; empty →
undecided (not stored). Rules, each broken one an error naming file, line (header = line 1) and
column, and then nothing is stored:

* the file has the columns ``run_id``, ``sku``, ``supplier_id``, ``order_quantity``, ``approve``;
* every line's ``run_id`` is the run being decided (``--run-id``, else the file's one run);
* the sku is a line of that run's order files, for that supplier;
* the sku appears once in the file;
* an approved quantity is a number > 0 (a rejected line's quantity is not read);
* an ``approve`` value is one of the words above.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .contract import InputValidationError, ValidationIssue

APPROVE_WORDS = {"yes": "approved", "y": "approved", "approve": "approved", "approved": "approved",
                 "true": "approved", "1": "approved", "x": "approved",
                 "no": "rejected", "n": "rejected", "reject": "rejected", "rejected": "rejected",
                 "false": "rejected", "0": "rejected"}
REQUIRED_COLUMNS = ("run_id", "sku", "supplier_id", "order_quantity", "approve")


def _cell_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text; the order writer's formula guard (a leading ') removed."""
    text = values.fillna("").astype(str).str.strip()
    return text.where(~text.str.startswith("'"), text.str[1:])


def read_approval_file(path: Path, run_lines: pd.DataFrame, run_id: str | None = None) -> pd.DataFrame:
    """The decisions of the edited order file at ``path`` (rules: module docstring) against
    ``run_lines``, the decided run's recommended lines (run_id, sku, supplier_id, order_quantity,
    expected_arrival; all runs' lines when ``run_id`` is None and the file names one run).

    Returns one row per decided line: run_id, line_key, sku, supplier_id, decision, quantity,
    recommended_quantity, expected_arrival, po_reference, source_file, line (the file line);
    raises ``InputValidationError`` listing every problem."""
    name = Path(path).name
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputValidationError([ValidationIssue(name, None, None, f"cannot read the order file: {error}")]) from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise InputValidationError([ValidationIssue(name, 1, column, "column missing (an order file of "
                                                    "`safestock run` with an `approve` column)") for column in missing])
    line = np.arange(len(table)) + 2
    text = {column: _cell_text(table[column]) for column in REQUIRED_COLUMNS}
    reference = _cell_text(table["po_reference"]) if "po_reference" in table else pd.Series("", index=table.index)
    issues: list[ValidationIssue] = []

    file_runs = sorted(set(text["run_id"]) - {""})
    decided_run = run_id if run_id is not None else (file_runs[0] if len(file_runs) == 1 else None)
    if decided_run is None:
        issues.append(ValidationIssue(name, None, "run_id", f"the file names {len(file_runs)} runs "
                                      f"({', '.join(file_runs) or 'none'}); give --run-id"))
    else:
        for i in np.flatnonzero((text["run_id"] != decided_run).to_numpy()):
            issues.append(ValidationIssue(name, int(line[i]), "run_id", f"line of run {text['run_id'].iloc[i]!r}, "
                                          f"not of run {decided_run!r} being decided: a file from another run"))
    lines = run_lines[run_lines["run_id"] == decided_run].assign(sku=lambda f: f["sku"].astype(str))
    known = lines.drop_duplicates("sku").set_index("sku")
    run_supplier = known["supplier_id"].astype(str).reindex(text["sku"]).to_numpy()
    for i in np.flatnonzero(pd.isna(run_supplier)):
        issues.append(ValidationIssue(name, int(line[i]), "sku", f"unknown sku {text['sku'].iloc[i]!r}: "
                                      f"not an order line of run {decided_run!r}"))
    for i in np.flatnonzero(~pd.isna(run_supplier) & (run_supplier != text["supplier_id"].to_numpy())):
        issues.append(ValidationIssue(name, int(line[i]), "supplier_id", f"sku {text['sku'].iloc[i]!r} is ordered "
                                      f"from {run_supplier[i]!r} in run {decided_run!r}, not "
                                      f"{text['supplier_id'].iloc[i]!r}"))
    for i in np.flatnonzero(text["sku"].duplicated().to_numpy()):
        issues.append(ValidationIssue(name, int(line[i]), "sku", f"sku {text['sku'].iloc[i]!r} appears twice"))
    word = text["approve"].str.lower()
    decision = word.map(APPROVE_WORDS)
    for i in np.flatnonzero((decision.isna() & (word != "")).to_numpy()):
        issues.append(ValidationIssue(name, int(line[i]), "approve", f"{text['approve'].iloc[i]!r} is not a "
                                      "decision: write yes/approved or no/rejected, or leave it empty"))
    quantity = pd.to_numeric(text["order_quantity"], errors="coerce")
    approved = (decision == "approved").to_numpy()
    bad_quantity = approved & ~(np.isfinite(quantity.to_numpy(float)) & (quantity.to_numpy(float) > 0))
    for i in np.flatnonzero(bad_quantity):
        issues.append(ValidationIssue(name, int(line[i]), "order_quantity", f"approved quantity "
                                      f"{text['order_quantity'].iloc[i]!r} is not a number > 0 (reject the line "
                                      "instead of approving 0)"))
    if issues:
        raise InputValidationError(issues)

    decided = decision.notna().to_numpy()
    sku = text["sku"][decided]
    return pd.DataFrame({
        "run_id": decided_run,
        "line_key": (text["supplier_id"][decided] + "/" + sku).to_numpy(),
        "sku": sku.to_numpy(),
        "supplier_id": text["supplier_id"][decided].to_numpy(),
        "decision": decision[decided].to_numpy(),
        "quantity": np.where(approved[decided], quantity[decided].to_numpy(float),
                             known["order_quantity"].reindex(sku).to_numpy(float)),
        "recommended_quantity": known["order_quantity"].reindex(sku).to_numpy(float),
        "expected_arrival": pd.to_datetime(known["expected_arrival"].reindex(sku)).to_numpy(),
        "po_reference": reference[decided].replace("", None).to_numpy(),
        "source_file": str(path),
        "line": line[decided],
    })
