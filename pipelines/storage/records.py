"""Records of one run: the attempt being written (RunRecord) and what a finished run produced
(RunSummary). They live below the flow, the storage writer and the reporting that share them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class RunRecord:
    """One attempt being written: its id (as_of + start time), planning date and start time."""

    run_id: str
    as_of: pd.Timestamp
    started_at: datetime


@dataclass
class RunSummary:
    """What a finished run produced (printed by the CLI)."""

    run_id: str
    as_of: date
    db_path: Path
    reports: dict[str, Path]
    skus: int
    skus_at_risk: int
    order_lines: int
    order_value: float
    superseded: list[str] = field(default_factory=list)
    #: Sales rows (source lines) the run read into `sales_history`, and the first day an
    #: incremental PostgreSQL pull asked for (None: everything was read).
    rows_pulled: int | None = None
    pulled_from: date | None = None
