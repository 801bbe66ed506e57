"""Plotly figures of the planner and buyer reports.

Figures are returned as HTML ``<div>`` snippets without plotly.js; the report embeds the bundle
once (:func:`plotly_bundle`) so a file works offline and carries plotly.js exactly once.
Figure JSON is escaped by plotly itself (``<``, ``>``, ``/`` as unicode escapes).
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
from plotly.subplots import make_subplots

PALETTE = {
    "actual": "#5b6770",
    "forecast": "#1f6fb2",
    "band80": "rgba(31,111,178,0.28)",
    "band95": "rgba(31,111,178,0.12)",
    "on_hand": "#2a9d8f",
    "reorder_point": "#e9a23b",
    "safety_stock": "#d1495b",
    "receipt": "#8e7dbe",
    "with_plan": "#1d3557",
    "planned_receipt": "#90be6d",
    "bias": "#d1495b",
}
#: One colour per supplier of the order schedule (largest first; never repeated, so no two
#: series share one) and a grey for the rest.
SCHEDULE_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
                    "#ff9da7", "#9c755f", "#17becf")
OTHER_SUPPLIERS_COLOUR = "#b0bec5"
NOMINAL_COVERAGE = {"coverage80": 0.80, "coverage95": 0.95}
SUPPLIERS_IN_CHART = 15
SUPPLIERS_IN_SCHEDULE = len(SCHEDULE_COLOURS)
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "xaxis": {"gridcolor": "#eceff1", "linecolor": "#b0bec5"},
        "yaxis": {"gridcolor": "#eceff1", "linecolor": "#b0bec5", "zerolinecolor": "#cfd8dc"},
        "legend": {"orientation": "h", "y": -0.15},
        "hovermode": "x unified",
    }
)


def plotly_text(values: pd.Series) -> pd.Series:
    """Input text for plotly labels: plotly.js reads a subset of HTML in text, so escape it
    (plotly turns ``&lt;`` back into a literal ``<``); missing values become ''."""
    return values.fillna("").astype(str).map(html.escape)


def plotly_bundle() -> str:
    """The plotly.js source shipped with the installed plotly (inlined once per report)."""
    return plotly.offline.get_plotlyjs()


def to_div(fig: go.Figure, height: int) -> str:
    """HTML snippet for one figure, without plotly.js."""
    fig.update_layout(template=_TEMPLATE, height=height)
    return pio.to_html(
        fig, full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, default_width="100%"
    )


ROW_AXES = {1: {"xaxis": "x", "yaxis": "y"}, 2: {"xaxis": "x2", "yaxis": "y2"}}
DRILLDOWN_HEIGHT = 460


@lru_cache(maxsize=1)
def _drilldown_layout() -> dict[str, Any]:
    """Two-row layout shared by every drill-down chart (built once; plotly validation is slow)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.55, 0.45],
                        subplot_titles=("Weekly demand and forecast", "Projected stock"))
    fig.update_layout(template=_TEMPLATE, height=DRILLDOWN_HEIGHT)
    return fig.to_plotly_json()["layout"]


def _dates(values: pd.Series) -> list[str]:
    """Dates as ISO strings for plotly date axes."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").tolist()


def _line(row: int, x: pd.Series, y: pd.Series, name: str, **style: Any) -> dict[str, Any]:
    """A scatter trace dict on the given subplot row."""
    return {"type": "scatter", "mode": "lines", "x": _dates(x), "y": y.tolist(), "name": name,
            **ROW_AXES[row], **style}


def _band(forecast: pd.DataFrame, lo: str, hi: str, color: str, name: str) -> list[dict[str, Any]]:
    """Shaded prediction interval between columns ``lo`` and ``hi`` (row 1)."""
    band = forecast.dropna(subset=[lo, hi])
    if band.empty:
        return []
    return [
        _line(1, band["week"], band[hi], name, line={"width": 0}, showlegend=False,
              hoverinfo="skip", legendgroup=name),
        _line(1, band["week"], band[lo], name, line={"width": 0}, fill="tonexty",
              fillcolor=color, hoverinfo="skip", legendgroup=name),
    ]


def _level(weeks: pd.Series, level: float | None, color: str, name: str, dash: str) -> list[dict[str, Any]]:
    """Horizontal policy level (reorder point, safety stock) across the projection (row 2)."""
    if level is None or pd.isna(level) or weeks.empty:
        return []
    span = pd.Series([weeks.min(), weeks.max()])
    return [_line(2, span, pd.Series([level, level]), name,
                  line={"color": color, "dash": dash, "width": 1.5})]


def _with_plan(projection: pd.DataFrame) -> list[dict[str, Any]]:
    """Expected on hand with the recommended orders arriving (row 2), when the SKU has any."""
    if "on_hand_with_plan" not in projection or not (projection["planned_receipts"] > 0).any():
        return []
    return [_line(2, projection["week"], projection["on_hand_with_plan"],
                  "expected on hand with recommended orders",
                  line={"color": PALETTE["with_plan"], "width": 2.5, "shape": "hv"})]


def sku_drilldown_div(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    projection: pd.DataFrame,
    open_orders: pd.DataFrame,
    reorder_point: float | None,
    safety_stock: float | None,
) -> str:
    """Demand history + forecast bands (top) and projected stock vs policy levels (bottom).

    The bottom row draws the expected on hand without new orders next to the same projection
    with the run's recommended orders arriving (``on_hand_with_plan`` and ``planned_receipts``
    of ``sql/report_sku_projection.sql``), so the chart shows whether the plan closes the gap."""
    traces = [
        _line(1, history["week"], history["quantity"], "actual",
              line={"color": PALETTE["actual"], "width": 1.4}),
        *_band(forecast, "lo95", "hi95", PALETTE["band95"], "95 % interval"),
        *_band(forecast, "lo80", "hi80", PALETTE["band80"], "80 % interval"),
        _line(1, forecast["week"], forecast["mean"], "forecast mean",
              line={"color": PALETTE["forecast"], "width": 2}),
        _line(2, projection["week"], projection["on_hand_expected"], "expected on hand, no new orders",
              mode="lines+markers", line={"color": PALETTE["on_hand"], "width": 2, "shape": "hv"},
              marker={"size": 4}),
        *_with_plan(projection),
        *_level(projection["week"], reorder_point, PALETTE["reorder_point"], "reorder point", "dash"),
        *_level(projection["week"], safety_stock, PALETTE["safety_stock"], "safety stock", "dot"),
    ]
    if not open_orders.empty:
        traces.append({"type": "bar", "x": _dates(open_orders["expected_date"]),
                       "y": open_orders["quantity"].tolist(), "name": "open PO (expected)",
                       "marker": {"color": PALETTE["receipt"]}, "opacity": 0.7,
                       "text": plotly_text(open_orders["po_id"]).tolist(), **ROW_AXES[2]})
    planned = projection[projection["planned_receipts"] > 0] if "planned_receipts" in projection else projection.iloc[0:0]
    if not planned.empty:
        traces.append({"type": "bar", "x": _dates(planned["week"]), "y": planned["planned_receipts"].tolist(),
                       "name": "recommended order (arrival week)", "marker": {"color": PALETTE["planned_receipt"]},
                       "opacity": 0.8, **ROW_AXES[2]})
    figure = {"data": traces, "layout": _drilldown_layout()}
    return pio.to_html(figure, full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                       default_width="100%", validate=False)


def supplier_risk_div(suppliers: pd.DataFrame, currency: str | None = None) -> str | None:
    """Horizontal bars: expected backorder value per supplier (largest first)."""
    top = suppliers.head(SUPPLIERS_IN_CHART).iloc[::-1]
    if top.empty:
        return None
    labels = (plotly_text(top["name"].fillna(top["supplier_id"])) + " ("
              + plotly_text(top["supplier_id"]) + ")")
    fig = go.Figure(go.Bar(
        x=top["expected_backorder_value"], y=labels, orientation="h",
        marker={"color": PALETTE["safety_stock"]},
        customdata=top[["expected_backorder_units", "skus_at_risk"]].to_numpy(),
        hovertemplate="%{y}<br>value at risk %{x:,.0f}<br>units %{customdata[0]:,.0f}"
                      "<br>SKUs at risk %{customdata[1]}<extra></extra>",
    ))
    fig.update_layout(xaxis_title=f"expected backorder value{currency_unit(currency)}", hovermode="closest",
                      margin={"l": 220})
    return to_div(fig, height=max(260, 28 * len(top) + 80))


def accuracy_by_class_div(accuracy: pd.DataFrame) -> str | None:
    """Median WAPE per demand class (left) and interval coverage vs nominal (right): the PIT
    coverage, the fair measure for count forecasts (equal to the plain coverage for the others;
    the plain figure where a run predates it)."""
    if accuracy.empty:
        return None
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Median WAPE (selected model)",
                                                        "Interval coverage (PIT)"))
    classes = plotly_text(accuracy["demand_class"])
    fig.add_trace(go.Bar(x=classes, y=accuracy["median_wape"], name="WAPE",
                         marker={"color": PALETTE["forecast"]}), row=1, col=1)
    for column, nominal in NOMINAL_COVERAGE.items():
        shown = accuracy[column]
        if f"pit_{column}" in accuracy:
            shown = accuracy[f"pit_{column}"].fillna(shown)
        fig.add_trace(go.Bar(x=classes, y=shown, name=f"{column[-2:]} % coverage"), row=1, col=2)
        fig.add_hline(y=nominal, line={"dash": "dot", "color": "#90a4ae"}, row=1, col=2)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], row=1, col=2)
    fig.update_layout(hovermode="closest", barmode="group")
    return to_div(fig, height=340)


def forecast_tracking_div(tracking: pd.DataFrame) -> str | None:
    """WAPE and bias of earlier runs' step-1..n forecasts against actuals, per run date."""
    if tracking.empty:
        return None
    run_dates = _dates(tracking["as_of"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=run_dates, y=tracking["wape"], mode="lines+markers",
                             name="WAPE", line={"color": PALETTE["forecast"]}))
    fig.add_trace(go.Scatter(x=run_dates, y=tracking["bias"], mode="lines+markers",
                             name="bias", line={"color": PALETTE["bias"]}))
    fig.add_hline(y=0, line={"color": "#b0bec5"})
    fig.update_layout(yaxis_tickformat=".0%", xaxis_title="run as-of date", xaxis_type="category")
    return to_div(fig, height=300)


OTHER_SUPPLIERS = "other suppliers"


def currency_unit(currency: str | None) -> str:
    """' (EUR)' after a money label, '' when the run states no currency."""
    return f" ({currency})" if currency else ""


def order_schedule_div(schedule: pd.DataFrame, currency: str | None = None) -> str | None:
    """Stacked recommended order value per order-by week; the largest suppliers, rest as 'other'.

    Each series has its own colour (:data:`SCHEDULE_COLOURS`, largest supplier first; 'other
    suppliers' grey) and the legend sits right of the plot, clear of the rotated week labels."""
    if schedule.empty:
        return None
    value_by_supplier = schedule.groupby("supplier_id")["order_value"].sum()
    largest = list(value_by_supplier.sort_values(ascending=False, kind="stable").index[:SUPPLIERS_IN_SCHEDULE])
    label = plotly_text(schedule["supplier_name"]) + " (" + plotly_text(schedule["supplier_id"]) + ")"
    frame = schedule.assign(label=label.where(schedule["supplier_id"].isin(largest), OTHER_SUPPLIERS),
                            order_week=_dates(schedule["order_week"]))
    pivot = frame.pivot_table(index="order_week", columns="label", values="order_value",
                              aggfunc="sum", fill_value=0).sort_index()
    labels = frame.drop_duplicates("supplier_id").set_index("supplier_id")["label"]
    series = [(labels[supplier], colour) for supplier, colour in zip(largest, SCHEDULE_COLOURS)]
    if OTHER_SUPPLIERS in pivot.columns:
        series.append((OTHER_SUPPLIERS, OTHER_SUPPLIERS_COLOUR))
    fig = go.Figure([go.Bar(x=pivot.index, y=pivot[name], name=str(name), marker={"color": colour})
                     for name, colour in series])
    fig.update_layout(barmode="stack", yaxis_title=f"order value{currency_unit(currency)}",
                      xaxis={"type": "category", "automargin": True},  # order-by weeks (Mondays), see caption
                      legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
                      hovermode="closest")
    return to_div(fig, height=340)


STOCKOUT_SHADE = "rgba(209,73,91,0.22)"
STOCKOUT_HISTORY_HEIGHT = 280


def stockout_history_div(weeks: pd.DataFrame) -> str | None:
    """One SKU's stock-out history (its rows of sql/report_lost_sales_history.sql): weekly sales
    and estimated demand (left axis) over the weeks out of stock, shaded (bars on the right axis:
    out-of-stock days = 7 × (1 − in_stock_share), weekday-weighted like the share)."""
    if weeks.empty:
        return None
    week = _dates(weeks["week"])
    mid_week = (pd.to_datetime(weeks["week"]) + pd.Timedelta(hours=84)).dt.strftime("%Y-%m-%d %H:%M").tolist()
    out_days = (7.0 * (1.0 - weeks["in_stock_share"].astype(float))).clip(lower=0.0).round(1)
    fig = go.Figure([   # a bar spans its ISO week (centred mid-week), like the lines' Monday-to-Monday steps
        go.Bar(x=mid_week, y=out_days, name="out-of-stock days", yaxis="y2", marker={"color": STOCKOUT_SHADE},
               width=7 * 24 * 3600 * 1000, customdata=week,
               hovertemplate="week of %{customdata}: %{y} days out of stock<extra></extra>"),
        go.Scatter(x=week, y=weeks["sales"], mode="lines", name="sales",
                   line={"color": PALETTE["actual"], "shape": "hv"}),
        go.Scatter(x=week, y=weeks["demand_estimate"], mode="lines", name="estimated demand",
                   line={"color": PALETTE["forecast"], "dash": "dot", "shape": "hv"}),
    ])
    fig.update_layout(yaxis={"title": "units per week", "rangemode": "tozero"},
                      yaxis2={"title": "days out of stock", "overlaying": "y", "side": "right", "range": [0, 7],
                              "tickmode": "linear", "tick0": 0, "dtick": 1, "showgrid": False},
                      bargap=0, margin={"l": 60, "r": 60, "t": 20, "b": 40})
    return to_div(fig, height=STOCKOUT_HISTORY_HEIGHT)
