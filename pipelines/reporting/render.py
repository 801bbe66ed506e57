"""Planner and buyer HTML reports of one pipeline run.

Public entry point: :func:`render_reports` (order-file names: :func:`safestock.pipelines.reporting.orders.supplier_csv_name`).

Each report is one self-contained HTML file (CSS, JS and plotly.js inlined; works offline).
Data comes from ``sql/report_*.sql`` via :mod:`safestock.pipelines.reporting.data`; figures from
:mod:`safestock.pipelines.reporting.charts`; markup from ``reports/*.html.j2`` (jinja2, autoescape on, so
every value from the input data is HTML-escaped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pandas as pd
from jinja2 import Environment, FunctionLoader, StrictUndefined
from markupsafe import Markup
from safestock.models.forecasting.candidates import MODEL_DESCRIPTIONS
from safestock.pipelines.config import PipelineConfig
from safestock.pipelines.reporting import charts
from safestock.pipelines.reporting.data import (
    BuyerData,
    PlannerData,
    ReportLimits,
    fetch_buyer_data,
    fetch_planner_data,
    records,
)
from safestock.pipelines.reporting.facets import facet_map, is_missing, risk_status, row_attrs, sku_anchor
from safestock.pipelines.reporting.formatting import (
    format_change,
    format_value,
    raw_value,
    td_date,
    td_num,
    td_text,
    with_currency,
)
from safestock.pipelines.reporting.orders import run_orders_dir, supplier_csv_name

TEMPLATES = files("safestock.reports")  # the repository's reports/ folder, shipped as package data
# Windows device names (COM0/LPT0 included, as current Windows documentation lists them)


@dataclass(frozen=True)
class KpiSpec:
    """How one headline KPI is labelled, formatted and judged."""

    key: str
    label: str
    kind: str                    # format kind, see :func:`~safestock.pipelines.reporting.formatting.format_value`
    higher_is_worse: bool | None  # None: a change is neither good nor bad


def kpi_specs(limits: ReportLimits, currency: str | None = None) -> list[KpiSpec]:
    """The planner's headline KPIs, in display order (money labels name the run's currency)."""
    unit = charts.currency_unit(currency)
    return [
        KpiSpec("skus_at_risk", f"SKUs at risk (P(stock-out within lead time + review) ≥ "
                f"{limits.at_risk_probability:.0%})", "int", True),
        KpiSpec("expected_backorder_units", "Expected backorder units", "int", True),
        KpiSpec("expected_backorder_value", f"Expected backorder value{unit}", "money_whole", True),
        KpiSpec("inventory_value", f"Inventory value{unit} (on hand × unit cost)", "money_whole", None),
        KpiSpec("median_weeks_of_cover", "Median weeks of cover", "decimal", False),
    ]


def _template_text(name: str) -> str | None:
    """A template's text from ``safestock.reports`` (None when there is none: jinja2 then raises
    TemplateNotFound)."""
    resource = TEMPLATES.joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def _environment() -> Environment:
    """Jinja2 environment over ``reports/`` with autoescaping and the report filters."""
    env = Environment(
        loader=FunctionLoader(_template_text),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = format_value
    env.filters["fmt_change"] = format_change
    env.filters["with_currency"] = with_currency
    env.filters["raw"] = raw_value
    env.filters.update(td_num=td_num, td_date=td_date, td_text=td_text)
    env.globals.update(row_attrs=row_attrs, sku_anchor=sku_anchor, risk_status=risk_status)
    return env


def _asset(name: str) -> Markup:
    """Our own CSS/JS file from ``reports/`` for inlining (trusted, not input data)."""
    text = TEMPLATES.joinpath(name).read_text(encoding="utf-8")
    if "</" in text and name.endswith(".js"):
        raise ValueError(f"{name} must not contain '</' (it is inlined into a <script>)")
    return Markup(text)


def kpi_cards(data: PlannerData) -> list[dict[str, Any]]:
    """KPI values with their change vs the previous succeeded run."""
    cards = []
    for spec in kpi_specs(data.limits, data.run.currency):
        value = data.kpis.get(spec.key)
        previous = data.previous_kpis.get(spec.key) if data.previous_kpis else None
        change = None if is_missing(value) or is_missing(previous) else value - previous
        trend = "neutral"
        if change and spec.higher_is_worse is not None:
            trend = "worse" if (change > 0) == spec.higher_is_worse else "better"
        cards.append({"key": spec.key, "label": spec.label, "kind": spec.kind, "value": value,
                      "previous": previous, "change": change, "trend": trend})
    return cards


def _by_sku(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a long frame into one frame per SKU."""
    return {str(sku): part for sku, part in frame.groupby("sku", sort=False)} if not frame.empty else {}


def drilldowns(data: PlannerData) -> list[dict[str, Any]]:
    """One entry per top-N SKU: its risk row and its chart."""
    detail = data.sku_detail
    history, forecast = _by_sku(detail.history), _by_sku(detail.forecast)
    projection, open_orders = _by_sku(detail.projection), _by_sku(detail.open_orders)
    empty = {name: frame.iloc[0:0] for name, frame in vars(detail).items()}
    cards = []
    for row in records(data.top_risk.head(data.limits.top_n)):
        sku = str(row["sku"])
        sku_orders = open_orders.get(sku, empty["open_orders"])
        sku_projection = projection.get(sku, empty["projection"])
        chart = charts.sku_drilldown_div(
            history.get(sku, empty["history"]), forecast.get(sku, empty["forecast"]),
            sku_projection, sku_orders,
            row["reorder_point"], row["safety_stock"],
        )
        cards.append({"row": row, "chart": Markup(chart), "open_orders": records(sku_orders),
                      "has_plan": bool((sku_projection["planned_receipts"] > 0).any())})
    return cards


def _table_note(frame: pd.DataFrame) -> dict[str, int]:
    """Shown/total row counts of a capped table."""
    total = int(frame["total_rows"].iloc[0]) if not frame.empty else 0
    return {"shown": len(frame), "total": total}


def _at_risk_mismatch(kpis: dict[str, Any]) -> int | None:
    """sum(supplier_risk.skus_at_risk) when it differs from the KPI (None when they agree)."""
    pipeline, report = kpis.get("supplier_skus_at_risk"), kpis.get("skus_at_risk")
    if is_missing(pipeline) or is_missing(report) or int(pipeline) == int(report):
        return None
    return int(pipeline)


def backtest_summary(data: PlannerData) -> dict[str, Any]:
    """What the policy-backtest section says about how the replay was made."""
    frame = data.policy_backtest
    weeks = frame["weeks"].max() if not frame.empty else None
    total = frame.loc[frame["demand_class"] == "all", "skus"]
    replayed = int(total.iloc[0]) if not total.empty else (int(frame["skus"].sum()) if not frame.empty else 0)
    sampled = data.run.skus is not None and not frame.empty and replayed < int(data.run.skus)
    return {
        "weeks": None if is_missing(weeks) else int(weeks),
        "reforecast_weeks": data.run.backtest_reforecast_weeks
        or PipelineConfig().policy_backtest_reforecast_weeks,
        "skus": replayed,
        "sampled": sampled,
        "below_target": [str(c) for c in frame.loc[frame["below_target"], "demand_class"]] if not frame.empty else [],
        "margin": data.limits.below_target_margin,
    }


def model_legend(models_used: pd.DataFrame) -> list[dict[str, Any]]:
    """The run's selected models (most SKUs first) with what each does."""
    return [{**row, "description": MODEL_DESCRIPTIONS.get(str(row["model"]), "")} for row in records(models_used)]


def sku_plans(data: PlannerData, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The link targets of the buyer's order lines: one row per SKU with its anchor and, when the
    SKU has a drill-down card (forecast and stock chart), that card's index."""
    card_of = {str(card["row"]["sku"]): index for index, card in enumerate(cards, start=1)}
    facets = facet_map(data.facets)
    return [{"supplier_id": None, "supplier_name": None, "abc": None, **facets.get(str(row["sku"]), {}), **row,
             "anchor": sku_anchor(row["sku"]), "card": card_of.get(str(row["sku"]))}
            for row in records(data.sku_plans)]


def stockout_charts(data: PlannerData) -> list[dict[str, Any]]:
    """The stock-out history chart and figures of each top lost-sales SKU, largest lost value first."""
    history = data.lost_sales_history
    if history.empty:
        return []
    charts_by_sku = []
    for _, weeks in history.groupby("rank", sort=True):
        first = weeks.iloc[0]
        div = charts.stockout_history_div(weeks)
        charts_by_sku.append({**{key: first[key] for key in ("sku", "description", "supplier_id", "unmet_demand",
                                                              "lost_units_52w", "lost_value_52w",
                                                              "backordered_units_52w", "backorder_rate_52w")},
                              "div": Markup(div) if div else None})
    return charts_by_sku


def planner_context(data: PlannerData) -> dict[str, Any]:
    """Template variables of the planner report."""
    figures = {
        "supplier_risk": charts.supplier_risk_div(data.supplier_risk, data.run.currency),
        "accuracy_by_class": charts.accuracy_by_class_div(data.accuracy_by_class),
        "forecast_tracking": charts.forecast_tracking_div(data.forecast_tracking),
    }
    cards = drilldowns(data)
    stockouts = stockout_charts(data)
    has_figures = bool(cards) or any(figures.values()) or bool(stockouts)
    return {
        "title": "Planner report",
        "run": data.run,
        "currency": data.run.currency,
        "money_unit": charts.currency_unit(data.run.currency),
        "limits": data.limits,
        "kpis": kpi_cards(data),
        "top_risk": records(data.top_risk),
        "top_risk_note": _table_note(data.top_risk),
        "at_risk_mismatch": _at_risk_mismatch(data.kpis),
        "at_risk_total": int(data.top_risk["at_risk_total"].iloc[0]) if not data.top_risk.empty else 0,
        "at_risk_shown": int(data.top_risk["at_risk"].sum()) if not data.top_risk.empty else 0,
        "policy_backtest": records(data.policy_backtest),
        "service_calibration": records(data.service_calibration),
        "backtest": backtest_summary(data),
        "drilldowns": cards,
        "supplier_risk": records(data.supplier_risk),
        "supplier_risk_note": _table_note(data.supplier_risk),
        "accuracy_by_class": records(data.accuracy_by_class),
        "models_used": model_legend(data.models_used),
        "forecast_tracking": records(data.forecast_tracking),
        "overrides": records(data.overrides),
        "excess": records(data.excess),
        "service_curve": records(data.service_curve),
        "excess_by_supplier": records(data.excess_by_supplier),
        "excess_by_category": records(data.excess_by_category),
        "lost_sales_by_supplier": records(data.lost_sales_by_supplier),
        "stockout_charts": stockouts,
        "sku_plans": sku_plans(data, cards),
        "facets": facet_map(data.facets),
        "data_quality": records(data.data_quality),
        "data_quality_note": _table_note(data.data_quality),
        "figures": {name: Markup(div) if div else None for name, div in figures.items()},
        "plotly_js": Markup(charts.plotly_bundle()) if has_figures else None,
    }


def buyer_context(data: BuyerData, csv_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Template variables of the buyer report (lines grouped under their supplier)."""
    lines_by_supplier: dict[str, list[dict[str, Any]]] = {}
    for line in records(data.lines):
        lines_by_supplier.setdefault(str(line["supplier_id"]), []).append(line)
    suppliers = []
    for supplier in records(data.suppliers):
        supplier_id = str(supplier["supplier_id"])
        csv_path = Path(os.path.relpath(csv_dir / supplier_csv_name(supplier_id), out_dir))
        suppliers.append({
            **supplier,
            "anchor": f"supplier-{hashlib.sha256(supplier_id.encode()).hexdigest()[:12]}",
            "csv_href": quote(csv_path.as_posix()),
            "lines_shown": lines_by_supplier.get(supplier_id, []),
            "shortfall": max(supplier["min_order_value"] - supplier["recommended_value"], 0),
        })
    schedule = charts.order_schedule_div(data.schedule, data.run.currency)
    planner_file = f"planner_{format_value(data.run.as_of, 'date')}.html"
    return {
        "title": "Buyer report",
        "run": data.run,
        "exceptions": records(data.exceptions),
        "decisions": records(data.decisions),
        "facets": facet_map(data.facets),
        # every SKU with a line shown here has a row in the planner's ordered-SKUs table
        "planner_links": {str(sku): f"{quote(planner_file)}#{sku_anchor(sku)}" for sku in data.lines["sku"]}
        if not data.lines.empty else {},
        "currency": data.run.currency,
        "money_unit": charts.currency_unit(data.run.currency),
        "suppliers": suppliers,
        "total_lines": data.total_lines,
        "lines_per_supplier": data.lines_per_supplier,
        "total_value": float(data.suppliers["recommended_value"].sum()) if suppliers else 0.0,
        "figures": {"order_schedule": Markup(schedule) if schedule else None},
        "plotly_js": Markup(charts.plotly_bundle()) if schedule else None,
    }


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so readers never see a half-written file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def render_reports(
    db_path: Path,
    run_id: str,
    out_dir: Path,
    *,
    top_n: int = 20,
    supplier_csv_dir: Path | None = None,
) -> dict[str, Path]:
    """Render the planner and buyer reports of ``run_id`` into ``out_dir``.

    Writes ``planner_<as_of>.html`` and ``buyer_<as_of>.html``; when the run is the newest
    planning date it also refreshes ``planner.html`` and ``buyer.html``. Buyer links point to
    ``<supplier_csv_dir>/<supplier_csv_name(id)>`` relative to ``out_dir`` (default: the run's
    own folder ``out_dir/orders/<as_of>``, see ``orders.run_orders_dir``). Raises
    ``LookupError`` if the run does not exist.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    limits = ReportLimits(top_n=top_n)
    with duckdb.connect(str(db_path), read_only=True) as con:
        planner_data = fetch_planner_data(con, run_id, limits)
        buyer_data = fetch_buyer_data(con, run_id, limits)
    csv_dir = (Path(supplier_csv_dir) if supplier_csv_dir is not None
               else run_orders_dir(out_dir, buyer_data.run.as_of))
    env = _environment()
    common = {"css": _asset("report.css"), "js": _asset("report.js"),
              "generated_at": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}
    pages = {
        "planner": env.get_template("planner.html.j2").render(**common, **planner_context(planner_data)),
        "buyer": env.get_template("buyer.html.j2").render(
            **common, **buyer_context(buyer_data, csv_dir, out_dir)),
    }
    as_of = format_value(planner_data.run.as_of, "date")
    written: dict[str, Path] = {}
    for name, html in pages.items():
        path = out_dir / f"{name}_{as_of}.html"
        _write_atomic(path, html)
        if planner_data.run.is_latest:
            _write_atomic(out_dir / f"{name}.html", html)
        written[name] = path
    return written
