"""Per-supplier purchase-order CSV files for upload to a purchasing system.

File names come from supplier ids, which are user data: they are sanitised so that no id can
write outside the orders folder (``../x``, ``/``, NUL, control characters). Cells that a
spreadsheet would run as a formula (starting with ``= + - @`` or a tab/CR) are prefixed with a
single quote (OWASP "CSV injection").
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pandas as pd

ORDER_CSV_COLUMNS = [
    "supplier_id", "sku", "description", "order_quantity", "packs", "pack_size", "unit_cost",
    "line_value", "order_by", "expected_arrival", "reason",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_SLUG_CHARS = 80
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_LOWER_CASE = re.compile(r"[a-z]")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}


def supplier_csv_name(supplier_id: str) -> str:
    """File name (with ``.csv``) for a supplier's order file, safe on any file system.

    Ids made of upper-case letters, digits, ``.``, ``_`` and ``-`` (no lower-case letter, no
    ``..``/``--``, no leading or trailing punctuation, not a Windows device name) are kept as they
    are: ``"SUP-001"`` → ``"SUP-001.csv"``. Any other id becomes a readable slug plus ``--`` and a
    hash of the original id, e.g. ``"A/B"`` → ``"A_B--3f1c…csv"``, ``"acme"`` → ``"acme--…csv"``.

    Why the names never collide, even on a case-insensitive file system (Windows, macOS):
    kept names never contain ``--`` and hashed names always do; two kept ids that differ only by
    case cannot exist (kept ids have no lower-case letter, so lower-casing is one-to-one on
    them); hashed names end in a lower-case hex hash of the exact original id, which differs
    between any two ids (``ACME`` / ``acme`` / ``Acme`` → different hashes).

    Windows reserved device names are judged on the part before the first dot, as Windows does
    (``CON``, ``nul.txt``, ``com1.x``): such ids are always hashed (``CON`` → ``CON--<hash>.csv``)
    and, when a dot follows, the device part gets a ``_`` (``con.txt`` → ``con_.txt--<hash>.csv``),
    so the part of a file name before its first dot is never a device name.
    No ``/``, ``\\``, ``..``, NUL or control characters survive.
    """
    slug = _UNSAFE_FILE_CHARS.sub("_", supplier_id)
    slug = re.sub(r"\.{2,}", ".", slug)
    slug = re.sub(r"-{2,}", "-", slug).strip("._-")[:MAX_SLUG_CHARS].strip("._-")
    stem, dot, rest = slug.partition(".")
    reserved = stem.lower() in _WINDOWS_RESERVED
    if reserved and dot:
        slug = f"{stem}_{dot}{rest}"   # "con.txt--<hash>" would still open the device CON
    if slug != supplier_id or not slug or reserved or _LOWER_CASE.search(slug):
        digest = hashlib.sha256(supplier_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        slug = f"{slug or 'supplier'}--{digest}"
    return f"{slug}.csv"


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

    All or nothing: every file is first written to a hidden temporary name in ``out_dir``; only
    when all are complete are they renamed into place (an atomic rename each) and the files of
    suppliers without recommended lines this run removed, so the folder always reflects one run
    (the folder belongs to safestock: every ``*.csv`` in it is an order file of an earlier run).
    A failure while writing (a full disk, a permission error) leaves the previous files as they
    were and no partial or empty file behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    recommended = orders[orders["status"] == "recommended"] if "status" in orders else orders
    staged: dict[str, tuple[Path, Path]] = {}
    try:
        if not recommended.empty:
            lines = recommended.merge(items[["sku", "description", "pack_size"]], on="sku", how="left")
            for supplier_id, supplier_lines in lines.groupby("supplier_id", sort=True):
                path = out_dir / supplier_csv_name(str(supplier_id))
                temporary = out_dir / f".{path.name}.{os.getpid()}.tmp"
                staged[str(supplier_id)] = (temporary, path)
                table = neutralise_formulas(supplier_lines.reindex(columns=ORDER_CSV_COLUMNS))
                table.to_csv(temporary, index=False, date_format="%Y-%m-%d")
    except BaseException:
        for temporary, _ in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    for temporary, path in staged.values():
        os.replace(temporary, path)
    written = {supplier_id: path for supplier_id, (_, path) in staged.items()}
    for stale in set(out_dir.glob("*.csv")) - set(written.values()):
        stale.unlink()
    return written
