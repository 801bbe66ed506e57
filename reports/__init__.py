"""Report templates (jinja2), CSS and JS of the planner and buyer reports, shipped as package
data and read with ``importlib.resources`` by ``safestock.pipelines.reporting.render``."""
