"""Cell and value formatters of the planner and buyer reports (jinja2 filters).

:func:`format_value` turns a value into the text a reader sees (units whole, money with 2 or 0
decimals, probabilities as percents, never a '-0'); :func:`raw_value` gives the machine-readable
``data-value`` used for sorting; ``td_*`` build whole table cells from both. Registered as
filters by :func:`safestock.pipelines.reporting.render._environment`.
"""

from __future__ import annotations

import math
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup, escape
from safestock.pipelines.reporting.facets import is_missing

#: Decimals per format kind: units are whole numbers; money has 2 decimals (prices, order values,
#: what an order file says) or 0 (money_whole: estimates and large totals); decimal has 1.
DECIMALS = {"int": 0, "money": 2, "money_whole": 0, "decimal": 1}


def _rounded(number: float, decimals: int) -> float:
    """``number`` rounded to ``decimals``, a negative zero made positive (no '-0' or '-0.0')."""
    return round(number, decimals) + 0.0


def format_value(value: Any, kind: str = "number") -> str:
    """Human-readable value; '–' if missing.

    Kinds: int (units), money (2 decimals), money_whole (0 decimals), decimal (1 decimal), pct
    (probabilities and rates as a percent with 1 decimal), number (0 decimals from 100, else 1),
    date (YYYY-MM-DD) or text. A value that rounds to zero never shows a minus sign."""
    if is_missing(value):
        return "–"
    if kind == "date":
        return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)
    if kind == "text" or isinstance(value, str):
        return str(value)
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if kind == "pct":
        return f"{_rounded(number * 100, 1):.1f}%"
    decimals = DECIMALS.get(kind, 0 if abs(number) >= 100 or number.is_integer() else 1)
    return f"{_rounded(number, decimals):,.{decimals}f}"


def format_change(value: Any, kind: str = "number") -> str:
    """A change vs an earlier value: '+' before a positive one that does not round to zero."""
    text = format_value(value, kind)
    return f"+{text}" if not is_missing(value) and value > 0 and any(c in "123456789" for c in text) else text


@pass_context
def with_currency(context: Any, text: str) -> str:
    """A formatted money value followed by the run's currency code (``currency`` of the
    template context), unchanged when the run states none or the value is missing."""
    currency = context.get("currency")
    return f"{text} {currency}" if currency and text != "–" else text


def raw_value(value: Any) -> str:
    """Machine-readable value for ``data-value`` attributes (sorting, tests); '' if missing."""
    if is_missing(value):
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return str(value)


def td_num(value: Any, kind: str = "number") -> Markup:
    """Right-aligned table cell with the raw value for sorting (escaped)."""
    return Markup(f'<td class="num" data-value="{escape(raw_value(value))}">{escape(format_value(value, kind))}</td>')


def td_date(value: Any) -> Markup:
    """Date table cell with the ISO date for sorting."""
    return Markup(f'<td class="date" data-value="{escape(raw_value(value))}">{escape(format_value(value, "date"))}</td>')


def td_text(value: Any) -> Markup:
    """Text table cell (escaped; '–' when missing)."""
    return Markup(f"<td>{escape(format_value(value, 'text'))}</td>")
