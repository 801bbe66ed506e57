"""`history.weekly_sales` returns the sku-weeks ordered by sku (byte order), then week, with a fresh
0..n-1 index, as an ORDER BY sku, week gives them, although its query (sql/sales_history_weekly.sql)
sorts on each sku's rank among the distinct skus instead of the text (docs/postgres-source.md "Speed")."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pandas as pd
from safestock.pipelines.storage import history
from safestock.pipelines.storage.database import connect


def _pull(path: Path, rows: list[tuple[str, str, float]], skus: list[str],
          pulled_from: datetime.date | None) -> history.SalesHistoryUpdate:
    frame = pd.DataFrame(rows, columns=["sku", "date", "quantity"]).assign(lines=1)
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute("copy (select sku, cast(date as date) as date, quantity, lines from frame) to $path "
                    "(format parquet)", {"path": str(path)})
    return history.describe_pull(path, "pg", pulled_from, open_end=True, skus=skus)


def test_weekly_sales_are_ordered_by_sku_then_week(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    skus = [f"S{n:03d}" for n in range(300)]
    # stored in reverse sku order, newest week first; 'b' sorts after 'S' (byte order, as ORDER BY)
    stored = [(sku, day, 1.0) for sku in reversed(skus + ["b"]) for day in ("2026-02-09", "2026-02-02")]
    with connect(db) as con:
        con.begin()
        history.write_history(con, _pull(tmp_path / "1.parquet", stored, skus + ["b"], None),
                              datetime.datetime(2026, 3, 2, 6, 0))
        con.commit()
    # an incremental pull from 02-11 adds a day of S150 in the week of 02-09: 1 + 2 = 3
    pull = _pull(tmp_path / "2.parquet", [("S150", "2026-02-12", 2.0)], skus, datetime.date(2026, 2, 11))
    weekly = history.weekly_sales(db, pull, pd.Timestamp("2026-02-16"))
    assert weekly["sku"].tolist() == [sku for sku in skus + ["b"] for _ in range(2)]
    assert weekly["week"].dt.strftime("%m-%d").tolist() == ["02-02", "02-09"] * 301
    assert weekly.index.tolist() == list(range(602))
    assert weekly.loc[(weekly["sku"] == "S150"), "quantity"].tolist() == [1.0, 3.0]
