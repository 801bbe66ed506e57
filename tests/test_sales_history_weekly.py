"""The weekly totals kept beside the sales history (issue 15, speed): `sales_history_weekly` holds
each sku-week's stored days summed and counted, each write re-aggregates only the weeks its pull
touched, in the same transaction as `sales_history`, and a run from the history reads them instead
of every stored day (`history.weekly_sales`); a file run's write empties them (it plans from its
files) and the next database run rebuilds them. Hand-built pulls over ISO weeks W1 = Mon 2026-02-02 ..
Sun 02-08, W2 = 02-09 .. 02-15, W3 = 02-16 .. 02-22, W4 = 02-23 .. 03-01; late corrections cross the
week boundaries (a window starting on a Saturday or a Sunday)."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from safestock.pipelines import storage
from safestock.pipelines.sqlfiles import sql
from safestock.pipelines.storage import history
from safestock.pipelines.storage.database import connect

AS_OF = pd.Timestamp("2026-03-01")  # a Sunday: W1 .. W4 complete


def _parquet(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    """A pull file as the loader writes it: sku, date, quantity, lines (one line per row)."""
    frame = pd.DataFrame(rows, columns=["sku", "date", "quantity"]).assign(lines=1)
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute("copy (select sku, cast(date as date) as date, quantity, lines from frame) to $path "
                    "(format parquet)", {"path": str(path)})
    return path


def _pull(folder: Path, name: str, rows: list[tuple[str, str, float]], skus: list[str], pulled_from: str | None,
          *, open_end: bool = True) -> history.SalesHistoryUpdate:
    (folder / name).mkdir()
    start = None if pulled_from is None else datetime.date.fromisoformat(pulled_from)
    return history.describe_pull(_parquet(folder / name / "sales_daily.parquet", rows), "pg", start,
                                 open_end=open_end, skus=skus)


def _write(db: Path, update: history.SalesHistoryUpdate) -> None:
    with connect(db) as con:
        con.begin()
        history.write_history(con, update, datetime.datetime(2026, 3, 2, 6, 0))
        con.commit()


def _stored_weekly(db: Path) -> list[tuple[str, str, float, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select sku, strftime(week, '%m-%d'), quantity, days from sales_history_weekly "
                           "order by sku, week").fetchall()


def _reaggregated(db: Path) -> list[tuple[str, str, float, int]]:
    """The weekly totals of every stored day, aggregated from scratch (what the table must equal)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select sku, strftime(date_trunc('week', \"date\"), '%m-%d') as week, sum(quantity), "
                           "count(*) from sales_history group by all order by sku, week").fetchall()


def _weekly_from_all_days(db: Path, update: history.SalesHistoryUpdate) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql("sales_history_weekly_all_days"),
                           {**update.parameters(), "as_of": AS_OF.date()}).df()


def _planned(weekly: pd.DataFrame) -> list[tuple[str, str, float]]:
    return [(sku, week.strftime("%m-%d"), quantity) for sku, week, quantity in weekly.itertuples(index=False)]


def _first_pull(tmp_path: Path) -> history.SalesHistoryUpdate:
    """A full pull of items A, B, Z."""
    return _pull(tmp_path, "p1", [("A", "2026-02-02", 1.0), ("A", "2026-02-05", 2.0), ("A", "2026-02-08", 3.0),
                                  ("A", "2026-02-10", 4.0), ("A", "2026-02-14", 5.0), ("B", "2026-02-03", 10.0),
                                  ("B", "2026-02-12", -3.0), ("Z", "2026-02-09", 7.0)], ["A", "B", "Z"], None)


def test_weekly_totals_follow_several_pulls_with_late_corrections_across_week_boundaries(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    _write(db, _first_pull(tmp_path))
    # A: W1 = 1 + 2 + 3, W2 = 4 + 5; B: W1 = 10, W2 = -3 (a return: stored unclipped); Z: W2 = 7
    assert _stored_weekly(db) == [("A", "02-02", 6.0, 3), ("A", "02-09", 9.0, 2), ("B", "02-02", 10.0, 1),
                                  ("B", "02-09", -3.0, 1), ("Z", "02-09", 7.0, 1)]

    # incremental from Saturday 02-07 (items A, B; Z is no longer an item): A's 02-07 new (20), 02-08
    # corrected 3 -> 30, 02-10 deleted at the source, 02-14 unchanged, 02-17 new; B's 02-12 corrected
    # -3 -> -1, 02-16 new
    second = _pull(tmp_path, "p2", [("A", "2026-02-07", 20.0), ("A", "2026-02-08", 30.0), ("A", "2026-02-14", 5.0),
                                    ("A", "2026-02-17", 8.0), ("B", "2026-02-12", -1.0), ("B", "2026-02-16", 4.0)],
                   ["A", "B"], "2026-02-07")
    planned = history.weekly_sales(db, second, AS_OF)
    # A: W1 = 1 + 2 + 20 + 30 = 53, W2 = 5, W3 = 8; B: W1 10, W2 -1 clipped to 0, W3 4; Z's W2 kept
    assert _planned(planned) == [("A", "02-02", 53.0), ("A", "02-09", 5.0), ("A", "02-16", 8.0),
                                 ("B", "02-02", 10.0), ("B", "02-09", 0.0), ("B", "02-16", 4.0), ("Z", "02-09", 7.0)]
    pd.testing.assert_frame_equal(planned, _weekly_from_all_days(db, second))
    _write(db, second)
    assert _stored_weekly(db) == [("A", "02-02", 53.0, 4), ("A", "02-09", 5.0, 1), ("A", "02-16", 8.0, 1),
                                  ("B", "02-02", 10.0, 1), ("B", "02-09", -1.0, 1), ("B", "02-16", 4.0, 1),
                                  ("Z", "02-09", 7.0, 1)]
    assert _stored_weekly(db) == _reaggregated(db)

    # incremental from Sunday 02-15: A's 02-15 new (W2), 02-17 corrected 8 -> 9, 02-23 new (W4); B pulls
    # nothing: its 02-16 was deleted at the source, so B's W3 disappears
    third = _pull(tmp_path, "p3", [("A", "2026-02-15", 2.0), ("A", "2026-02-17", 9.0), ("A", "2026-02-23", 1.0)],
                  ["A", "B"], "2026-02-15")
    planned = history.weekly_sales(db, third, AS_OF)
    assert _planned(planned) == [("A", "02-02", 53.0), ("A", "02-09", 7.0), ("A", "02-16", 9.0), ("A", "02-23", 1.0),
                                 ("B", "02-02", 10.0), ("B", "02-09", 0.0), ("Z", "02-09", 7.0)]
    pd.testing.assert_frame_equal(planned, _weekly_from_all_days(db, third))
    _write(db, third)
    assert _stored_weekly(db) == [("A", "02-02", 53.0, 4), ("A", "02-09", 7.0, 2), ("A", "02-16", 9.0, 1),
                                  ("A", "02-23", 1.0, 1), ("B", "02-02", 10.0, 1), ("B", "02-09", -1.0, 1),
                                  ("Z", "02-09", 7.0, 1)]
    assert _stored_weekly(db) == _reaggregated(db)

    # a file of items A and C covering Wed 02-04 .. Wed 02-11 (two partial weeks): A's 02-05, 02-07 and
    # 02-08 go, 02-04 = 100 comes; C is new; B is not one of its items and keeps its days. A file run
    # plans from its files: its write empties the weekly totals instead of re-aggregating them
    fourth = _pull(tmp_path, "p4", [("A", "2026-02-04", 100.0), ("C", "2026-02-11", 6.0)], ["A", "C"], None,
                   open_end=False)
    _write(db, fourth)
    assert _stored_weekly(db) == []
    # the next database pull (from Monday 02-23, items A, B, C) reads from the days and rebuilds them
    fifth = _pull(tmp_path, "p5", [("A", "2026-02-23", 1.0), ("A", "2026-02-24", 3.0)], ["A", "B", "C"],
                  "2026-02-23")
    planned = history.weekly_sales(db, fifth, AS_OF)
    assert _planned(planned) == [("A", "02-02", 101.0), ("A", "02-09", 7.0), ("A", "02-16", 9.0), ("A", "02-23", 4.0),
                                 ("B", "02-02", 10.0), ("B", "02-09", 0.0), ("C", "02-09", 6.0), ("Z", "02-09", 7.0)]
    pd.testing.assert_frame_equal(planned, _weekly_from_all_days(db, fifth))
    _write(db, fifth)
    assert _stored_weekly(db) == [("A", "02-02", 101.0, 2), ("A", "02-09", 7.0, 2), ("A", "02-16", 9.0, 1),
                                  ("A", "02-23", 4.0, 2), ("B", "02-02", 10.0, 1), ("B", "02-09", -1.0, 1),
                                  ("C", "02-09", 6.0, 1), ("Z", "02-09", 7.0, 1)]
    assert _stored_weekly(db) == _reaggregated(db)


def test_weekly_sales_read_the_stored_totals_of_the_weeks_a_pull_does_not_touch(tmp_path: Path) -> None:
    """The run reads W1's stored total, not its days: a total set by hand shows through; the touched W2 is
    re-aggregated from the days."""
    db = tmp_path / "h.duckdb"
    _write(db, _first_pull(tmp_path))
    with duckdb.connect(str(db)) as con:
        con.execute("update sales_history_weekly set quantity = 600 where sku = 'A' and week = date '2026-02-02'")
        con.execute("update sales_history_weekly set quantity = 900 where sku = 'A' and week = date '2026-02-09'")
    pull = _pull(tmp_path, "p2", [("A", "2026-02-14", 50.0)], ["A", "B"], "2026-02-13")
    weekly = history.weekly_sales(db, pull, AS_OF)
    assert _planned(weekly[weekly["sku"] == "A"]) == [("A", "02-02", 600.0), ("A", "02-09", 4.0 + 50.0)]


def _summary() -> dict[str, object]:
    return {"skus": 2, "first_forecast_week": None, "horizon_weeks": 26, "service_level_type": "cycle",
            "input_files": "{}"}


def test_a_write_failing_midway_leaves_the_history_and_its_weekly_totals_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "h.duckdb"
    _write(db, _first_pull(tmp_path))
    with duckdb.connect(str(db), read_only=True) as con:
        days_before = con.execute("select * from sales_history order by sku, date").df()
    weekly_before = _stored_weekly(db)
    pull = _pull(tmp_path, "p2", [("A", "2026-02-08", 30.0), ("A", "2026-02-17", 8.0)], ["A", "B"], "2026-02-07")
    real_sql = history.sql

    def failing_sql(name: str) -> str:
        if name == "sales_history_weekly_refresh_insert":  # after the days and the old weekly rows were deleted
            raise OSError("disk full (simulated) while re-aggregating the touched weeks")
        return real_sql(name)

    monkeypatch.setattr(history, "sql", failing_sql)
    run = storage.start_run(db, AS_OF, "pg", {})
    with pytest.raises(OSError, match="simulated"):
        storage.write_run(db, run, {}, pd.DataFrame(columns=["sku", "week", "quantity"]), _summary(), history=pull)
    with duckdb.connect(str(db), read_only=True) as con:
        pd.testing.assert_frame_equal(con.execute("select * from sales_history order by sku, date").df(), days_before)
    assert _stored_weekly(db) == weekly_before
    monkeypatch.setattr(history, "sql", real_sql)
    storage.write_run(db, run, {}, pd.DataFrame(columns=["sku", "week", "quantity"]), _summary(), history=pull)
    assert ("A", "02-02", 1.0 + 2.0 + 30.0, 3) in _stored_weekly(db) and _stored_weekly(db) == _reaggregated(db)


def test_a_database_from_before_the_weekly_totals_is_read_from_its_days_and_back_filled_by_its_first_write(
        tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    _write(db, _first_pull(tmp_path))
    with duckdb.connect(str(db)) as con:  # as an older safestock left the file: no weekly totals
        con.execute("drop table sales_history_weekly")
    pull = _pull(tmp_path, "p2", [("A", "2026-02-08", 30.0), ("A", "2026-02-17", 8.0)], ["A", "B"], "2026-02-07")
    # A's 02-10, 02-14 and B's 02-12 are in the window (from 02-07) and not pulled again: gone
    expected = [("A", "02-02", 33.0), ("A", "02-16", 8.0), ("B", "02-02", 10.0), ("Z", "02-09", 7.0)]
    with duckdb.connect(str(db), read_only=True) as con:
        assert not history.weekly_totals_in_sync(con)  # no table: read from the days
    assert _planned(history.weekly_sales(db, pull, AS_OF)) == expected
    storage.start_run(db, AS_OF, "pg", {})  # the run's schema step creates the table, empty
    with duckdb.connect(str(db), read_only=True) as con:
        assert not history.weekly_totals_in_sync(con)  # empty beside a filled history
    planned = history.weekly_sales(db, pull, AS_OF)
    assert _planned(planned) == expected
    _write(db, pull)  # the first write back-fills every week
    assert _stored_weekly(db) == _reaggregated(db) == [
        ("A", "02-02", 33.0, 3), ("A", "02-16", 8.0, 1), ("B", "02-02", 10.0, 1), ("Z", "02-09", 7.0, 1)]
    with duckdb.connect(str(db), read_only=True) as con:
        assert history.weekly_totals_in_sync(con)
