"""What the report filters know about each table row, and the SKU link targets.

Every table row of the planner and buyer reports carries ``data-`` attributes (supplier, category,
ABC class, risk status, SKU); ``reports/report.js`` builds each table's filter controls from the
values present, with no per-table code. Templates call :func:`row_attrs` with what the row knows
itself; the rest comes from the SKU's facets (``sql/report_sku_facets.sql``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
from jinja2 import pass_context
from markupsafe import Markup, escape
from safestock.pipelines.reporting.data import records


def is_missing(value: Any) -> bool:
    """True for None, NaN and NaT. Strings, floats and ints answer without ``pd.isna`` (a report
    cell calls this two or three times: hundreds of thousands of calls per report)."""
    if value is None:
        return True
    if isinstance(value, str):
        return False
    if isinstance(value, float):  # numpy's float64 too
        return value != value
    if isinstance(value, int):  # bool too; numpy integers are no int and take the general path
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


#: Row attributes the generic filters of reports/report.js read (supplier, category, ABC class,
#: risk status), plus the SKU and the supplier's display name.
FACET_ATTRIBUTES = ("sku", "supplier", "supplier-name", "category", "abc", "risk")


def sku_anchor(sku: Any) -> str:
    """The HTML id of a SKU's row in the planner's "Forecast and stock of ordered SKUs" table
    (``plan-`` + 12 hex digits of SHA-256: any SKU code gives a valid, stable fragment)."""
    return f"plan-{hashlib.sha256(str(sku).encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def risk_status(skus_at_risk: Any) -> str:
    """A supplier row's risk status for the filters: 'at risk' when any of its SKUs is."""
    return "not at risk" if is_missing(skus_at_risk) or not skus_at_risk else "at risk"


@pass_context
def row_attrs(context: Any, sku: Any = None, supplier_id: Any = None, supplier_name: Any = None,
              abc: Any = None, category: Any = None, risk: Any = None) -> Markup:
    """`` data-…`` attributes of a table row for the filters (escaped; missing values left out).
    Values not given are taken from the SKU's facets (``facets`` of the template context:
    report_sku_facets rows by SKU), so a template only names what its row knows itself."""
    known = context.get("facets", {}).get(str(sku), {}) if not is_missing(sku) else {}
    values = {
        "sku": sku,
        "supplier": supplier_id if not is_missing(supplier_id) else known.get("supplier_id"),
        "supplier-name": supplier_name if not is_missing(supplier_name) else known.get("supplier_name"),
        "category": category if not is_missing(category) else known.get("category"),
        "abc": abc if not is_missing(abc) else known.get("abc"),
        "risk": risk if not is_missing(risk) else known.get("risk"),
    }
    return Markup("".join(f' data-{name}="{escape(str(values[name]))}"' for name in FACET_ATTRIBUTES
                          if not is_missing(values[name]) and str(values[name]) != ""))


def facet_map(facets: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """report_sku_facets rows by SKU."""
    return {str(row["sku"]): row for row in records(facets)}
