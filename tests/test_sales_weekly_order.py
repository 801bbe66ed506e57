"""The loader's weekly sales (sql/sales_weekly_aggregate.sql) come ordered by sku (byte order),
then week, with a fresh 0..n-1 index, as an ORDER BY sku, week gives them, although the query
sorts on each sku's number (sql/load_sales_sku_ids.sql: 1..n in sku order) instead of the text (docs/postgres-source.md
"File runs end to end"); totals, clipping and the complete-week rule unchanged."""

from __future__ import annotations

import duckdb
import pandas as pd
from safestock.pipelines.sqlfiles import sql


def test_weekly_sales_are_ordered_by_sku_then_week_and_summed_per_complete_week() -> None:
    skus = [f"S{n:03d}" for n in range(300)] + ["b"]  # 'b' sorts after 'S' (byte order)
    # stored in reverse sku order, newest day first: Mon 02-09 (2 + 1), Sun 02-08, Mon 02-02, and a
    # day of the incomplete week of as_of (02-16, excluded)
    days = [("2026-02-16", 5.0), ("2026-02-10", 1.0), ("2026-02-09", 2.0), ("2026-02-08", -4.0), ("2026-02-02", 1.0)]
    rows = [(sku, day, quantity) for sku in reversed(skus) for day, quantity in days]
    frame = pd.DataFrame(rows, columns=["sku", "day", "quantity"])
    with duckdb.connect() as con:
        con.register("frame", frame)
        con.execute("create temp table raw_sales as select row_number() over () + 1 as line, sku, day as \"date\", "
                    "cast(quantity as varchar) as quantity from frame")
        con.execute(sql("load_sales_sku_ids").format(staged_table="raw_sales"))
        con.execute(sql("load_sales_daily").format(unit_price="null"))
        weekly = con.execute(sql("sales_weekly_aggregate"), {"as_of": pd.Timestamp("2026-02-16").date()}).df()
    assert weekly["sku"].tolist() == [sku for sku in skus for _ in range(2)]
    assert weekly["week"].dt.strftime("%m-%d").tolist() == ["02-02", "02-09"] * len(skus)
    assert weekly.index.tolist() == list(range(2 * len(skus)))
    # week of 02-02: 1 - 4 = -3, clipped to 0 (net_quantity keeps -3); week of 02-09: 2 + 1 = 3
    assert weekly["quantity"].tolist() == [0.0, 3.0] * len(skus)
    assert weekly["net_quantity"].tolist() == [-3.0, 3.0] * len(skus)
