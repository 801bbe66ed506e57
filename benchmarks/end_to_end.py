"""End-to-end benchmark: generate N SKUs x 3 years of daily sales, run the weekly flow as
`safestock run` does (its temporary Prefect server), print wall and CPU seconds per stage and
peak memory (max RSS of this process).

    python benchmarks/end_to_end.py --skus 10000
    python benchmarks/end_to_end.py --skus 10000 --input /path/to/existing/input   # skip generation
    python benchmarks/end_to_end.py --skus 10000 --input DIR --config no_calibration.toml

Every task of the flow and the flow's own calls are timed from inside (wall seconds, and the
process's CPU seconds: every thread, DuckDB's included), with the loader's and the write's
sub-steps indented under them (the history feed: its Parquet export in the load, its replace in
the write). "Prefect start-up" is the temporary server's start plus the flow's until its first
call; "Prefect between tasks" is the rest of the run outside the timed calls (task engine,
state reports to the server). The peak RSS column is the process's peak so far at the end of
each step. On a loaded machine (load average above the core count) read the CPU column.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (MiB) of this process, or of its largest finished child process."""
    return resource.getrusage(who).ru_maxrss / 1024


@dataclass
class Step:
    name: str
    depth: int
    began: float
    cpu_began: float
    ended: float = 0.0
    cpu_ended: float = 0.0
    peak_mib: float = 0.0


class Timeline:
    """Wall and CPU seconds of wrapped calls, nested (a call inside a timed call is indented)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.depth = 0

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            step = Step(name, self.depth, time.perf_counter(), time.process_time())
            self.steps.append(step)
            self.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1
                step.ended, step.cpu_ended, step.peak_mib = time.perf_counter(), time.process_time(), peak_rss_mib()
        return timed

    def patch(self, module: Any, attribute: str, name: str | None = None) -> None:
        setattr(module, attribute, self.wrap(name or attribute, getattr(module, attribute)))

    def patch_task(self, task: Any) -> None:
        task.fn = self.wrap(task.name, task.fn)


def instrument(timeline: Timeline) -> None:
    """Time every task of the flow, the flow's own calls and the load's and write's sub-steps."""
    from prefect import Task
    from safestock.pipelines import flow as flow_module
    from safestock.pipelines.inputs import load
    from safestock.pipelines.storage import database
    from safestock.pipelines.tasks import forecast, inputs, outputs, overrides, planning

    for module in (inputs, overrides, planning, outputs):
        for value in vars(module).values():
            if isinstance(value, Task):
                timeline.patch_task(value)
    for attribute in ("load_config", "prune_forecast_cache", "read_overrides", "assemble_outputs",
                      "forecast_all", "with_approved_orders", "mark_rejected"):
        timeline.patch(flow_module, attribute)
    timeline.patch(flow_module.history, "plan_pull", "history.plan_pull")
    timeline.patch(flow_module.storage, "start_run", "storage.start_run")
    timeline.patch(flow_module.artifacts, "publish", "artifacts.publish")
    timeline.patch(forecast, "merge_forecasts")
    for attribute in ("sales_fast", "stage", "stock_history_fast", "check_values", "check_keys",
                      "check_references", "_typed_frame", "_sales_weekly", "check_sales_age",
                      "_prices_weekly", "_stock_weekly", "_with_inferred_stockouts", "plausibility_notes"):
        timeline.patch(load, attribute)
    for attribute in ("_insert_frame", "write_history"):
        timeline.patch(database, attribute)
    timeline.patch(outputs.exports, "write_supplier_orders", "orders.write_supplier_orders")
    timeline.patch(outputs, "render_reports")


def combined(steps: list[Step]) -> list[tuple[Step, int]]:
    """Repeated calls of one name under the same parent as one line (summed), with their count."""
    lines: list[tuple[Step, int]] = []
    index: dict[tuple[int, str], int] = {}
    parent = -1
    for step in steps:
        if step.depth == 0:
            parent += 1
        key = (parent if step.depth else -1 - len(lines), step.name)
        if step.depth and key in index:
            line, count = lines[index[key]]
            line.ended += step.ended - step.began
            line.cpu_ended += step.cpu_ended - step.cpu_began
            line.peak_mib = max(line.peak_mib, step.peak_mib)
            lines[index[key]] = (line, count + 1)
            continue
        index[key] = len(lines)
        lines.append((Step(step.name, step.depth, step.began, step.cpu_began, step.ended, step.cpu_ended,
                           step.peak_mib), 1))
    return lines


def export_gap(steps: list[Step]) -> Step | None:
    """The load's Parquet export of the validated sku-days for `sales_history` (the history
    feed's first half): nothing else runs between `_sales_weekly` and `check_sales_age`."""
    names = [step.name for step in steps]
    if "_sales_weekly" not in names or "check_sales_age" not in names:
        return None
    before, after = steps[names.index("_sales_weekly")], steps[names.index("check_sales_age")]
    return Step("history feed: export of the sku-days to Parquet", before.depth, before.ended, before.cpu_ended,
                after.began, after.cpu_began, after.peak_mib)


def report(timeline: Timeline, started: float, cpu_started: float, launched: float, cpu_launched: float,
           imported: float, cpu_imported: float, served: float, cpu_served: float, finished: float,
           cpu_finished: float) -> str:
    """The stage table: wall s, CPU s (this process, all threads), peak RSS so far."""
    steps = timeline.steps
    gap = export_gap(steps)
    if gap is not None:
        steps = sorted([*steps, gap], key=lambda step: (step.began, -step.depth))
    top = [step for step in steps if step.depth == 0]
    first, last = top[0], max(top, key=lambda step: step.ended)
    rows = [("Prefect start-up: import prefect, launch the server", launched - started, cpu_launched - cpu_started, None),
            ("Prefect start-up: import the flow (server booting)", imported - launched, cpu_imported - cpu_launched, None),
            ("Prefect start-up: wait for the server", served - imported, cpu_served - cpu_imported, None),
            ("Prefect start-up: flow run until its first call", first.began - served, first.cpu_began - cpu_served,
             None)]
    for step, count in combined(steps):
        name = "  " * step.depth + step.name + (f" (x{count})" if count > 1 else "")
        rows.append((name, step.ended - step.began, step.cpu_ended - step.cpu_began, step.peak_mib))
    inside = sum(step.ended - step.began for step in top)
    cpu_inside = sum(step.cpu_ended - step.cpu_began for step in top)
    rows += [("Prefect between tasks (engine, state reports)", last.ended - first.began - inside,
              last.cpu_ended - first.cpu_began - cpu_inside, None),
             ("flow end, server stop", finished - last.ended, cpu_finished - last.cpu_ended, None)]
    lines = [f"  {'stage':<62} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}"]
    lines += [f"  {name:<62} {wall:7.2f} {cpu:7.2f} {'' if peak is None else f'{peak:9,.0f}'}"
              for name, wall, cpu, peak in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--input", type=Path, default=None, help="existing input folder (skips generation)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None, help="run forecast partitions on a local Dask cluster")
    parser.add_argument("--config", type=Path, default=None, help="TOML configuration (e.g. partition_size)")
    parser.add_argument("--keep-input", action="store_true", help="generate the input only (into --workdir/input)")
    args = parser.parse_args()

    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="safestock_bench_"))
    input_dir = args.input
    if input_dir is None:
        started = time.perf_counter()
        tables = generate_demo_data(args.skus, seed=args.seed)
        input_dir = workdir / "input"
        write_demo_data(tables, input_dir)
        print(f"generate  {args.skus:,} SKUs, {len(tables['sales']):,} sales rows: "
              f"{time.perf_counter() - started:.1f} s into {input_dir}")
        del tables
        if args.keep_input:
            return

    started, cpu_started = time.perf_counter(), time.process_time()
    launched = None
    try:  # as `safestock run`: the server boots while the flow's modules import
        from safestock.pipelines.prefect_server import (
            launch_prefect_server,
            temporary_prefect_server,
        )

        launched = launch_prefect_server()
    except ImportError:  # a release without launch_prefect_server (before/after comparisons)
        from safestock.pipelines.prefect_server import temporary_prefect_server
    launched_at, cpu_launched = time.perf_counter(), time.process_time()
    from safestock.pipelines.flow import configured_flow
    imported, cpu_imported = time.perf_counter(), time.process_time()
    timeline = Timeline()
    instrument(timeline)
    with (temporary_prefect_server() if launched is None else temporary_prefect_server(launched=launched)):
        served, cpu_served = time.perf_counter(), time.process_time()
        summary = configured_flow(args.workers)(input_dir=input_dir, db_path=workdir / "bench.duckdb",
                                                reports_dir=workdir / "reports", config_path=args.config)
    finished, cpu_finished = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)

    runner = f"Dask, {args.workers} workers" if args.workers else "single process"
    print(f"\nend-to-end run ({summary.skus:,} SKUs, {runner}): {finished - started:.1f} s wall, "
          f"{cpu_finished - cpu_started:.1f} s CPU in this process (+ {children.ru_utime + children.ru_stime:.1f} s "
          f"in child processes: the Prefect server), peak RSS {peak_rss_mib():,.0f} MiB (largest child process: "
          f"{peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB); load average {os.getloadavg()[0]:.1f}")
    print(report(timeline, started, cpu_started, launched_at, cpu_launched, imported, cpu_imported,
                 served, cpu_served, finished, cpu_finished))
    print(f"\ndatabase {workdir / 'bench.duckdb'} ({(workdir / 'bench.duckdb').stat().st_size / 2**20:,.0f} MiB)")
    for name, path in summary.reports.items():
        if not name.startswith("orders:"):
            print(f"{name} report {path} ({Path(path).stat().st_size / 2**20:,.1f} MiB)")


if __name__ == "__main__":
    main()
