"""The input-folder contract: which files, columns, types, defaults and value rules.

This module is the single source of truth for `safestock.pipelines.inputs` (which generates its SQL type
checks and typed projections from it) and for `docs/data-contract.md` (which documents it).
Every SQL identifier used by the loader comes from here and is quoted with `quote_identifier`.
It also defines the types describing contract violations (`ValidationIssue`,
`InputValidationError`) and notes (`DataQualityNote`), re-exported by `safestock.pipelines.inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MAX_ISSUES_PRINTED = 200
# No quantity, stock level or price in a supply chain comes near this; larger values are data
# errors and would overflow the variance arithmetic downstream.
MAX_MAGNITUDE = 1e12
#: Plausibility caps of supplier durations: ten years of lead time, a review once a year at the
#: least. Larger values are typos (9e11 days overflowed `as_of + lead time` as a pandas timestamp).
MAX_LEAD_TIME_DAYS = 3650
MAX_REVIEW_PERIOD_DAYS = 365

@dataclass(frozen=True)
class ValidationIssue:
    """One problem in the input folder; `line` follows the CSV convention (header = line 1)."""

    file: str
    line: int | None
    column: str | None
    message: str
    #: A database row's key instead of a line (``id=123456``; ``inputs.postgres``).
    row_key: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row_key is not None:
            where.append(self.row_key)
        elif self.line is not None:
            where.append(f"{'row' if self.file.endswith(('.parquet', '/')) else 'line'} {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class InputValidationError(Exception):
    """The input folder violates the data contract; `issues` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        super().__init__(self._describe())

    def _describe(self) -> str:
        shown = [f"  - {issue}" for issue in self.issues[:MAX_ISSUES_PRINTED]]
        if len(self.issues) > MAX_ISSUES_PRINTED:
            shown.append(f"  ... and {len(self.issues) - MAX_ISSUES_PRINTED} more issues")
        return f"{len(self.issues)} problem(s) in the input folder:\n" + "\n".join(shown)

    def __reduce__(self):  # keep pickling (Prefect, multiprocessing) working
        return (type(self), (self.issues,))


@dataclass(frozen=True)
class DataQualityNote:
    """Something kept, dropped or defaulted while loading that is not an error."""

    file: str
    line: int | None
    column: str | None
    severity: str  # 'warning' | 'info'
    message: str
    rows: int


#: `items.unmet_demand`: backorder = the customer waits; lost = the sale is lost.
UNMET_DEMAND_CHOICES = ("backorder", "lost")

ColumnKind = Literal["text", "number", "date", "choice"]

#: Dates outside this window are rejected (they would overflow pandas timestamps and are
#: certainly typos in a demand-planning input).
EARLIEST_DATE = "1900-01-01"
LATEST_DATE = "2199-12-31"

#: DuckDB's DOUBLE cast also accepts digit-group underscores ("1_000"); the contract does not.
NUMBER_FORBIDDEN_CHARACTER = "_"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an input table.

    `required` means the column must be present in the file; `nullable` means a present
    column may still hold empty values (which then take `default`, or NULL/NaN/NaT).
    Numeric bounds: `minimum` (inclusive unless `minimum_exclusive`), `maximum_exclusive`, and
    `maximum` (inclusive: a plausibility cap, e.g. a lead time of at most ten years, which also
    keeps `as_of + duration` inside pandas' timestamp range).
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    default: float | str | None = None
    minimum: float | None = None
    minimum_exclusive: bool = False
    maximum_exclusive: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    description: str = ""

    @property
    def expected(self) -> str:
        """Human wording of what a valid value looks like (used in issue messages)."""
        if self.kind == "date":
            return "a date YYYY-MM-DD"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "number":
            return "a number"
        return "text"


@dataclass(frozen=True)
class TableSpec:
    """One input table (one file in the input folder)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    references: tuple[tuple[str, str], ...] = field(default=())  # (column, referenced table)
    #: An optional table may be absent from the input folder (e.g. `stock_history`).
    optional: bool = False
    #: Rules across columns of one row: (column reported, kind, SQL predicate flagging a bad row,
    #: message). Predicates only use quoted contract column names of required columns.
    row_checks: tuple[tuple[str, str, str, str], ...] = field(default=())

    def column(self, name: str) -> ColumnSpec:
        """The spec of column `name` (KeyError when not part of the contract)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def quote_identifier(name: str) -> str:
    """Quote a contract identifier for SQL (doubling embedded quotes)."""
    return '"' + name.replace('"', '""') + '"'


def blank_sql(value_sql: str) -> str:
    """SQL predicate: the staged value is missing (staging trims values and maps '' to NULL)."""
    return f"({value_sql} is null)"


def staged_value_sql(value_sql: str) -> str:
    """How a raw VARCHAR value is staged: surrounding whitespace trimmed, empty -> NULL."""
    return f"nullif(trim({value_sql}), '')"


def _text(name: str, **kwargs) -> ColumnSpec:
    return ColumnSpec(name, "text", **kwargs)


def _number(name: str, **kwargs) -> ColumnSpec:
    return ColumnSpec(name, "number", **kwargs)


def _date(name: str, **kwargs) -> ColumnSpec:
    return ColumnSpec(name, "date", **kwargs)


SALES = TableSpec(
    "sales",
    (
        _date("date", description="demand date; a timestamp is truncated to its date"),
        _text("sku", description="item code (kept as text: leading zeros matter)"),
        _number("quantity", unit="units", description="demanded units; negative = return"),
        _number("unit_price", required=False, nullable=True, minimum=0, minimum_exclusive=True,
                unit="currency per unit",
                description="optional selling price of the line (> 0; empty = not known): aggregated to a "
                            "quantity-weighted weekly price per sku (sql/sales_prices_weekly.sql), a feature "
                            "of the global forecasting model"),
    ),
    description="customer demand lines (incl. back-ordered demand), daily or finer",
    references=(("sku", "items"),),
)

ITEMS = TableSpec(
    "items",
    (
        _text("sku"),
        _text("supplier_id"),
        _text("description", required=False, nullable=True),
        _number("unit_cost", minimum=0, unit="currency per unit"),
        _number("pack_size", minimum=1, unit="units per pack"),
        _number("moq", minimum=0, unit="units", description="minimum order quantity"),
        _number("service_level", required=False, nullable=True, minimum=0,
                minimum_exclusive=True, maximum_exclusive=1,
                description="target service level in (0, 1); empty = policy default"),
        ColumnSpec("status", "choice", required=False, nullable=True, default="active",
                   choices=("active", "discontinued")),
    ColumnSpec("unmet_demand", "choice", required=False, nullable=True,
               choices=UNMET_DEMAND_CHOICES,
               description="what happens to demand met by an empty shelf: backorder = the customer "
                           "waits (sales record it), lost = the sale is lost (sales under-state "
                           "demand while out of stock); empty = [inputs] unmet_demand (default "
                           "backorder)"),
        _text("supplier_sku", required=False, nullable=True,
              description="the supplier's code for the item, written to its order file; may be empty"),
        _text("category", required=False, nullable=True,
              description="the planner's item group (e.g. a product family); scope of `category` overrides "
                          "and of the excess-stock totals per category; may be empty"),
    ),
    key=("sku",),
    description="item master",
    references=(("supplier_id", "suppliers"),),
)

SUPPLIERS = TableSpec(
    "suppliers",
    (
        _text("supplier_id"),
        _text("name"),
        _number("lead_time_days", minimum=0, maximum=MAX_LEAD_TIME_DAYS, unit="days",
                description="nominal lead time"),
        _number("review_period_days", required=False, nullable=True, default=7, minimum=0,
                minimum_exclusive=True, maximum=MAX_REVIEW_PERIOD_DAYS, unit="days"),
        _number("min_order_value", required=False, nullable=True, default=0, minimum=0,
                unit="currency"),
    ),
    key=("supplier_id",),
    description="supplier master",
)

INVENTORY = TableSpec(
    "inventory",
    (
        _text("sku"),
        _number("on_hand", minimum=0, unit="units"),
        _number("backordered", required=False, nullable=True, default=0, minimum=0,
                unit="units", description="customer demand waiting for stock"),
        _date("as_of", description="snapshot date; the latest one is the planning date"),
    ),
    key=("sku",),
    description="stock snapshot, one row per sku",
    references=(("sku", "items"),),
)

PURCHASE_ORDERS = TableSpec(
    "purchase_orders",
    (
        _text("po_id"),
        _text("sku"),
        _text("supplier_id"),
        _number("quantity", minimum=0, unit="units"),
        _date("order_date"),
        _date("expected_date"),
        _date("received_date", nullable=True, description="empty while open"),
        _number("received_quantity", nullable=True, minimum=0, unit="units",
                description="empty while open"),
        ColumnSpec("status", "choice", required=False, nullable=True,
                   choices=("open", "closed"),
                   description="default: closed when received_quantity >= quantity"),
    ),
    key=("po_id", "sku"),
    description="purchase-order lines, open and received",
    references=(("sku", "items"), ("supplier_id", "suppliers")),
    row_checks=(
        ("received_date", "received_without_date",
         f"not {blank_sql(quote_identifier('received_quantity'))} "
         f"and {blank_sql(quote_identifier('received_date'))}",
         "received_quantity is given but received_date is empty"),
    ),
)

STOCK_HISTORY = TableSpec(
    "stock_history",
    (
        _text("sku"),
        _date("date"),
        _number("on_hand", minimum=0, unit="units", description="stock on hand at the end of the day"),
        _number("stockout_hours", required=False, nullable=True, minimum=0, maximum=24,
                unit="hours", description="hours of the day the shelf was empty; empty = judged "
                                          "from on_hand (a day that starts and ends at 0 is out of stock)"),
    ),
    key=("sku", "date"),
    description="optional: daily end-of-day stock per sku (days without a row are taken as in stock)",
    references=(("sku", "items"),),
    optional=True,
)

#: Tables in load order (referenced tables first).
TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (SUPPLIERS, ITEMS, INVENTORY, PURCHASE_ORDERS, SALES, STOCK_HISTORY)
}

#: Accepted file names per table, in order of preference.
FILE_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")


def value_checks(column: ColumnSpec) -> list[tuple[str, str, str]]:
    """Checks of one present (non-blank) raw VARCHAR value: [(kind, SQL predicate, message)].

    The loader evaluates them in order inside one CASE (first match wins) after handling blank
    values (an issue unless `nullable`), so each predicate may assume the earlier ones were
    false and the value is not blank. Predicates use the quoted contract column name only;
    the loader completes each message with the offending value.
    """
    t = quote_identifier(column.name)  # staged: already trimmed, never ''
    checks: list[tuple[str, str, str]] = []
    if column.kind == "number":
        number = f"try_cast({t} as double)"
        checks.append(("non_finite", f"not isfinite({number})", "expected a finite number"))
        forbidden = f"strpos({t}, '{NUMBER_FORBIDDEN_CHARACTER}') > 0"
        checks.append(("type", f"{number} is null or {forbidden}", "expected a number"))
        checks.append(("implausible", f"abs({number}) >= {MAX_MAGNITUDE:g}",
                       f"implausibly large (expected a magnitude below {MAX_MAGNITUDE:g})"))
        if column.minimum is not None:
            op, word = ("<=", ">") if column.minimum_exclusive else ("<", ">=")
            checks.append(("range_low", f"{number} {op} {column.minimum:g}",
                           f"must be {word} {column.minimum:g}"))
        if column.maximum_exclusive is not None:
            checks.append(("range_high", f"{number} >= {column.maximum_exclusive:g}",
                           f"must be < {column.maximum_exclusive:g}"))
        if column.maximum is not None:
            checks.append(("range_high", f"{number} > {column.maximum:g}",
                           f"must be <= {column.maximum:g}"
                           + (f" {column.unit}" if column.unit == "days" else "")))
    elif column.kind == "date":
        stamp = f"try_cast({t} as timestamp)"
        shaped = f"(length({t}) >= 10 and substr({t}, 5, 1) = '-' and substr({t}, 8, 1) = '-')"
        checks.append(("type", f"not {shaped} or {stamp} is null", f"expected {column.expected}"))
        checks.append(("date_range", f"{stamp} < date '{EARLIEST_DATE}' or "
                                     f"{stamp} >= date '{LATEST_DATE}' + 1",
                       f"date outside the supported range {EARLIEST_DATE} .. {LATEST_DATE}"))
    elif column.kind == "choice":
        allowed = ", ".join(f"'{choice}'" for choice in column.choices)
        checks.append(("type", f"lower({t}) not in ({allowed})", f"expected {column.expected}"))
    return checks


def value_check_cases(spec: TableSpec, present_columns: set[str],
                      ) -> tuple[list[str], list[tuple[str, str, str]]]:
    """SQL for checking a staged table in one scan.

    Returns (case_columns, checks): one `case … end as "check_<column>"` per present column
    (plus one per row rule) whose value is the number of the first failed check (1-based index
    into `checks`) or 0 when valid; `checks[i]` = (column reported, code column, message).
    """
    case_columns: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for column in spec.columns:
        if column.name not in present_columns:
            continue
        code = quote_identifier(f"check_{column.name}")
        blank = blank_sql(quote_identifier(column.name))
        if column.nullable:
            branches = [f"when {blank} then 0"]
        else:
            checks.append((column.name, code, "missing value (the column is required)"))
            branches = [f"when {blank} then {len(checks)}"]
        for _, predicate, message in value_checks(column):
            checks.append((column.name, code, message))
            branches.append(f"when {predicate} then {len(checks)}")
        case_columns.append(f"case {' '.join(branches)} else 0 end as {code}")
    for index, (column_name, _, predicate, message) in enumerate(spec.row_checks):
        code = quote_identifier(f"row_check_{index}")
        checks.append((column_name, code, message))
        case_columns.append(f"case when {predicate} then {len(checks)} else 0 end as {code}")
    return case_columns, checks


def typed_sql(column: ColumnSpec, present: bool) -> str:
    """SQL expression converting a validated raw column to its typed value (default applied)."""
    v = quote_identifier(column.name)
    if column.kind == "number":
        fallback = ("cast('NaN' as double)" if column.default is None
                    else f"{float(column.default)!r}")
        value = f"cast({v} as double)" if present else "null"
        return f"coalesce({value}, {fallback})"
    if column.kind == "date":
        return (f"cast(cast(cast({v} as timestamp) as date) as timestamp)"
                if present else "cast(null as timestamp)")
    text = (f"lower({v})" if column.kind == "choice" else v) if present else "cast(null as varchar)"
    if column.default is not None:
        return f"coalesce({text}, '{column.default}')"
    return text
