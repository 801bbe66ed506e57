"""Run configuration: embedded defaults, optionally overridden by a TOML file.

Example ``safestock.toml`` (every key optional)::

    horizon_weeks = 26
    history_weeks = 156
    currency = "EUR"                    # ISO 4217 code shown with money; default: none
    rejected_memory_weeks = 4           # a rejected order line is not recommended again for this many weeks
    approval_match_days = 28            # an ERP PO ordered within this many days of the run shows an approved line
    excess_cover_weeks = 8              # excess stock: above order-up-to + this many weeks of forecast
    dead_stock_weeks = 26               # dead stock: on hand, no demand for this many weeks
    partition_size = 50000
    policy_backtest_weeks = 26
    policy_backtest_max_skus = 2000
    policy_backtest_reforecast_weeks = 4

    [inputs]
    allow_extra_columns = false         # true: a column that looks like a misspelled optional column is a warning
    max_sales_age_days = 14             # refuse a sales history ending more than this many days before as_of
    unmet_demand = "backorder"          # or "lost": items.unmet_demand where the column is empty
    infer_stockouts = true              # lost-sales SKUs without stock_history: infer stock-outs (flagged)

    [forecast]
    season_length = 52
    backtest_origins = 4
    backtest_horizon = 13
    event_calendar = "us_retail"        # or "none": moving-date events for the ses_events model
    global_model = false                # true: also offer a gradient-boosted model trained across SKUs

    [[forecast.extra_events]]           # more events, after the calendar's (any number of tables)
    name = "memorial_day"
    date = "05/mon/-1"                  # "MM-DD", "easter+N" or "MM/<weekday>/N" (+/- days)
    weeks_before = 1                    # 0-8, default 1
    weeks_after = 0                     # 0-8, default 0

    [policy]
    service_level_type = "cycle"        # or "fill_rate"
    default_service_level = 0.95
    ordering_cost = 50.0
    holding_cost_rate = 0.25
    at_risk_probability = 0.5
    undershoot_correction = true        # s protects lead-time demand + the review's undershoot
    lead_time_mixture = true            # variable lead time: gamma mixture (false: two-moment normal)
    lattice_undershoot = true           # Poisson demand: exact integer undershoot
    max_cover_weeks = 52                # an order line covers at most this many weeks of forecast (0 = no cap)
    service_calibration = true          # set s/S at the nominal level the policy replay meets the target with
    empirical_interval = false          # true: replay also an empirical protection-interval s; per class the better one

    [source]                            # read the inputs from PostgreSQL (docs/postgres-source.md)
    uri = "postgresql://planner@erp-db:5432/erp"   # no password here: it comes from password_env
    password_env = "PGPASSWORD"
    lookback_days = 14                  # each pull re-reads this many days before the history's newest
    full_refresh_runs = 4               # tables with an updated_column: read whole every 4th run (deletions)

    [source.tables.sales]
    table = "erp.order_lines"           # or query = "select ... from ..."
    key = ["line_id"]                   # source columns naming a row in messages
    columns = { sku = "item_code", date = "order_date", quantity = "qty" }

    [policy.service_level_by_abc]
    A = 0.98
    B = 0.95
    C = 0.90
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safestock.models.forecasting.calendar import (
    EVENT_CALENDARS,
    Event,
    parse_date_rule,
)
from safestock.models.inventory import PolicyConfig

EXTRA_EVENT_KEYS: tuple[str, ...] = ("name", "date", "weeks_before", "weeks_after")
#: A currency is an ISO 4217 alphabetic code: three upper-case letters (EUR, USD, JPY).
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
MAX_EVENT_WEEKS: int = 8
#: [inputs] unmet_demand (the same choices as items.unmet_demand in the input contract).
UNMET_DEMAND_CHOICES: tuple[str, ...] = ("backorder", "lost")


class ConfigError(ValueError):
    """The configuration file is unreadable or has unknown or invalid keys."""


@dataclass(frozen=True)
class ForecastConfig:
    season_length: int = 52
    backtest_origins: int = 4
    backtest_horizon: int = 13
    event_calendar: str = "us_retail"   # a key of safestock.models.forecasting.calendar.EVENT_CALENDARS
    extra_events: tuple[dict[str, Any], ...] = ()   # [[forecast.extra_events]] tables, see calendar_events
    global_model: bool = False          # offer global_gbm (models/forecasting/global_model.py); docs/forecasting.md

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_events", tuple(self.extra_events))   # a list from TOML or JSON

    def calendar_events(self) -> tuple[Event, ...]:
        """The base calendar's events, then ``extra_events`` (lower priority where windows overlap).
        Each extra event is a table ``name`` (letters, digits, _), ``date`` (a rule,
        :data:`safestock.models.forecasting.calendar.RULE_FORMS`), ``weeks_before`` and ``weeks_after``
        (0-8, default 1 and 0). ``ValueError`` naming the entry and the key when one is invalid."""
        extra = []
        names = {event.name for event in EVENT_CALENDARS[self.event_calendar]}
        for number, entry in enumerate(self.extra_events, start=1):
            where = f"extra_events #{number}"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: must be a table ([[forecast.extra_events]]), not {entry!r}")
            unknown = sorted(set(entry) - set(EXTRA_EVENT_KEYS))
            if unknown or "name" not in entry or "date" not in entry:
                raise ValueError(f"{where}: needs keys 'name' and 'date' (optional 'weeks_before', 'weeks_after')"
                                 + (f"; unknown key(s) {unknown}" if unknown else ""))
            name = entry["name"]
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in names:
                raise ValueError(f"{where}: name {name!r} must be letters, digits and _, and not repeat an "
                                 f"event already in the calendar ({', '.join(sorted(names))})")
            weeks = {key: entry.get(key, default) for key, default in (("weeks_before", 1), ("weeks_after", 0))}
            for key, value in weeks.items():
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_EVENT_WEEKS:
                    raise ValueError(f"{where} ({name}): {key} must be a whole number of weeks 0-{MAX_EVENT_WEEKS}, "
                                     f"not {value!r}")
            try:
                rule = parse_date_rule(entry["date"])
            except ValueError as error:
                raise ValueError(f"{where} ({name}): {error}") from None
            names.add(name)
            extra.append(Event(name, rule, weeks["weeks_before"], weeks["weeks_after"]))
        return EVENT_CALENDARS[self.event_calendar] + tuple(extra)

    def engine_options(self, week_starts: Any = None) -> dict[str, Any]:
        """Keyword arguments of ``safestock.models.forecasting.forecast_demand`` for this configuration (the
        flow, its policy replay and the notebooks call the engine with these); ``week_starts``:
        first day of each history week (``datetime64`` array or DatetimeIndex)."""
        weeks = None if week_starts is None else np.asarray(week_starts, dtype="datetime64[D]")
        return {"season_length": self.season_length, "backtest_origins": self.backtest_origins,
                "backtest_horizon": self.backtest_horizon, "week_starts": weeks,
                "events": self.calendar_events(), "global_model": self.global_model}


@dataclass(frozen=True)
class InputsConfig:
    """How strictly the input folder is read (``safestock.pipelines.inputs.load_inputs``).

    ``allow_extra_columns``: a column that is not in the contract but is a near-miss of an optional
    contract column the file lacks (``back_orders`` for ``backordered``) is an error unless true,
    then a warning note (its values are never read). ``max_sales_age_days``: a run refuses a sales
    history whose last day on or before as_of is more than this many days before as_of (the gap
    would be planned as zero demand); a folder without any sales up to as_of (a new store) is not
    checked. ``unmet_demand``: ``backorder`` (the customer waits; sales record the demand) or
    ``lost`` (sales under-state demand while out of stock; see models/demand_censoring.py), the
    value of ``items.unmet_demand`` where the column is absent or empty. ``infer_stockouts``: for
    `lost` items without ``stock_history`` rows, flag improbably long zero-sales runs that end with
    a receipt as inferred stock-outs (pipelines/inputs/stockout_inference.py; marked 'inferred' in
    ``demand_weekly.stockout_source``). On by default: it only touches items declared `lost`, whose
    sales are known to under-state demand while out of stock, and its rule is conservative (a run
    must be < 1 % probable at the SKU's in-stock rate); false turns it off."""

    allow_extra_columns: bool = False
    max_sales_age_days: int = 14
    unmet_demand: str = "backorder"
    infer_stockouts: bool = True


#: Keys of one `[source.tables.<table>]` entry (docs/postgres-source.md).
SOURCE_TABLE_KEYS: tuple[str, ...] = ("table", "query", "columns", "key", "updated_column")
#: The input tables that may be read incrementally through a change-tracking `updated_column`
#: (pipelines/storage/source_snapshots.py); the sales have their own history.
SNAPSHOT_TABLES: tuple[str, ...] = ("suppliers", "items", "inventory", "purchase_orders")


@dataclass(frozen=True)
class SourceConfig:
    """Where the five input tables come from when not from an input folder: a PostgreSQL
    database (``safestock.pipelines.inputs.postgres``). ``uri``: ``postgresql://user@host:port/db``
    without a password (``--source`` overrides it); ``password_env``: the environment variable
    holding the password (libpq's ``PGPASSWORD`` by default; never stored or logged);
    ``tables``: per contract table, ``table`` (a table or view, schema-qualified) or ``query``
    (a SELECT), ``columns`` (contract column -> source column; unmapped ones are read under
    their contract name) and ``key`` (source columns that name a row in messages).
    ``lookback_days``: a run pulls only the sales dated after the history's watermark (its newest
    day from this source) minus this many days; they replace the stored days from there on (late
    corrections). ``full_reload``: pull every sales row, as the first run does (``run --full-reload``),
    and read every other table whole. A table of ``SNAPSHOT_TABLES`` with ``updated_column`` (a
    date or timestamp column the source sets on every insert and update) is read incrementally:
    the rows changed since the last pull minus ``lookback_days``, merged by key into the snapshot
    kept in DuckDB; ``full_refresh_runs``: every this many runs it is read whole again (rows deleted
    at the source disappear; 0 = only on ``full_reload``)."""

    uri: str | None = None
    password_env: str = "PGPASSWORD"
    tables: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)
    lookback_days: int = 14
    full_reload: bool = False
    full_refresh_runs: int = 4


@dataclass(frozen=True)
class PipelineConfig:
    horizon_weeks: int = 26
    history_weeks: int = 156
    partition_size: int = 50_000     # SKUs per forecast partition (fixed, so results do not depend on workers)
    policy_backtest_weeks: int = 26  # weeks of history replayed under the policy (0 = no backtest)
    policy_backtest_max_skus: int = 2_000   # a fixed hash sample of SKUs above this
    policy_backtest_reforecast_weeks: int = 4  # the replay re-runs the forecast engine this often
    currency: str | None = None      # ISO 4217 code of every money value (unit costs, order values); None: unstated
    rejected_memory_weeks: int = 4   # a line a buyer rejected is not recommended again for this many weeks
    approval_match_days: int = 28    # an ERP PO shows an approved line when ordered within this many days of its run
    excess_cover_weeks: int = 8      # stock above order-up-to + this many weeks of forecast is excess
    dead_stock_weeks: int = 26       # stock of a SKU without demand for this many weeks is dead
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    inputs: InputsConfig = field(default_factory=InputsConfig)
    source: SourceConfig = field(default_factory=SourceConfig)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PipelineConfig:
        """The inverse of ``as_dict`` (e.g. a run's stored ``runs.config``): every section rebuilt
        as its dataclass; ``TypeError`` for a key this version does not know."""
        sections = {"forecast": ForecastConfig, "policy": PolicyConfig, "inputs": InputsConfig,
                    "source": SourceConfig}
        return cls(**{key: sections[key](**value) if key in sections else value for key, value in values.items()})


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(known)}")
    return cls(**values)


def _source_config(values: Any, where: str) -> SourceConfig:
    """The `[source]` table checked: known keys, contract table and column names, a URI
    without a password (it would be stored in ``runs.config``)."""
    from safestock.pipelines.inputs.contract import TABLES
    from safestock.pipelines.inputs.postgres import SourceUnavailableError, check_uri
    from safestock.pipelines.inputs.postgres_overrides import OVERRIDES_SOURCE_COLUMNS, OVERRIDES_TABLE

    if not isinstance(values, dict):
        raise ConfigError(f"{where}: must be a table ([source])")
    source = _build(SourceConfig, values, where)
    if source.uri is not None:
        try:
            check_uri(source.uri)
        except SourceUnavailableError as error:
            raise ConfigError(f"{where}: {error}") from None
    if not isinstance(source.password_env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", source.password_env):
        raise ConfigError(f"{where}: password_env must name an environment variable, not {source.password_env!r}")
    if isinstance(source.lookback_days, bool) or not isinstance(source.lookback_days, int) or source.lookback_days < 0:
        raise ConfigError(f"{where}: lookback_days must be a whole number of days >= 0, not {source.lookback_days!r}")
    if not isinstance(source.full_reload, bool):
        raise ConfigError(f"{where}: full_reload must be true or false, not {source.full_reload!r}")
    if (isinstance(source.full_refresh_runs, bool) or not isinstance(source.full_refresh_runs, int)
            or source.full_refresh_runs < 0):
        raise ConfigError(f"{where}: full_refresh_runs must be a whole number of runs >= 0 (0 = never), "
                          f"not {source.full_refresh_runs!r}")
    if not isinstance(source.tables, dict):
        raise ConfigError(f"{where}: tables must be a table ([source.tables.<table>])")
    for table, entry in source.tables.items():
        at = f"{where} tables.{table}"
        if table not in TABLES and table != OVERRIDES_TABLE:
            raise ConfigError(f"{at}: unknown table; the input tables are {', '.join(TABLES)} "
                              f"(and {OVERRIDES_TABLE}, the planner overrides)")
        if not isinstance(entry, dict) or set(entry) - set(SOURCE_TABLE_KEYS):
            raise ConfigError(f"{at}: must be a table with keys {', '.join(SOURCE_TABLE_KEYS)}")
        if "table" in entry and "query" in entry:
            raise ConfigError(f"{at}: give either table or query, not both")
        for key in ("table", "query"):
            if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
                raise ConfigError(f"{at}: {key} must be a non-empty string")
        columns = entry.get("columns", {})
        known = ({column.name for column in TABLES[table].columns} if table in TABLES
                 else set(OVERRIDES_SOURCE_COLUMNS))
        if not isinstance(columns, dict) or not all(isinstance(v, str) and v for v in columns.values()):
            raise ConfigError(f"{at}.columns: must map contract columns to source column names")
        if set(columns) - known:
            raise ConfigError(f"{at}.columns: unknown contract column(s) {sorted(set(columns) - known)}; "
                              f"{table} has {', '.join(sorted(known))}")
        key = entry.get("key", [])
        if not isinstance(key, list) or not all(isinstance(name, str) and name for name in key):
            raise ConfigError(f"{at}.key: must be a list of source column names")
        if "updated_column" in entry:
            if table not in SNAPSHOT_TABLES:
                raise ConfigError(f"{at}.updated_column: only {', '.join(SNAPSHOT_TABLES)} are read incrementally "
                                  "(the sales through their history, [source] lookback_days)")
            if not (isinstance(entry["updated_column"], str) and entry["updated_column"].strip()):
                raise ConfigError(f"{at}.updated_column: must name the source's change-tracking column")
    return source


def load_config(path: Path | None) -> PipelineConfig:
    """Defaults, overridden by the TOML file at ``path`` when given."""
    if path is None:
        return PipelineConfig()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}") from error
    forecast_raw = raw.pop("forecast", {})
    if not isinstance(forecast_raw.get("extra_events", []), list):
        raise ConfigError(f"{path} [forecast]: extra_events must be an array of tables ([[forecast.extra_events]])")
    forecast = _build(ForecastConfig, forecast_raw, f"{path} [forecast]")
    policy = _build(PolicyConfig, raw.pop("policy", {}), f"{path} [policy]")
    if forecast.event_calendar not in EVENT_CALENDARS:
        raise ConfigError(f"{path} [forecast]: event_calendar must be one of {sorted(EVENT_CALENDARS)}, "
                          f"not {forecast.event_calendar!r}")
    try:
        forecast.calendar_events()
    except ValueError as error:
        raise ConfigError(f"{path} [forecast] {error}") from None
    if not isinstance(forecast.global_model, bool):
        raise ConfigError(f"{path} [forecast]: global_model must be true or false, not {forecast.global_model!r}")
    if policy.service_level_type not in ("cycle", "fill_rate"):
        raise ConfigError(f"{path} [policy]: service_level_type must be 'cycle' or 'fill_rate'")
    if not isinstance(policy.service_calibration, bool):
        raise ConfigError(f"{path} [policy]: service_calibration must be true or false, "
                          f"not {policy.service_calibration!r}")
    if not isinstance(policy.empirical_interval, bool):
        raise ConfigError(f"{path} [policy]: empirical_interval must be true or false, "
                          f"not {policy.empirical_interval!r}")
    if (isinstance(policy.max_cover_weeks, bool) or not isinstance(policy.max_cover_weeks, (int, float))
            or not policy.max_cover_weeks >= 0):
        raise ConfigError(f"{path} [policy]: max_cover_weeks must be a number of weeks >= 0 (0 = no cap), "
                          f"not {policy.max_cover_weeks!r}")
    inputs_raw = raw.pop("inputs", {})
    if not isinstance(inputs_raw, dict):
        raise ConfigError(f"{path}: inputs must be a table ([inputs])")
    inputs = _build(InputsConfig, inputs_raw, f"{path} [inputs]")
    if not isinstance(inputs.allow_extra_columns, bool):
        raise ConfigError(f"{path} [inputs]: allow_extra_columns must be true or false, "
                          f"not {inputs.allow_extra_columns!r}")
    if (isinstance(inputs.max_sales_age_days, bool) or not isinstance(inputs.max_sales_age_days, int)
            or inputs.max_sales_age_days < 0):
        raise ConfigError(f"{path} [inputs]: max_sales_age_days must be a whole number of days >= 0, "
                          f"not {inputs.max_sales_age_days!r}")
    if inputs.unmet_demand not in UNMET_DEMAND_CHOICES:
        raise ConfigError(f"{path} [inputs]: unmet_demand must be one of "
                          f"{', '.join(map(repr, UNMET_DEMAND_CHOICES))}, not {inputs.unmet_demand!r}")
    if not isinstance(inputs.infer_stockouts, bool):
        raise ConfigError(f"{path} [inputs]: infer_stockouts must be true or false, "
                          f"not {inputs.infer_stockouts!r}")
    source = _source_config(raw.pop("source", {}), f"{path} [source]")
    config = _build(PipelineConfig, {**raw, "forecast": forecast, "policy": policy, "inputs": inputs,
                                     "source": source},
                    str(path))
    if config.currency is not None and not (isinstance(config.currency, str)
                                            and CURRENCY_CODE.fullmatch(config.currency)):
        raise ConfigError(f"{path}: currency must be an ISO 4217 code of three upper-case letters "
                          f"such as \"EUR\", not {config.currency!r}")
    for key in ("rejected_memory_weeks", "approval_match_days", "excess_cover_weeks", "dead_stock_weeks"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{path}: {key} must be a whole number >= 0, not {value!r}")
    # One horizon for forecast and projection: the top-level key wins.
    return dataclasses.replace(config, policy=dataclasses.replace(policy, horizon_weeks=config.horizon_weeks))
