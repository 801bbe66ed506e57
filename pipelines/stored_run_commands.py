"""The commands that read a stored run, never start one: ``explain`` (every number behind one
SKU), ``approve`` (a buyer's decisions on order lines, ``order_decisions``) and ``whatif`` (safety
stock and backorders at another target). Registered on the ``safestock`` app in ``cli.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer
from rich.markup import escape
from safestock.pipelines.terminal import EXIT_BAD_INPUT, console, out, shown_cell


def explain(
    sku: Annotated[str, typer.Argument(help="The SKU code.")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file.")] = Path("demo_output/safestock.duckdb"),
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="A run (default: the newest succeeded run).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait while a run is writing the database.")] = 10.0,
) -> None:
    """Show why a SKU got its safety stock, reorder point, risk and order: every input and level."""
    import duckdb
    from safestock.pipelines.results import read_run
    from safestock.pipelines.sqlfiles import sql
    from safestock.pipelines.storage import DatabaseBusyError, connect

    if not db.is_file():
        console.print(f"[bold red]No database at {db}[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:  # a run's write window holds the file; a damaged or foreign file fails to read: one line each
        with connect(db, read_only=True, wait_seconds=wait) as con:
            try:
                run = read_run(con, run_id)
            except LookupError as error:
                console.print(f"[bold red]{error}[/]", highlight=False)
                raise typer.Exit(EXIT_BAD_INPUT) from None
            row = con.execute(sql("explain_sku"), {"run_id": run["run_id"], "sku": sku}).df()
            try:  # a database of a version before overrides has no such table
                overrides = con.execute(sql("explain_overrides"), {"run_id": run["run_id"], "sku": sku}).df()
            except duckdb.CatalogException:
                overrides = pd.DataFrame()
            similar = [] if not row.empty else [code for (code,) in con.execute(
                sql("explain_similar_skus"), {"run_id": run["run_id"], "sku": sku, "limit": 5}).fetchall()]
    except DatabaseBusyError as error:
        console.print(f"[bold red]Database busy:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except duckdb.Error as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        console.print(f"[bold red]Cannot read {escape(str(db))}:[/] {escape(reason)}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if row.empty:
        console.print(f"[bold red]SKU {escape(repr(sku))} is not in run {run['run_id']}[/]", highlight=False)
        if similar:
            console.print("Did you mean: " + ", ".join(similar) + "?", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    out.print(f"[bold]{sku}[/] in run {run['run_id']} (as of {run['as_of']:%Y-%m-%d})", highlight=False)
    for column, value in row.iloc[0].items():
        out.print(f"  {column:<26} {shown_cell(value)}", highlight=False, markup=False)
    for override in overrides.itertuples():
        weeks = f" over {override.weeks} week(s)" if override.weeks else ""
        out.print(f"  override (overrides.csv line {override.line}, {override.scope} {override.key or ''}): "
                  f"{override.kind} {shown_cell(override.before)} -> {shown_cell(override.after)}{weeks}"
                  + (f" ({override.note})" if override.note else ""), highlight=False, markup=False)


def approve(
    files: Annotated[list[Path], typer.Argument(help="Order CSVs of a run with the `approve` column filled in.")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file.")] = Path("demo_output/safestock.duckdb"),
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="The run the files are from "
                                                  "(default: the one run the files name).")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Who decides (default: the login name).")] = None,
    reports: Annotated[Optional[Path], typer.Option("--reports", help="Reports folder: re-render the decided "
                                                    "run's reports there (its buyer report shows the decisions).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait while a run is writing the database.")] = 10.0,
) -> None:
    """Store a buyer's approved and rejected order lines (order_decisions): approved lines count as
    on order in later runs until the ERP's purchase-order file shows them; rejected lines are not
    recommended again for `rejected_memory_weeks`. Nothing is stored unless every file is valid."""
    import getpass

    import duckdb
    from safestock.pipelines.inputs import InputValidationError
    from safestock.pipelines.inputs.approvals import read_approval_file
    from safestock.pipelines.storage import DatabaseBusyError, connect
    from safestock.pipelines.storage.decisions import run_order_lines, store_decisions

    if not db.is_file():
        console.print(f"[bold red]No database at {escape(str(db))}[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        with connect(db, read_only=True, wait_seconds=wait) as con:
            runs = sorted({run_id} if run_id else {
                str(value) for path in files if path.is_file()
                for value in pd.read_csv(path, dtype=str, usecols=lambda c: c == "run_id")
                .get("run_id", pd.Series(dtype=str)).dropna().str.lstrip("'")})
            plans = {run: run_order_lines(con, run) for run in runs}
        lines = pd.concat([plan[1] for plan in plans.values()]) if plans else pd.DataFrame(
            columns=["run_id", "sku", "supplier_id", "order_quantity", "expected_arrival"])
        decided = [read_approval_file(path, lines, run_id) for path in files]  # all checked before any is stored
    except (LookupError, InputValidationError, DatabaseBusyError, duckdb.Error, OSError, ValueError) as error:
        console.print(f"[bold red]Nothing stored:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    who = user or getpass.getuser()
    stored = 0
    for frame in decided:
        if len(frame):
            stored += store_decisions(db, frame, plans[frame["run_id"].iloc[0]][0], who, wait_seconds=wait)
    counts = pd.concat(decided)["decision"].value_counts() if decided else pd.Series(dtype=int)
    out.print(f"Stored {stored} decision(s) by {who}: {int(counts.get('approved', 0))} approved, "
              f"{int(counts.get('rejected', 0))} rejected", highlight=False, markup=False)
    if reports is not None:
        from safestock.pipelines.reporting.render import render_reports

        for decided_run in sorted({str(frame["run_id"].iloc[0]) for frame in decided if len(frame)}):
            written = render_reports(db, decided_run, reports)
            out.print(f"Reports of run {decided_run}: " + ", ".join(str(p) for p in written.values()),
                      highlight=False, markup=False)


def whatif(
    service_level: Annotated[float, typer.Option("--service-level", help="The target to try, e.g. 0.97.")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file.")] = Path("demo_output/safestock.duckdb"),
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="A run (default: the newest succeeded run).")] = None,
    abc_class: Annotated[Optional[str], typer.Option("--class", help="Only SKUs of this ABC class (A, B, C).")] = None,
    supplier: Annotated[Optional[str], typer.Option("--supplier", help="Only this supplier's SKUs.")] = None,
    sku: Annotated[Optional[list[str]], typer.Option("--sku", help="Only these SKUs (repeat the option).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait while a run is writing the database.")] = 10.0,
) -> None:
    """What if the selected SKUs had another service-level target: the change in safety stock (units,
    value) and expected backorder units per cycle, from a stored run; nothing is written."""
    import duckdb
    from safestock.models.inventory.whatif import service_level_whatif
    from safestock.pipelines.results import read_run
    from safestock.pipelines.sqlfiles import sql
    from safestock.pipelines.storage import DatabaseBusyError, connect

    if not db.is_file():
        console.print(f"[bold red]No database at {escape(str(db))}[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        with connect(db, read_only=True, wait_seconds=wait) as con:
            run = read_run(con, run_id)
            policy = con.execute(sql("whatif_policy"), {"run_id": run["run_id"]}).df()
    except (LookupError, DatabaseBusyError, duckdb.Error) as error:
        console.print(f"[bold red]{escape(str(error).splitlines()[0])}[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    chosen = pd.Series(True, index=policy.index)
    if abc_class is not None:
        chosen &= policy["abc"].astype(str).str.upper() == abc_class.upper()
    if supplier is not None:
        chosen &= policy["supplier_id"].astype(str) == supplier
    if sku:
        chosen &= policy["sku"].astype(str).isin(sku)
    selected = policy[chosen]
    if selected.empty:
        console.print("[bold red]No SKU of the run matches the selection[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        result = service_level_whatif(selected, selected["unit_cost"].to_numpy(float), service_level)
    except ValueError as error:
        console.print(f"[bold red]{escape(str(error))}[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    value_now = float((result["safety_stock"] * selected["unit_cost"].fillna(0).to_numpy()).sum())
    out.print(f"What-if on run {run['run_id']} (as of {run['as_of']:%Y-%m-%d}): {len(result):,} SKU(s) at service "
              f"level {service_level:g} (now: mean target {result['service_level'].mean():.3f})", highlight=False,
              markup=False)
    for label, now, new in (
            ("safety stock units", result["safety_stock"].sum(), result["new_safety_stock"].sum()),
            ("safety stock value", value_now, value_now + result["safety_stock_value_change"].sum()),
            ("expected backorder units per cycle", result["backorder_units"].sum(),
             result["new_backorder_units"].sum())):
        out.print(f"  {label:<36} {now:>14,.1f} -> {new:>14,.1f}  ({new - now:+,.1f})", highlight=False,
                  markup=False)
