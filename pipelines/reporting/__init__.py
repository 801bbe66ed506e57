"""Reporting: what a run shows people — the planner and buyer HTML reports, the per-supplier
order CSVs a buyer acts on, and the Prefect artifacts.

Rooms: ``data`` (report queries over the DuckDB file), ``charts`` (plotly figures), ``render``
(jinja2 templates from ``safestock.reports``), ``orders`` (order CSVs), ``artifacts`` (Prefect).
"""
