"""Per-supplier purchase-order CSV files for upload to a purchasing system.

File names come from supplier ids, which are user data: they are sanitised so that no id can
write outside the orders folder (``../x``, ``/``, NUL, control characters). Cells that a
spreadsheet would run as a formula (starting with ``= + - @`` or a tab/CR) are prefixed with a
single quote (OWASP "CSV injection").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ORDER_CSV_COLUMNS = [
    "supplier_id", "sku", "description", "order_quantity", "packs", "pack_size", "unit_cost",
    "line_value", "order_by", "expected_arrival", "reason",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def supplier_csv_name(supplier_id: str) -> str:
    """A readable, unique, path-safe file name for a supplier's order CSV.

    The same name the buyer report links to (``pipelines.reports.supplier_csv_name``): safe
    upper-case ids are kept (``ACME-01`` → ``ACME-01.csv``); any other id (including any id with
    a lower-case letter) becomes a slug of ``[A-Za-z0-9._-]`` plus ``--`` and a hash of the
    original, so ``../x``, ``/``, NUL, control characters and Windows device names (also
    ``con.txt``) cannot escape the folder, and no two names collide even ignoring case
    (``ACME`` / ``acme``). See docs/reports.md.
    """
    from pipelines.reports import supplier_csv_name as report_link_name

    return report_link_name(supplier_id)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells cannot be evaluated as spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False)
            safe[column] = text.where(~risky, "'" + text)
    return safe


def write_supplier_orders(orders: pd.DataFrame, items: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Write one CSV of recommended lines per supplier; returns ``{supplier_id: path}``.

    Files of suppliers without recommended lines this run are removed so that the folder
    always reflects the latest run (the folder belongs to safestock: every ``*.csv`` in it is
    an order file of an earlier run).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.csv"):
        stale.unlink()
    recommended = orders[orders["status"] == "recommended"] if "status" in orders else orders
    if recommended.empty:
        return {}
    lines = recommended.merge(items[["sku", "description", "pack_size"]], on="sku", how="left")
    written: dict[str, Path] = {}
    for supplier_id, supplier_lines in lines.groupby("supplier_id", sort=True):
        path = out_dir / supplier_csv_name(str(supplier_id))
        table = neutralise_formulas(supplier_lines.reindex(columns=ORDER_CSV_COLUMNS))
        table.to_csv(path, index=False, date_format="%Y-%m-%d")
        written[str(supplier_id)] = path
    return written
