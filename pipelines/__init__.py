"""Pipelines: the Prefect flow, the ``safestock`` CLI and the I/O around the pure models —
``inputs`` (read and validate), ``storage`` (the DuckDB results file), ``reporting`` (reports,
order files, artifacts), ``demo`` (synthetic data). ``flow`` only wires them to ``safestock.models``.
"""
