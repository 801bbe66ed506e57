"""The output stage: the run's tables written in one transaction, then its reports and order
files (retried on I/O errors only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from safestock.pipelines import storage
from safestock.pipelines.progress import announce
from safestock.pipelines.reporting import orders as exports
from safestock.pipelines.reporting.render import render_reports
from safestock.pipelines.storage import history
from safestock.pipelines.tasks.inputs import retry_on_io_error


@task(name="write-results", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE,
      retry_condition_fn=retry_on_io_error)
def write_task(
    db_path: Path, run: storage.RunRecord, outputs: dict[str, pd.DataFrame], sales_weekly: pd.DataFrame,
    summary: dict[str, object], wait_seconds: float = 0.0, sales_history: history.SalesHistoryUpdate | None = None,
) -> list[str]:
    announce(f"Writing results to {db_path}")
    return storage.write_run(db_path, run, outputs, sales_weekly, summary, wait_seconds=wait_seconds,
                             history=sales_history)


@task(name="reports", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE, retry_condition_fn=retry_on_io_error)
def reports_task(
    db_path: Path, run: storage.RunRecord, reports_dir: Path, orders: pd.DataFrame, items: pd.DataFrame,
    currency: str | None,
) -> dict[str, Path]:
    """The run's reports and its order files in ``orders/<as_of>/``, the folder its buyer report
    links to; once the run is the newest, the flat ``orders/*.csv`` of earlier versions go."""
    announce(f"Writing reports to {reports_dir}")
    order_files = exports.write_supplier_orders(orders, items, exports.run_orders_dir(reports_dir, run.as_of),
                                                run_id=run.run_id, as_of=run.as_of, currency=currency)
    reports = render_reports(db_path, run.run_id, reports_dir)
    if storage.latest_run_id(db_path) == run.run_id:
        exports.remove_flat_order_files(reports_dir)
    return {**reports, **{f"orders:{k}": v for k, v in order_files.items()}}


class ReportsFailedError(RuntimeError):
    """The run's results were committed, but writing its reports or order files failed."""

    def __init__(self, run_id: str, error: BaseException) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} succeeded and its results are in the database, but writing the reports "
            f"failed: {type(error).__name__}: {error}"
        )
