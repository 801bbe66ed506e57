"""DuckDB fixture databases for the report tests (small and consistent, or large and synthetic).

``build_small_db`` inserts a handful of hand-checked rows for two succeeded runs, including
hostile text (``<script>``, ``&``, a ``/`` in a supplier id); ``SMALL_EXPECTED`` holds the KPI
values those rows imply. ``build_scale_db`` generates N SKUs with set-based SQL (fast).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
from safestock.pipelines import storage

RUN_OLD, RUN_NEW = "run-2024-05-05", "run-2024-06-02"
AS_OF_OLD, AS_OF_NEW = dt.date(2024, 5, 5), dt.date(2024, 6, 2)
FIRST_WEEK_OLD, FIRST_WEEK_NEW = dt.date(2024, 5, 6), dt.date(2024, 6, 3)
SCRIPT_DESCRIPTION = "Widget <script>alert(1)</script>"
AMP_SUPPLIER = "Smith & Sons"
HOSTILE_PO_ID = "PO-1</script><script>alert(3)</script>"   # also lands in a plotly chart
HISTORY_WEEKS = 110

# sku, supplier_id, description, unit_cost
ITEMS = [
    ("SKU-001", "SUP-A", SCRIPT_DESCRIPTION, 10.0),
    ("SKU-002", "SUP-A", "Gear & bolt", 5.0),
    ("SKU-003", "SUP/B", "Plain bearing", 2.0),
]
# supplier_id, name, lead_time_days, min_order_value
SUPPLIERS = [("SUP-A", AMP_SUPPLIER, 14.0, 1000.0), ("SUP/B", "Bolt <b>Co</b>", 28.0, 0.0)]
ON_HAND = {RUN_OLD: [120.0, 60.0, 500.0], RUN_NEW: [100.0, 40.0, 500.0]}
# per run, per SKU: stockout_probability, expected units, expected value, weeks of cover
RISK = {
    RUN_OLD: [(0.4, 5.0, 50.0, 4.0), (0.7, 12.0, 60.0, 2.0), (0.05, 0.0, 0.0, 25.0)],
    RUN_NEW: [(0.9, 30.0, 300.0, 2.0), (0.6, 10.0, 50.0, 3.0), (0.1, 0.0, 0.0, 20.0)],
}
# policy_backtest of the new run: demand_class, skus, weeks, service_level_target,
# cycle_service_level, fill_rate_target (NaN: cycle-type run), fill_rate, average_on_hand,
# backorder_units. erratic (5 points) and all (2.5 points) are more than 2 points below target,
# smooth (1 point) is not.
BACKTEST = [
    ("smooth", 2, 26, 0.95, 0.94, float("nan"), 0.97, 120.0, 3.0),
    ("erratic", 1, 26, 0.95, 0.90, float("nan"), 0.91, 40.0, 12.0),
    ("all", 3, 26, 0.95, 0.925, float("nan"), 0.95, 93.3, 15.0),
]
BACKTEST_BELOW_TARGET = ["erratic", "all"]
SMALL_EXPECTED = {
    RUN_NEW: {"skus_at_risk": 2, "expected_backorder_units": 40.0,
              "expected_backorder_value": 350.0, "inventory_value": 2200.0,
              "median_weeks_of_cover": 3.0},
    RUN_OLD: {"skus_at_risk": 1, "expected_backorder_units": 17.0,
              "expected_backorder_value": 110.0, "inventory_value": 2500.0,
              "median_weeks_of_cover": 4.0},
}


def weekly_actual(sku_index: int, week_index: int) -> float:
    """Deterministic weekly demand of the small fixture."""
    return float(10 + (week_index % 5) if sku_index == 0 else 5 + (week_index % 3) if sku_index == 1 else 2)


def old_run_forecast(sku_index: int) -> float:
    """Mean forecast the old run made for every step of one SKU."""
    return (12.0, 6.0, 2.0)[sku_index]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the project's output tables (from the registry) and views."""
    storage.create_schema(con)


def _leading_columns(con: duckdb.DuckDBPyConnection, table: str, count: int) -> str:
    """The first ``count`` columns of ``table`` in schema order, comma-separated.

    Fixture rows fill the columns the reports were written against; columns appended to the
    schema later (it only ever grows) stay NULL, so the fixtures survive schema additions.
    """
    names = [row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_name = ? "
        "order by ordinal_position", [table]).fetchall()]
    return ", ".join(names[:count])


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert rows into the leading columns of ``table``."""
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        columns = _leading_columns(con, table, len(rows[0]))
        con.executemany(f"insert into {table} ({columns}) values ({marks})", rows)


def _insert_query(con: duckdb.DuckDBPyConnection, table: str, body: str, params: dict) -> None:
    """Insert the result of ``body`` (a select or values list) into the leading columns of ``table``."""
    width = len(con.execute(f"select * from ({body}) limit 0", params).description)
    columns = _leading_columns(con, table, width)
    con.execute(f"insert into {table} ({columns}) select * from ({body})", params)


def _insert_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date, first_week: dt.date) -> None:
    """One succeeded run with its input snapshots and risk rows."""
    started = dt.datetime.combine(as_of, dt.time(6))
    _insert(con, "runs", [(run_id, as_of, started, started + dt.timedelta(minutes=3), "succeeded",
                           None, "/in", 1, 3, first_week, 8, "cycle", "{}", "{}")])
    _insert(con, "items_snapshot", [(run_id, sku, sup, desc, cost, 1.0, 0.0, None, "active")
                                    for sku, sup, desc, cost in ITEMS])
    _insert(con, "suppliers_snapshot", [(run_id, sid, name, lt, 7.0, mov)
                                        for sid, name, lt, mov in SUPPLIERS])
    _insert(con, "inventory_snapshot", [(run_id, item[0], qty, 0.0, as_of)
                                        for item, qty in zip(ITEMS, ON_HAND[run_id])])
    stockout_week = first_week + dt.timedelta(weeks=2)
    _insert(con, "backorder_risk", [
        (run_id, item[0], item[1], on_hand, 0.0, 0.0, on_hand, prob, units, value, cover,
         stockout_week if prob >= 0.5 else None, as_of + dt.timedelta(days=3))
        for item, on_hand, (prob, units, value, cover) in zip(ITEMS, ON_HAND[run_id], RISK[run_id])
    ])


def _insert_forecasts(con: duckdb.DuckDBPyConnection) -> None:
    """Eight weekly forecast steps per SKU for both runs."""
    rows = []
    for run_id, first_week in ((RUN_OLD, FIRST_WEEK_OLD), (RUN_NEW, FIRST_WEEK_NEW)):
        for sku_index, item in enumerate(ITEMS):
            mean = old_run_forecast(sku_index) if run_id == RUN_OLD else old_run_forecast(sku_index) + 1
            for step in range(1, 9):
                week = first_week + dt.timedelta(weeks=step - 1)
                rows.append((run_id, item[0], week, step, mean, mean * 0.7, mean * 1.3,
                             mean * 0.5, mean * 1.5, "ets", mean * 0.2))
    _insert(con, "forecasts", rows)


def _insert_new_run_details(con: duckdb.DuckDBPyConnection) -> None:
    """Policy, projection, classes, accuracy, suppliers, orders and notes of the new run."""
    run = RUN_NEW
    _insert(con, "sku_class", [(run, "SKU-001", "smooth", 1.0, 0.1, "A", "X", 110, 5000.0),
                               (run, "SKU-002", "erratic", 1.1, 0.6, "B", "Y", 110, 1500.0),
                               (run, "SKU-003", "smooth", 1.0, 0.0, "C", "X", 110, 220.0)])
    _insert(con, "forecast_accuracy", [
        (run, sku, model, 0.8, 0.7, 0.2, 0.05, model == ("sba" if sku == "SKU-002" else "ses_events"))
        for sku in ("SKU-001", "SKU-002", "SKU-003") for model in ("ses_events", "sba")
    ])
    _insert(con, "inventory_policy", [
        (run, item[0], item[1], 0.95, "cycle", 2.0, 0.5, 1.0, 11.0, 3.0, 33.0, 6.0, ss, rop, rop + 40,
         60.0, "normal")
        for item, ss, rop in zip(ITEMS, (15.0, 8.0, 3.0), (48.0, 25.0, 9.0))
    ])
    _insert(con, "projection", [
        (run, item[0], FIRST_WEEK_NEW + dt.timedelta(weeks=step - 1), step, 12.0,
         60.0 if (sku_index == 0 and step == 3) else 0.0, max(on_hand - 12.0 * step, 0.0), 0.1 * step, 0.0)
        for sku_index, (item, on_hand) in enumerate(zip(ITEMS, ON_HAND[run])) for step in range(1, 9)
    ])
    _insert(con, "lead_times", [(run, item[0], item[1], 2.0, 0.5, 3.0, 6, "sku") for item in ITEMS])
    _insert(con, "supplier_risk", [
        (run, "SUP-A", AMP_SUPPLIER, 2, 2, 40.0, 350.0, 2.0, 3.0, 0.8, 10, 2.5),
        (run, "SUP/B", "Bolt <b>Co</b>", 1, 0, 0.0, 0.0, 4.0, 5.5, 0.95, 4, 0.5),
    ])
    _insert(con, "purchase_recommendations", [
        (run, "SUP-A", "SKU-001", 60.0, 6, AS_OF_NEW + dt.timedelta(days=3), dt.date(2024, 6, 19),
         10.0, 600.0, "below reorder point <urgent>", "recommended"),
        (run, "SUP-A", "SKU-002", 20.0, 2, AS_OF_NEW + dt.timedelta(days=10), dt.date(2024, 6, 26),
         5.0, 100.0, "below reorder point", "deferred"),
        (run, "SUP/B", "SKU-003", 100.0, 10, AS_OF_NEW + dt.timedelta(days=5), dt.date(2024, 7, 5),
         2.0, 200.0, "order-up-to", "recommended"),
    ])
    _insert(con, "purchase_orders_snapshot", [
        (run, HOSTILE_PO_ID, "SKU-001", "SUP-A", 60.0, dt.date(2024, 5, 20), dt.date(2024, 6, 17), None, None, "open"),
        (run, "PO-0", "SKU-001", "SUP-A", 50.0, dt.date(2024, 4, 1), dt.date(2024, 4, 15),
         dt.date(2024, 4, 16), 50.0, "closed"),
    ])
    _insert(con, "policy_backtest", [(run, *row) for row in BACKTEST])
    _insert(con, "data_quality", [
        (run, "items.csv", 7, "unit_cost", "warning", "negative unit cost <img src=x onerror=alert(2)>; row dropped", 1),
        (run, "suppliers.csv", None, "review_period_days", "info", "defaulted to 7 days", 2),
    ])


def build_small_db(path: Path) -> Path:
    """Two succeeded runs of three SKUs (forecast_coverage deliberately empty; the old run has
    no supplier_risk and no policy_backtest rows)."""
    with duckdb.connect(str(path)) as con:
        create_schema(con)
        _insert_run(con, RUN_OLD, AS_OF_OLD, FIRST_WEEK_OLD)
        _insert_run(con, RUN_NEW, AS_OF_NEW, FIRST_WEEK_NEW)
        first_history_week = FIRST_WEEK_NEW - dt.timedelta(weeks=HISTORY_WEEKS)
        _insert(con, "sales_weekly", [
            (item[0], first_history_week + dt.timedelta(weeks=w), weekly_actual(i, w))
            for i, item in enumerate(ITEMS) for w in range(HISTORY_WEEKS)
        ])
        _insert_forecasts(con)
        _insert_new_run_details(con)
    return path


def expected_tracking_old_run() -> tuple[float, float]:
    """WAPE and bias of the old run's step 1..4 forecasts against the small fixture's actuals."""
    first_history_week = FIRST_WEEK_NEW - dt.timedelta(weeks=HISTORY_WEEKS)
    abs_error = error = actual_total = 0.0
    for sku_index in range(len(ITEMS)):
        for step in range(1, 5):
            week = FIRST_WEEK_OLD + dt.timedelta(weeks=step - 1)
            actual = weekly_actual(sku_index, (week - first_history_week).days // 7)
            forecast = old_run_forecast(sku_index)
            abs_error += abs(forecast - actual)
            error += forecast - actual
            actual_total += actual
    return abs_error / actual_total, error / actual_total


SCALE_SQL = """
insert into runs
select run_id, as_of, as_of::timestamp, as_of::timestamp + interval 5 minute, 'succeeded', null,
       '/in', 1, $skus, as_of + 1, $horizon, 'cycle', '{}', '{}'
from (values ('scale-old', date '2024-05-05'), ('scale-new', date '2024-06-02')) as r(run_id, as_of);

create temp table sku_ids as
select i, printf('SKU-%07d', i) as sku, printf('SUP-%03d', i % $suppliers) as supplier_id,
       (hash(i) % 1000) / 1000.0 as u
from range($skus) as t(i);

insert into items_snapshot
select r.run_id, sku, supplier_id, 'Item ' || sku || ' <b>&</b>', 1 + (i % 50), 1, 0, null, 'active'
from sku_ids cross join runs as r;
insert into suppliers_snapshot
select r.run_id, printf('SUP-%03d', s), 'Supplier ' || s || ' & Co', 14, 7, 500
from range($suppliers) as t(s) cross join runs as r;
insert into inventory_snapshot select r.run_id, sku, 20 + i % 30, 0, r.as_of from sku_ids cross join runs as r;
insert into backorder_risk
select r.run_id, sku, supplier_id, 20 + i % 30, 5, 0, 25 + i % 30, u, u * 10, u * 10 * (1 + i % 50),
       1 + u * 10, case when u > 0.5 then r.as_of + 15 end, r.as_of + 3
from sku_ids cross join runs as r;
insert into sku_class select 'scale-new', sku, case when u < 0.5 then 'smooth' else 'lumpy' end,
       1, 0.3, 'A', 'X', 104, 100 from sku_ids;
insert into forecast_accuracy select 'scale-new', sku, 'ets', 0.9, 0.8, 0.3, 0.02, true from sku_ids;
insert into forecast_coverage (run_id, demand_class, series, coverage80, coverage95)
    values ('scale-new', 'smooth', 10, 0.79, 0.94), ('scale-new', 'lumpy', 10, 0.7, 0.9);
insert into inventory_policy
select 'scale-new', sku, supplier_id, 0.95, 'cycle', 2, 0.5, 1, 5, 2, 15, 4, 6, 21, 40, 50, 'normal', 13
from sku_ids;
insert into sales_weekly
select sku, date '2024-06-03' - (7 * (w + 1))::integer, (hash(i, w) % 10)::double
from sku_ids cross join range($history) as t(w);
insert into forecasts (run_id, sku, week, step, mean, lo80, hi80, lo95, hi95, model, sd)
select r.run_id, sku, r.as_of + 1 + (7 * (s - 1))::integer, s, 5, 3, 7, 2, 8, 'ets', 1.5
from sku_ids cross join runs as r cross join range(1, $horizon + 1) as t(s);
insert into projection
select 'scale-new', sku, date '2024-06-03' + (7 * (s - 1))::integer, s, 5, 0, greatest(30 - 5 * s, 0), 0.1, 0
from sku_ids cross join range(1, $horizon + 1) as t(s);
insert into supplier_risk
select 'scale-new', printf('SUP-%03d', s), 'Supplier ' || s || ' & Co', 100, 50, 500, 5000, 2, 3, 0.9, 20, 1
from range($suppliers) as t(s);
insert into purchase_recommendations
select 'scale-new', supplier_id, sku, 10, 1, date '2024-06-05' + (i % 21)::integer, date '2024-06-20' + (i % 21)::integer,
       1 + (i % 50), 10 * (1 + (i % 50)), 'below reorder point', 'recommended'
from sku_ids where i % 3 = 0;
insert into purchase_orders_snapshot
select 'scale-new', 'PO-' || i, sku, supplier_id, 10, date '2024-05-20', date '2024-06-10', null, null, 'open'
from sku_ids where i % 4 = 0;
insert into data_quality
select 'scale-new', 'sales.csv', i, 'quantity', 'warning', 'negative quantity set to 0 (' || (i % 700) || ')', 1
from range(2000) as t(i);
"""


_INSERT_STATEMENT = re.compile(r"\s*insert into (?P<table>\w+)\s+(?P<body>(?:select|values)\b.*)", re.S)


def build_scale_db(path: Path, skus: int, *, history_weeks: int = 104, horizon: int = 13,
                   suppliers: int = 200) -> Path:
    """Synthetic runs 'scale-old'/'scale-new' with ``skus`` SKUs, generated set-based in DuckDB."""
    params = {"skus": skus, "history": history_weeks, "horizon": horizon, "suppliers": suppliers}
    with duckdb.connect(str(path)) as con:
        create_schema(con)
        for statement in filter(str.strip, SCALE_SQL.split(";")):
            used = {name: value for name, value in params.items() if f"${name}" in statement}
            insert = _INSERT_STATEMENT.match(statement)
            if insert:
                _insert_query(con, insert["table"], insert["body"], used)
            else:
                con.execute(statement, used)
    return path
