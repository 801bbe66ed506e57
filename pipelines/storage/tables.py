"""The output-table registry: every table of the results database, declared once.

Each ``OutputTable`` names a table, says what one row is, and lists its columns in database order
with their DuckDB types, nullability and meaning. The registry drives the schema
(``storage.schema.schema_ddl``), the writer (``database.write_run`` writes and validates the
per-run tables), the assembly of a run's outputs (``outputs.assemble_outputs``) and the
generated table list ``docs/output-tables.md``. Adding an output table means: an entry here, the
model function producing its frame, and wiring that frame into ``assemble_outputs``.

The names, types and order of the columns are the public interface: append columns, never rename
or retype them (databases written by an older safestock gain appended columns when opened), except
to widen a type that values the input contract accepts would overflow (``schema.WIDENINGS``, e.g.
INTEGER → BIGINT; an older database's column is altered in place when opened). A column appended
to an existing table must be nullable: rows written before it have no value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
DUCKDB_TYPES = frozenset({"varchar", "double", "integer", "bigint", "boolean", "date", "timestamp"})


@dataclass(frozen=True)
class Column:
    """One column: ``name`` (identifier), DuckDB ``type``, meaning, and whether NULL is allowed."""

    name: str
    type: str
    description: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if not IDENTIFIER.fullmatch(self.name):
            raise ValueError(f"column name {self.name!r} is not an identifier [a-z_][a-z0-9_]*")
        if self.type not in DUCKDB_TYPES:
            raise ValueError(f"column {self.name!r}: type {self.type!r} is not one of {sorted(DUCKDB_TYPES)}")


@dataclass(frozen=True)
class OutputTable:
    """One table of the results database.

    ``grain`` says what one row is; ``key`` lists the columns that identify a row (documented and
    kept unique by the writers; enforced as a PRIMARY KEY only when ``primary_key``). ``per_run``
    tables carry ``run_id`` first and are written by ``write_run`` from ``assemble_outputs``.
    """

    name: str
    description: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    per_run: bool = True
    primary_key: bool = False

    def __post_init__(self) -> None:
        if not IDENTIFIER.fullmatch(self.name):
            raise ValueError(f"table name {self.name!r} is not an identifier [a-z_][a-z0-9_]*")
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} declares a column twice")
        if missing := [k for k in self.key if k not in names]:
            raise ValueError(f"table {self.name!r}: key columns {missing} are not columns")
        if self.per_run and (names[:1] != ["run_id"] or self.columns[0].nullable):
            raise ValueError(f"per-run table {self.name!r} must start with a non-nullable run_id column")
        if self.primary_key and (not self.key or any(self.column(k).nullable for k in self.key)):
            raise ValueError(f"table {self.name!r}: a primary key needs non-nullable key columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name`` (KeyError if the table has none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")


def _run_id() -> Column:
    return Column("run_id", "varchar", "the run that wrote the row (`runs.run_id`)", nullable=False)


def _text(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, "varchar", description, nullable)


def _number(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, "double", description, nullable)


def _count(name: str, description: str) -> Column:
    return Column(name, "integer", description)


def _day(name: str, description: str, nullable: bool = True) -> Column:
    return Column(name, "date", description, nullable)


def _lost_sales_columns(weeks: int) -> tuple[Column, ...]:
    """The lost-sales figures over the last ``weeks`` weeks (tables lost_sales, lost_sales_by_supplier)."""
    return (
        _number(f"demand_units_{weeks}w", f"estimated demand over the last {weeks} weeks, units"),
        _number(f"lost_units_{weeks}w", f"`lost` items: demand not served (lost) over the last {weeks} weeks"),
        _number(f"lost_value_{weeks}w", f"lost_units_{weeks}w × unit cost"),
        _number(f"backordered_units_{weeks}w", f"`backorder` items: demand that met an empty shelf (backlogged) "
                f"over the last {weeks} weeks"),
        _number(f"backorder_rate_{weeks}w", f"share of demand not met from stock over the last {weeks} weeks (1 − "
                "fill rate); NULL without demand"),
    )


_SKU = "SKU code"
_SUPPLIER = "supplier code"
_LT_MEAN = "mean lead time, weeks"
_LT_SD = "standard deviation of the lead time, weeks"
_LT_P90 = "90th percentile of the lead time, weeks"

OUTPUT_TABLES: tuple[OutputTable, ...] = (
    OutputTable(
        "runs", "Every pipeline attempt; `as_of` is the planning date it was made for. A successful "
        "re-run for the same as_of deletes the earlier run's rows and marks it `superseded`.",
        "attempt", ("run_id",), per_run=False, primary_key=True, columns=(
            _text("run_id", "`<as_of>_<start time>`: identifies the attempt", nullable=False),
            _day("as_of", "planning date (latest inventory snapshot unless given)", nullable=False),
            Column("started_at", "timestamp", "start, UTC", nullable=False),
            Column("finished_at", "timestamp", "end, UTC (NULL while running)"),
            _text("status", "running | succeeded | failed | superseded", nullable=False),
            _text("error", "why the attempt failed"),
            _text("input_dir", "input folder read"),
            _count("pid", "process id of the run"),
            _count("skus", "SKUs planned"),
            _day("first_forecast_week", "Monday of forecast step 1"),
            _count("horizon_weeks", "weeks forecast ahead"),
            _text("service_level_type", "cycle | fill_rate"),
            _text("input_files", "JSON: file -> {sha256, rows}"),
            _text("config", "JSON of the configuration used"),
        )),
    OutputTable(
        "sales_weekly", "Weekly demand history (ISO weeks), zero-filled from each SKU's first sale. "
        "The newest data wins: a run replaces the (sku, week) pairs its input covers.",
        "SKU × ISO week", ("sku", "week"), per_run=False, columns=(
            _text("sku", _SKU, nullable=False),
            _day("week", "Monday of the ISO week", nullable=False),
            _number("quantity", "units sold", nullable=False),
        )),
    OutputTable(
        "sku_class", "Demand class of every SKU (Syntetos–Boylan with new/inactive) and ABC/XYZ classes.",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("demand_class", "smooth | erratic | intermittent | lumpy | new | inactive", nullable=False),
            _number("adi", "average inter-demand interval, weeks"),
            _number("cv2", "squared coefficient of variation of the non-zero demand sizes"),
            _text("abc", "A/B/C by cumulative share of demand value"),
            _text("xyz", "X/Y/Z by coefficient of variation of weekly demand"),
            _count("history_weeks", "weeks since the SKU's first sale within the history window"),
            _number("demand_value", "demand value over the history (units × unit cost)"),
        )),
    OutputTable(
        "forecasts", "Weekly forecast of every SKU with 80 % and 95 % intervals.",
        "SKU × week ahead", ("run_id", "sku", "step"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _day("week", "Monday of the forecast week", nullable=False),
            Column("step", "integer", "weeks ahead: 1 = first week after as_of", nullable=False),
            _number("mean", "forecast mean, units", nullable=False),
            _number("lo80", "lower bound of the 80 % interval"),
            _number("hi80", "upper bound of the 80 % interval"),
            _number("lo95", "lower bound of the 95 % interval"),
            _number("hi95", "upper bound of the 95 % interval"),
            _text("model", "selected forecasting model", nullable=False),
            _number("sd", "forecast standard deviation, units"),
            _text("family", "normal | poisson | negbin: distribution for sums over weeks"),
        )),
    OutputTable(
        "forecast_accuracy", "Backtest accuracy of every candidate model of every SKU.",
        "SKU × candidate model", ("run_id", "sku", "model"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("model", "candidate model", nullable=False),
            _number("rmsse", "root mean squared scaled error"),
            _number("mase", "mean absolute scaled error"),
            _number("wape", "weighted absolute percentage error"),
            _number("bias", "mean error (forecast − actual)"),
            Column("selected", "boolean", "the model chosen for the forecast", nullable=False),
        )),
    OutputTable(
        "forecast_coverage", "Calibration of the forecast intervals in the backtest, per demand class.",
        "demand class", ("run_id", "demand_class"), columns=(
            _run_id(),
            _text("demand_class", "demand class (or all)", nullable=False),
            _count("series", "SKUs measured"),
            _number("coverage80", "share of backtest actuals inside the weekly 80 % bands"),
            _number("coverage95", "share of backtest actuals inside the weekly 95 % bands"),
            _number("pit_coverage80", "coverage80 judged by the PIT (fair to count forecasts)"),
            _number("pit_coverage95", "coverage95 judged by the PIT"),
            _number("window_coverage80", "80 % coverage of demand totals over 1–13 weeks, by the PIT"),
            _number("window_coverage95", "95 % coverage of demand totals over 1–13 weeks, by the PIT"),
            _number("level_error_weeks", "fitted shared-error term n_e of the multi-week distribution"),
        )),
    OutputTable(
        "lead_times", "Lead-time distribution used for every SKU.",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _number("lead_time_weeks_mean", _LT_MEAN),
            _number("lead_time_weeks_sd", _LT_SD),
            _number("lead_time_weeks_p90", _LT_P90),
            _count("receipts", "receipts the estimate is based on"),
            _text("source", "sku | supplier | nominal: where the estimate comes from"),
        )),
    OutputTable(
        "inventory_policy", "Replenishment policy (s, S) of every SKU.",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _number("service_level", "target service level"),
            _text("service_level_type", "cycle | fill_rate"),
            _number("lead_time_weeks_mean", _LT_MEAN),
            _number("lead_time_weeks_sd", _LT_SD),
            _number("review_period_weeks", "review period, weeks"),
            _number("demand_per_week_mean", "mean weekly demand"),
            _number("demand_per_week_sd", "standard deviation of weekly demand"),
            _number("protection_demand_mean", "mean demand over the protection interval (lead time + review)"),
            _number("protection_demand_sd", "standard deviation of demand over the protection interval"),
            _number("safety_stock", "max(reorder point − mean protection demand, 0): stock kept beyond the mean demand "
                    "until a replenishment arrives; 0 when s lies below that mean (method `+s_below_mean`)"),
            _number("reorder_point", "s: order when the inventory position is at or below it"),
            _number("order_up_to", "S: order up to this inventory position"),
            _number("eoq", "economic order quantity"),
            _text("method", "how s was computed (service type / distribution + adjustments; `+s_below_mean`: s is "
                  "below the mean protection demand, safety stock shown as 0)"),
            _number("level_error_weeks", "the forecast's n_e the interval used (inf = none)"),
            _text("zero_policy_reason", "why s = S = 0 (NULL when S > 0): discontinued, do_not_order override, "
                  "max_stock override, never sold, no sales in the last 26 weeks, forecast overridden to 0, zero "
                  "forecast, zero protection interval (models/inventory/zero_policy.py)"),
        )),
    OutputTable(
        "backorder_risk", "Stock-out risk of every SKU from its current inventory position, without a new order.",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _number("on_hand", "units on hand"),
            _number("on_order", "units on open purchase orders"),
            _number("backordered", "units backordered"),
            _number("inventory_position", "on hand + on order − backordered"),
            _number("stockout_probability", "P(demand over the protection interval > inventory position)"),
            _number("expected_backorder_units", "expected units short over the protection interval"),
            _number("expected_backorder_value", "expected_backorder_units × unit cost"),
            _number("weeks_of_cover", "max(on hand − backordered, 0) / mean weekly forecast, ≥ 0: 0 when backorders "
                    "take all the stock; NULL when there is stock but no forecast demand (no finite cover)"),
            _day("projected_stockout_week", "first week with backorder probability ≥ 0.5"),
            _day("order_by", "latest order date: projected stock-out − lead-time p90, not before as_of"),
            _text("unmet_demand", "backorder | lost: for a `lost` item the units short are lost, not backlogged"),
        )),
    OutputTable(
        "projection", "Expected stock of every SKU week by week, with open purchase orders arriving.",
        "SKU × week ahead", ("run_id", "sku", "step"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _day("week", "Monday of the week", nullable=False),
            Column("step", "integer", "weeks ahead: 1 = first week after as_of", nullable=False),
            _number("demand_mean", "mean forecast demand of the week"),
            _number("receipts", "units expected to arrive in the week"),
            _number("on_hand_expected", "expected on hand at the end of the week (negative: backorders; a `lost` "
                    "item's is never negative)"),
            _number("backorder_probability", "P(cumulative demand > available stock); a `lost` item: P(the week's "
                    "demand > on hand in the week), its stock-out probability"),
            _number("expected_backorder_units", "expected units short by the end of the week (a `lost` item: units "
                    "lost so far, none backlogged)"),
            _text("unmet_demand", "backorder | lost: how the row reads (docs/stockouts.md)"),
            _number("expected_lost_units", "a `lost` item: expected units lost in the week (NULL: `backorder` "
                    "item)"),
        )),
    OutputTable(
        "supplier_risk", "Stock-out risk and delivery record rolled up per supplier.",
        "supplier", ("run_id", "supplier_id"), columns=(
            _run_id(),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _text("name", "supplier name"),
            _count("skus", "SKUs supplied"),
            _count("skus_at_risk", "SKUs with stockout_probability ≥ the at-risk threshold"),
            _number("expected_backorder_units", "sum over the supplier's SKUs"),
            _number("expected_backorder_value", "sum over the supplier's SKUs"),
            _number("lead_time_weeks_mean", _LT_MEAN),
            _number("lead_time_weeks_p90", _LT_P90),
            _number("on_time_rate", "share of receipts on or before the expected date"),
            _count("receipts", "receipts measured"),
            _number("mean_days_late", "mean days received after the expected date"),
        )),
    OutputTable(
        "purchase_recommendations", "Recommended (or deferred) purchase-order lines.",
        "order line", ("run_id", "sku"), columns=(
            _run_id(),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _text("sku", _SKU, nullable=False),
            _number("order_quantity", "units to order (whole packs, at least the MOQ)", nullable=False),
            Column("packs", "bigint", "packs to order"),  # BIGINT: quantities up to the contract's 1e12 (was INTEGER)
            _day("order_by", "order no later than"),
            _day("expected_arrival", "order_by + mean lead time"),
            _number("unit_cost", "cost per unit"),
            _number("line_value", "order_quantity × unit_cost"),
            _text("reason", "why the line is recommended or deferred", nullable=False),
            _text("status", "recommended | deferred | rejected (a buyer rejected the line recently: order_decisions)"),
        )),
    OutputTable(
        "exceptions", "What a buyer acts on first: order lines that arrive after the projected stock-out "
        "(`expedite`), order lines whose latest order date has passed (`overdue`), open purchase-order lines "
        "past their expected date (`late_po`) and the suppliers to chase (`chase_supplier`); rules in "
        "docs/inventory-policy.md.", "exception: one order line, open purchase-order line or supplier", (),
        columns=(
            _run_id(),
            _text("sku", "SKU code (NULL for a `chase_supplier` row)"),
            _text("supplier_id", _SUPPLIER),
            _text("kind", "expedite | overdue | late_po | chase_supplier", nullable=False),
            _text("detail", "what happened and what to do, with the dates and quantities", nullable=False),
            _number("value", "expedite: days from the start of the projected stock-out week to the expected "
                    "arrival; overdue: days since the latest order date; late_po: days past the expected date; "
                    "chase_supplier: lines to chase (late PO lines + expedite lines)", nullable=False),
        )),
    OutputTable(
        "data_quality", "What was dropped, flagged or defaulted while loading (and noted by the run).",
        "note", (), columns=(
            _run_id(),
            _text("file", "input file"),
            Column("line", "bigint", "line of the file (NULL when not one line)"),
            _text("column_name", "column concerned"),
            _text("severity", "warning | info"),
            _text("message", "what happened", nullable=False),
            Column("rows", "bigint", "rows affected"),
        )),
    OutputTable(
        "items_snapshot", "The items input the run used.", "input row", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER),
            _text("description", "item description"),
            _number("unit_cost", "cost per unit"),
            _number("pack_size", "units per pack"),
            _number("moq", "minimum order quantity, units"),
            _number("service_level", "item's service-level target (NULL: the ABC default)"),
            _text("status", "active | discontinued"),
            _text("supplier_sku", "the supplier's code for the item (NULL: none given)"),
            _text("category", "the item's category, items.category (NULL: none given)"),
        )),
    OutputTable(
        "suppliers_snapshot", "The suppliers input the run used.", "input row", ("run_id", "supplier_id"),
        columns=(
            _run_id(),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _text("name", "supplier name"),
            _number("lead_time_days", "nominal lead time, days"),
            _number("review_period_days", "days between reviews"),
            _number("min_order_value", "minimum value of one order"),
        )),
    OutputTable(
        "inventory_snapshot", "The inventory input the run used.", "input row", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _number("on_hand", "units on hand"),
            _number("backordered", "units backordered"),
            _day("as_of", "snapshot date"),
        )),
    OutputTable(
        "purchase_orders_snapshot", "The purchase-order lines input the run used.", "input row",
        ("run_id", "po_id", "sku"), columns=(
            _run_id(),
            _text("po_id", "purchase-order number", nullable=False),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER),
            _number("quantity", "units ordered"),
            _day("order_date", "date ordered"),
            _day("expected_date", "date expected"),
            _day("received_date", "date received (NULL when open)"),
            _number("received_quantity", "units received (NULL when open)"),
            _text("status", "open | closed"),
        )),
    OutputTable(
        "policy_backtest", "Replay of the policy on recent history: achieved service level and fill rate "
        "against the targets.", "demand class", ("run_id", "demand_class"), columns=(
            _run_id(),
            _text("demand_class", "demand class (or all)", nullable=False),
            _count("skus", "SKUs replayed"),
            _count("weeks", "weeks replayed"),
            _number("service_level_target", "cycle service-level target (NaN for a fill-rate run)"),
            _number("cycle_service_level", "share of replenishment cycles without a stock-out"),
            _number("fill_rate_target", "fill-rate target (NaN for a cycle run)"),
            _number("fill_rate", "share of demand met from stock"),
            _number("average_on_hand", "mean units on hand"),
            _number("backorder_units", "units backordered"),
            _number("review_cycle_service_level", "share of review periods without a stock-out"),
            Column("cycles", "bigint", "replenishment cycles measured"),
            _number("demand_units", "units demanded"),
        )),
    OutputTable(
        "service_calibration", "Closed-loop service calibration: per demand class (calibration_group 'all') and "
        "finer group (cycle length x lead-time CV), the nominal service level the policy uses so that the replay "
        "meets the target (models/inventory/calibration.py; empty with [policy] service_calibration = false).",
        "demand class x calibration group", ("run_id", "demand_class", "calibration_group"), columns=(
            _run_id(),
            _text("demand_class", "demand class", nullable=False),
            _text("calibration_group", "'all' (the class) or 'cycle <band>, lead CV <band>'", nullable=False),
            _text("service_level_type", "cycle | fill_rate: the measure calibrated"),
            _count("skus", "SKUs replayed in the group (launches excluded)"),
            Column("cycles", "bigint", "replenishment cycles measured at the target"),
            _number("service_level_target", "mean target (weighted by cycles, or by demand for fill rate)"),
            _number("nominal_offset_z", "correction on the normal-score scale: nominal = Phi(Phi^-1(target) + offset)"),
            _number("nominal_level", "nominal level the policy uses at the mean target"),
            _number("achieved_before", "achieved at the target itself (cycle service or fill rate)"),
            _number("achieved_after", "achieved at the correction fitted on the other half of the replayed weeks "
                    "(cross-fitted)"),
            _number("shrink_weight", "weight of the group's own evidence (0 = no correction of its own)"),
            _number("average_on_hand_before", "mean units on hand per SKU-week at the target"),
            _number("average_on_hand_after", "mean units on hand per SKU-week at the correction used"),
            _text("interval_model", "parametric | empirical: the class's protection-interval model, chosen by the "
                  "replay ([policy] empirical_interval; models/inventory/empirical_demand.py); a group row repeats its "
                  "class's"),
            _number("achieved_empirical", "achieved by the empirical candidate's replay (s from errors of origins whose "
                    "intervals had ended: out of sample); NULL without the candidate"),
            _number("average_on_hand_empirical", "mean units on hand per SKU-week under the empirical candidate"),
        )),
    OutputTable(
        "demand_weekly", "What the forecast used: weekly sales and the unconstrained demand estimate of every "
        "SKU-week the stock history covers (stock_history input), and the inferred stock-out weeks of `lost` items "
        "without stock history ([inputs] infer_stockouts; stockout_source = 'inferred'). A `lost` item's week partly or "
        "fully out of stock is censored: its sales are a lower bound and demand_estimate = sales + (1 - "
        "in_stock_share) x the in-stock rate (models/demand_censoring.py). `sales_weekly` stays what was sold.",
        "SKU × ISO week", ("run_id", "sku", "week"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _day("week", "Monday of the ISO week", nullable=False),
            _number("sales", "units sold", nullable=False),
            _number("in_stock_share", "weekday-weighted share of the week in stock (1 = all week)", nullable=False),
            _number("demand_estimate", "units demanded: sales, or the unconstrained estimate of a censored week",
                    nullable=False),
            Column("censored", "boolean", "a lost-sales item's week with a stock-out (sales under-state demand)",
                   nullable=False),
            _text("unmet_demand", "backorder | lost (items.unmet_demand, default [inputs] unmet_demand)"),
            _text("stockout_source", "where the week's out-of-stock time comes from: 'stock_history' (observed) | "
                  "'inferred' (a lost-sales SKU without stock history: a zero-sales run ending with a receipt, "
                  "improbable at its rate; pipelines/inputs/stockout_inference.py) | NULL (fully in stock)"),
        )),
    OutputTable(
        "lost_sales", "Lost sales and backorders per SKU with stock information (`demand_weekly` rows: stock "
        "history or inferred stock-outs; empty without any), over the last 13 and 52 weeks: unmet demand U = demand "
        "- sales for a `lost` item (lost), (1 - in_stock_share) x demand for a `backorder` item (backlogged); "
        "backorder rate = sum U / sum demand = 1 - fill rate (models/lost_sales.py, docs/stockouts.md).",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER),
            _text("unmet_demand", "backorder | lost"),
            *(column for weeks in (13, 52) for column in _lost_sales_columns(weeks)),
            *(_count(f"out_of_stock_weeks_{weeks}w", f"weeks of the last {weeks} with a stock-out (in_stock_share "
                     "< 1)") for weeks in (13, 52)),
        )),
    OutputTable(
        "lost_sales_by_supplier", "The `lost_sales` figures summed per supplier; backorder rate = sum of unmet "
        "demand / sum of demand over its SKUs (demand-weighted).",
        "supplier", ("run_id", "supplier_id"), columns=(
            _run_id(),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _count("skus", "SKUs with stock information"),
            _count("lost_skus", "of them `lost` items"),
            *(column for weeks in (13, 52) for column in _lost_sales_columns(weeks)),
        )),
    OutputTable(
        "overrides_applied", "Every planner override (input `overrides.csv`) and what it changed in the run, per "
        "SKU: forecast kinds the summed forecast over the weeks changed (before -> after), planning kinds the "
        "target or the do-not-order flag, min_stock the reorder point, max_stock the order-up-to level, like_item "
        "the SKU's history units; an override that matched nothing, or whose dates lie wholly before the planning "
        "date, has one row with sku NULL; contradictions are noted ('contradiction: ...') "
        "(models/overrides.py, docs/overrides.md).", "override line x SKU", ("run_id", "line", "sku"), columns=(
            _run_id(),
            Column("line", "integer", "line of the override in overrides.csv (header = 1)", nullable=False),
            _text("sku", "SKU changed (NULL: the override matched no SKU)"),
            _text("kind", "forecast_multiplier | forecast_add | forecast_fixed | service_level | do_not_order | "
                  "min_stock | max_stock | like_item", nullable=False),
            _text("scope", "sku | category | supplier | all"),
            _text("key", "the SKU, category or supplier code of the scope"),
            _count("weeks", "forecast weeks changed; like_item: weeks of history borrowed; 0 for the planning kinds"),
            _number("before", "forecast units over those weeks, target / do-not-order flag, reorder point (min_stock), "
                    "order-up-to (max_stock) or history units (like_item), before"),
            _number("after", "the same after the override"),
            _text("note", "why nothing changed (matched no SKU, outside the date range, in the past), what else "
                  "moved (min/max stock), contradictions ('contradiction: ...'), else empty"),
        )),
    OutputTable(
        "excess_stock", "Stock above need: per SKU that has excess (inventory position above order-up-to + "
        "`excess_cover_weeks` weeks of forecast), dead stock (on hand, no demand for `dead_stock_weeks` weeks) or "
        "a discontinued item with stock; the suggested action and why (models/inventory/excess.py).",
        "SKU", ("run_id", "sku"), columns=(
            _run_id(),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER),
            _number("on_hand", "units on hand"),
            _number("inventory_position", "on hand + on order − backordered"),
            _number("excess_units", "max(inventory position − (order-up-to + forecast over excess_cover_weeks), 0); "
                    "a discontinued item: its whole position"),
            _number("excess_value", "excess_units × unit cost"),
            _number("weeks_of_cover", "on hand / mean weekly forecast (NULL when no forecast demand)"),
            Column("dead", "boolean", "on hand and no demand in the last dead_stock_weeks weeks"),
            _text("action", "stop ordering | mark down | return to supplier"),
            _text("reason", "why: the numbers behind the action"),
        )),
    OutputTable(
        "order_decisions", "A buyer's decision on one line of a run's order files (`safestock approve`). Written "
        "by the approve command, not by runs (rows of a superseded run stay: the decision was made). An approved "
        "line counts as on order in later runs until the ERP's purchase-order file shows it; a rejected line is "
        "not recommended again for `rejected_memory_weeks` (docs/order-decisions.md).",
        "order line of a run", ("run_id", "line_key"), per_run=False, columns=(
            _text("run_id", "the run whose order file the line is from (`runs.run_id`)", nullable=False),
            _text("line_key", "`<supplier_id>/<sku>`: the line within the run's order files", nullable=False),
            _text("sku", _SKU, nullable=False),
            _text("supplier_id", _SUPPLIER, nullable=False),
            _text("decision", "approved | rejected", nullable=False),
            _number("quantity", "units approved (the file's order_quantity, as the buyer left it)", nullable=False),
            _number("recommended_quantity", "units the run recommended"),
            _text("user", "who decided (`--user`, default the login name)", nullable=False),
            Column("decided_at", "timestamp", "when the decision was stored, UTC", nullable=False),
            _day("as_of", "the decided run's planning date", nullable=False),
            _day("expected_arrival", "the line's expected arrival (order_by + mean lead time)"),
            _text("po_reference", "the ERP purchase-order id the buyer gave (`po_reference` column), if any"),
            _text("source_file", "the file the decision came from"),
        )),
    OutputTable(
        "sales_history", "Daily sales as pulled, accumulated over runs (docs/postgres-source.md, history): each run "
        "replaces the days its pull covers (of its items' SKUs), in the same transaction as its outputs. A PostgreSQL run pulls the days "
        "after its watermark minus `[source] lookback_days` and plans from this table, so the history outlives a "
        "source that keeps only recent months; a file run replaces the days from its first to its last sales date.",
        "SKU × day with sales", ("sku", "date"), per_run=False, columns=(
            _text("sku", _SKU, nullable=False),
            _day("date", "sales day", nullable=False),
            _number("quantity", "units sold that day, net of returns (the day's sales lines summed)", nullable=False),
            _text("source", "where the row was read: the PostgreSQL URI (no password) or the input folder",
                  nullable=False),
            Column("loaded_at", "timestamp", "when the run that wrote the row started, UTC", nullable=False),
        )),
    OutputTable(
        "sales_history_weekly", "Weekly totals of `sales_history` (ISO weeks, Monday), kept beside it so a run from "
        "the history reads sku-weeks instead of re-aggregating every stored day (docs/postgres-source.md, history): "
        "each run re-aggregates only the weeks its pull touches (the weeks of its replaced days, for its items and "
        "the SKUs it pulled), in the same transaction as `sales_history`; a database without it is back-filled by "
        "the first run that writes the history. Every week with a stored day, complete or not, unclipped.",
        "SKU × ISO week with a stored sales day", ("sku", "week"), per_run=False, columns=(
            _text("sku", _SKU, nullable=False),
            _day("week", "Monday of the ISO week", nullable=False),
            _number("quantity", "the week's stored daily quantities summed (net of returns, may be below 0)",
                    nullable=False),
            Column("days", "integer", "stored days of the week (its `sales_history` rows)", nullable=False),
        )),
)

RUN_TABLES: tuple[str, ...] = tuple(table.name for table in OUTPUT_TABLES if table.per_run)
"""Tables holding one set of rows per run, keyed by run_id, in registry order."""

if len({table.name for table in OUTPUT_TABLES}) != len(OUTPUT_TABLES):
    raise ValueError("the output-table registry declares a table twice")


def output_table(name: str) -> OutputTable:
    """The registered table called ``name`` (KeyError naming it if unregistered)."""
    for table in OUTPUT_TABLES:
        if table.name == name:
            return table
    raise KeyError(f"{name!r} is not a registered output table")


def per_run_tables() -> tuple[OutputTable, ...]:
    """The registered tables written once per run by ``write_run``, in registry order."""
    return tuple(table for table in OUTPUT_TABLES if table.per_run)


def check_run_outputs(outputs: Mapping[str, object]) -> None:
    """Refuse a run's outputs unless they are exactly the registry's per-run tables.

    An unregistered name is a table the schema would not have; a missing one is a registered
    table the run would leave empty without saying so.
    """
    unregistered = sorted(set(outputs) - set(RUN_TABLES))
    missing = [name for name in RUN_TABLES if name not in outputs]
    if unregistered or missing:
        raise ValueError(
            "a run's outputs must be exactly the registered per-run tables (pipelines/storage/tables.py): "
            f"unregistered {unregistered}, missing {missing}"
        )
