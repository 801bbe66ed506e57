"""What the ``safestock`` commands print through: the two consoles, the exit codes, and a
stored value as a planner reads it."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)  # progress, warnings and errors
out = Console(soft_wrap=True)  # results

EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_RUN_IN_PROGRESS = 1, 2, 3


def shown_cell(value: object) -> str:
    """A table cell as a planner reads it: dates as dates, numbers with sensible precision."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)
