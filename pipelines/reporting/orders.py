"""Per-supplier purchase-order CSV files for upload to a purchasing system.

Each run writes its files into its own folder, ``<reports>/orders/<as_of>/`` (:func:`run_orders_dir`),
the folder its buyer report links to; a run for an earlier planning date (a backfill) never touches
the newest date's folder. Every line carries the run id and planning date, and the columns come
in one fixed order (:data:`ORDER_CSV_COLUMNS`, documented in docs/reports.md).

File names come from supplier ids, which are user data: they are sanitised so that no id can
write outside the orders folder (``../x``, ``/``, NUL, control characters). Cells that a
spreadsheet would run as a formula (starting with ``= + - @`` or a tab/CR) are prefixed with a
single quote (OWASP "CSV injection").
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of an order file, in order. The first eleven are the original layout (kept in place so
#: an import mapped by position keeps working); the run's identity and the ERP fields follow, then
#: ``approve``, written empty for the buyer to fill (yes / no) and hand back to ``safestock approve``.
ORDER_CSV_COLUMNS = [
    "supplier_id", "sku", "description", "order_quantity", "packs", "pack_size", "unit_cost",
    "line_value", "order_by", "expected_arrival", "reason", "supplier_sku", "currency", "run_id", "as_of",
    "approve",
]
#: Numeric columns and the decimals they are rounded to (None: written as given; order_quantity:
#: to 6 decimals, which only strips float noise such as 3.3000000000000003 from packs × pack size).
ORDER_CSV_NUMBERS: dict[str, int | None] = {
    "order_quantity": 6, "packs": 0, "pack_size": None, "unit_cost": None, "line_value": 2,
}
ORDERS_FOLDER = "orders"
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


def run_orders_dir(reports_dir: Path, as_of: date | pd.Timestamp) -> Path:
    """The folder of one planning date's order files: ``<reports_dir>/orders/<YYYY-MM-DD>``."""
    return Path(reports_dir) / ORDERS_FOLDER / pd.Timestamp(as_of).strftime("%Y-%m-%d")


def remove_flat_order_files(reports_dir: Path) -> list[Path]:
    """Delete ``<reports_dir>/orders/*.csv``, the single shared folder of versions before per-date
    folders (it held whichever run came last); the per-date folders are left alone. Returns the
    removed paths."""
    removed = sorted(p for p in (Path(reports_dir) / ORDERS_FOLDER).glob("*.csv") if p.is_file())
    for path in removed:
        path.unlink()
    return removed


def number_text(values: pd.Series, decimals: int | None = None) -> pd.Series:
    """Numbers as CSV text an ERP reads as written: a whole value has no decimal point
    (``1630.0`` → ``"1630"``, ``-0.0`` → ``"0"``), any other the shortest text that reads back to
    the same float (``7.5`` → ``"7.5"``), after rounding to ``decimals`` when given; missing → ``""``."""
    numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
    if decimals is not None:
        numbers = numbers.round(decimals)
    finite = np.isfinite(numbers)
    whole = finite & (numbers == np.floor(numbers)) & (numbers.abs() < 2.0**53)
    integers = numbers.where(whole, 0.0).astype(np.int64).astype(str)
    text = numbers.astype(str).where(~whole, integers)
    return text.where(finite, "").astype(object)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells cannot be evaluated as spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False)
            safe[column] = text.where(~risky, "'" + text)
    return safe


def order_file_lines(
    lines: pd.DataFrame, items: pd.DataFrame, *, run_id: str, as_of: date | pd.Timestamp, currency: str | None,
) -> pd.DataFrame:
    """The rows of order files: recommended ``lines`` joined with the item master's description,
    pack size and supplier item code (``supplier_sku``, empty when the master has none), stamped
    with the run id, planning date and currency, in :data:`ORDER_CSV_COLUMNS` order, text cells
    formula-neutralised and numbers as :func:`number_text` writes them; index as ``lines``."""
    master = items.reindex(columns=["sku", "description", "pack_size", "supplier_sku"]).set_index("sku")
    table = lines.drop(columns=[c for c in master.columns if c in lines])
    table = table.join(master, on="sku").assign(  # keeps the lines' index
        currency=currency, run_id=run_id, as_of=pd.Timestamp(as_of).strftime("%Y-%m-%d"))
    table = neutralise_formulas(table.reindex(columns=ORDER_CSV_COLUMNS))
    for column, decimals in ORDER_CSV_NUMBERS.items():
        table[column] = number_text(table[column], decimals)
    return table


def write_supplier_orders(
    orders: pd.DataFrame, items: pd.DataFrame, out_dir: Path, *, run_id: str, as_of: date | pd.Timestamp,
    currency: str | None = None,
) -> dict[str, Path]:
    """Write one CSV of recommended lines per supplier into ``out_dir`` (the run's folder,
    :func:`run_orders_dir`); returns ``{supplier_id: path}``. Columns: :func:`order_file_lines`.

    All or nothing: every file is first written to a hidden temporary name in ``out_dir``; only
    when all are complete are they renamed into place (an atomic rename each) and the files of
    suppliers without recommended lines this run removed, so the folder always reflects one run
    (the folder belongs to safestock: every ``*.csv`` in it is an order file of an earlier run).
    A failure while writing (a full disk, a permission error) leaves the previous files as they
    were and no partial or empty file behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    recommended = orders[orders["status"] == "recommended"] if "status" in orders else orders
    recommended = recommended.reset_index(drop=True)
    staged: dict[str, tuple[Path, Path]] = {}
    try:
        if not recommended.empty:
            lines = order_file_lines(recommended, items, run_id=run_id, as_of=as_of, currency=currency)
            for supplier_id, table in lines.groupby(recommended["supplier_id"], sort=True):
                path = out_dir / supplier_csv_name(str(supplier_id))
                temporary = out_dir / f".{path.name}.{os.getpid()}.tmp"
                staged[str(supplier_id)] = (temporary, path)
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
