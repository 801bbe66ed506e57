"""Prefect artifacts published by each flow run: a markdown summary and the top risks."""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from safestock.pipelines.storage.records import RunSummary

TOP_RISKS = 20


def summary_markdown(summary: RunSummary) -> str:
    """Markdown KPIs and report links for the Prefect UI."""
    lines = [
        f"# safestock run {summary.run_id}",
        "",
        f"- as of: **{summary.as_of}**",
        f"- SKUs planned: **{summary.skus:,}**",
        f"- SKUs at risk of backorder: **{summary.skus_at_risk:,}**",
        f"- purchase order lines recommended: **{summary.order_lines:,}** "
        f"(value {summary.order_value:,.2f})",
        f"- database: `{summary.db_path}`",
        "",
        "Reports:",
    ]
    lines += [f"- {name}: `{path}`" for name, path in summary.reports.items() if ":" not in name]
    return "\n".join(lines)


def top_risks_table(risk: pd.DataFrame, items: pd.DataFrame, limit: int = TOP_RISKS) -> list[dict]:
    """The SKUs with the most expected backorder units, JSON-safe (no NaN/NaT)."""
    top = (
        risk.sort_values(["expected_backorder_units", "stockout_probability"], ascending=False)
        .head(limit)
        .merge(items[["sku", "description"]], on="sku", how="left")
    )
    columns = ["sku", "description", "supplier_id", "stockout_probability", "expected_backorder_units",
               "projected_stockout_week", "order_by"]
    table = top.reindex(columns=columns).astype(object)
    return table.where(pd.notna(table), None).astype(str).replace("None", "").to_dict("records")


def publish(summary: RunSummary, risk: pd.DataFrame, items: pd.DataFrame) -> None:
    """Publish both artifacts for the current flow run (keys: lowercase, digits, dashes)."""
    create_markdown_artifact(key="safestock-summary", markdown=summary_markdown(summary),
                             description=f"safestock weekly run as of {summary.as_of}")
    create_table_artifact(key="safestock-top-risks", table=top_risks_table(risk, items),
                          description="SKUs with the most expected backorder units")
