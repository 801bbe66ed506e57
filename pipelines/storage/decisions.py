"""The ``order_decisions`` table: buyers' decisions on order lines (``safestock approve``).

Not a per-run table: ``write_run`` never writes or deletes it (a superseded run's decisions stay,
the buyer made them). ``store_decisions`` writes one file's decisions in one transaction,
replacing earlier decisions on the same (run_id, line_key): the latest decision on a line wins.
``decisions_before`` reads the decisions a run at ``as_of`` plans with (runs with as_of <= it).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from .database import _insert_frame, connect, utc_now
from .tables import output_table

ORDER_DECISIONS = "order_decisions"


def run_order_lines(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[pd.Timestamp, pd.DataFrame]:
    """(as_of, the recommended lines) of run ``run_id``; LookupError when no such succeeded or
    superseded run exists."""
    found = con.execute("select as_of from runs where run_id = ? and status in ('succeeded', 'superseded')",
                        [run_id]).fetchone()
    if found is None:
        raise LookupError(f"no succeeded run {run_id!r} in the database")
    lines = con.execute("select run_id, sku, supplier_id, order_quantity, expected_arrival "
                        "from purchase_recommendations where run_id = ? and status = 'recommended'", [run_id]).df()
    return pd.Timestamp(found[0]), lines


def store_decisions(db_path: Path, decisions: pd.DataFrame, as_of: pd.Timestamp, user: str,
                    *, wait_seconds: float = 0.0) -> int:
    """Store ``decisions`` (``inputs.approvals.read_approval_file``) of the run planned for
    ``as_of``, decided by ``user`` now; returns the rows written."""
    if decisions.empty:
        return 0
    rows = decisions.assign(user=user, decided_at=utc_now(), as_of=pd.Timestamp(as_of).date())
    table = output_table(ORDER_DECISIONS)
    with connect(db_path, wait_seconds=wait_seconds) as con:
        con.begin()
        try:
            con.execute(f'delete from "{ORDER_DECISIONS}" where run_id = ? and line_key in (select unnest(?))',
                        [str(rows["run_id"].iloc[0]), rows["line_key"].tolist()])
            _insert_frame(con, table, rows)
            con.commit()
        except BaseException:
            try:
                con.rollback()
            except duckdb.Error:
                pass
            raise
    return len(rows)


def decisions_before(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every decision on a run planned on or before ``as_of``."""
    return con.execute(f'select * from "{ORDER_DECISIONS}" where as_of <= ? order by as_of, decided_at, line_key',
                       [pd.Timestamp(as_of).date()]).df()
