"""The ``safestock`` command line.

Exit codes: 0 success; 1 the run failed (recorded as failed in ``runs``); 2 invalid input or
configuration, or a database file holding someone else's table named like ours (nothing written);
3 another run, or another process holding the DuckDB file open, kept the database busy past --wait.
"""

from __future__ import annotations

import logging
import os

# Prefect's own logging would drown the progress display and repeat every error the CLI
# explains itself; --verbose brings it back. Flow and task runs are still recorded by Prefect.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, NoReturn, Optional  # noqa: E402

import pandas as pd  # noqa: E402
import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from safestock.pipelines.progress import listening  # noqa: E402

# Plain click help (rich_markup_mode=None): typer's rich panels print a misleading `<bool>` value
# beside every flag (--verbose, --help), as if flags took an argument.
app = typer.Typer(help="Demand forecasts, safety stock, backorder risk and purchase orders.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_RUN_IN_PROGRESS = 1, 2, 3


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False) -> None:
    """safestock: weekly demand forecasting and safety-stock pipeline."""
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    else:  # a local Dask cluster (--workers) logs every worker start at INFO
        logging.getLogger("distributed").setLevel(logging.WARNING)


def _parse_date(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


@contextmanager
def _progress_display() -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal; timestamped stage lines on stderr otherwise (logs, CI)."""
    if console.is_terminal:
        with console.status("Starting Prefect flow…") as status:
            yield lambda message: status.update(message + "…")
    else:
        yield lambda message: console.print(f"{datetime.now():%H:%M:%S} {message}", highlight=False)


def _input_rejected(error: Exception) -> NoReturn:
    console.print(f"[bold red]Input rejected[/] ({len(error.issues)} problem(s)); nothing was written.")
    console.print(str(error), markup=False, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT) from None


def _config_rejected(error: Exception) -> NoReturn:
    console.print(f"[bold red]Configuration rejected:[/] {escape(str(error))}", markup=True, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT) from None


def _source_rejected(error: Exception) -> NoReturn:
    console.print(f"[bold red]Source rejected:[/] {escape(str(error))}; nothing was written.", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT) from None


def _check_source(source: Optional[str], config: Optional[Path], config_error: Optional[Exception]) -> None:
    """Without --input: the PostgreSQL source answers, the credentials work and every mapped
    table and column exists (exit 2 with one line otherwise), before Prefect starts."""
    from safestock.pipelines.config import SourceConfig, load_config
    from safestock.pipelines.inputs.postgres import SourceUnavailableError, check_source_structure

    if config_error is not None:
        _config_rejected(config_error)
    settings = load_config(config).source if config is not None else SourceConfig()
    uri = source or settings.uri
    if uri is None:
        console.print("[bold red]No input:[/] give --input FOLDER or --source postgresql://user@host:port/db "
                      "(or [source] uri in the --config file)", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        check_source_structure(uri, settings)
    except SourceUnavailableError as error:
        _source_rejected(error)


def _run_flow(input_dir: Optional[Path], db: Path, reports: Path, as_of: Optional[date], config: Optional[Path],
              wait: float, workers: Optional[int] = None, dask_address: Optional[str] = None,
              source: Optional[str] = None, full_reload: bool = False) -> None:
    """Run the weekly flow with a progress display; map failures to exit codes.

    The configuration and the input files' structure (files present, readable, required columns, no
    misspelled optional column) are checked first, before Prefect is imported or its server
    started: such a mistake is reported in about a second. The flow then validates everything else."""
    from safestock.pipelines.inputs import InputValidationError, check_input_structure

    allow_extra_columns, config_error = False, None
    if config is not None:  # no file: the defaults, nothing to check (and scipy stays unimported)
        from safestock.pipelines.config import ConfigError, load_config

        try:
            allow_extra_columns = load_config(config).inputs.allow_extra_columns
        except ConfigError as error:
            config_error = error
    if input_dir is None:  # the PostgreSQL source: --source, else the config's [source] uri
        _check_source(source, config, config_error)
    try:
        if input_dir is not None:
            check_input_structure(input_dir, allow_extra_columns=allow_extra_columns)
    except InputValidationError as error:
        if config_error is not None:
            console.print(f"[bold red]Configuration rejected:[/] {escape(str(config_error))}", highlight=False)
        _input_rejected(error)
    if config_error is not None:
        _config_rejected(config_error)

    from safestock.pipelines.config import ConfigError
    from safestock.pipelines.flow import ReportsFailedError, configured_flow
    from safestock.pipelines.inputs.postgres import SourceUnavailableError
    from safestock.pipelines.prefect_server import temporary_prefect_server
    from safestock.pipelines.storage import DatabaseBusyError, ForeignTableError, RunInProgressError

    try:
        with _progress_display() as show, listening(show), temporary_prefect_server():
            summary = configured_flow(workers, dask_address)(input_dir=input_dir, db_path=db, reports_dir=reports, as_of=as_of,
                                 config_path=config, wait_seconds=wait, source=source,
                                 full_reload=full_reload)
    except InputValidationError as error:
        _input_rejected(error)
    except SourceUnavailableError as error:
        _source_rejected(error)
    except ConfigError as error:
        _config_rejected(error)
    except RunInProgressError as error:
        console.print(f"[bold yellow]{error}[/]", highlight=False)
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from None
    except DatabaseBusyError as error:  # the run row, if written, is failed (or abandoned: docs/reliability.md)
        console.print(f"[bold yellow]Database busy:[/] {escape(str(error))}", highlight=False)
        console.print("Earlier results in the database are unchanged.")
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from None
    except ForeignTableError as error:
        console.print(f"[bold red]Database refused:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ReportsFailedError as error:
        console.print(f"[bold red]Reports failed:[/] {error}", highlight=False)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    except Exception as error:  # recorded as failed in `runs` by the flow; earlier results intact
        console.print(f"[bold red]Run failed:[/] {type(error).__name__}: {error}", highlight=False)
        console.print("Earlier results in the database are unchanged.")
        raise typer.Exit(EXIT_RUN_FAILED) from None

    out.print(f"[bold green]Run {summary.run_id} succeeded[/] (as of {summary.as_of})")
    out.print(f"  SKUs planned:      {summary.skus:,}")
    out.print(f"  SKUs at risk:      {summary.skus_at_risk:,}")
    out.print(f"  order lines:       {summary.order_lines:,} (value {summary.order_value:,.2f})")
    if summary.rows_pulled is not None:
        window = f"dated from {summary.pulled_from} on" if summary.pulled_from else "all"
        out.print(f"  sales rows read:   {summary.rows_pulled:,} ({window}) into sales_history")
    out.print(f"  database:          {summary.db_path.resolve()}")
    for name, path in summary.reports.items():
        if not name.startswith("orders:"):
            out.print(f"  {name + ' report:':<18} {Path(path).resolve()}")
    order_files = [p for n, p in summary.reports.items() if n.startswith("orders:")]
    if order_files:
        out.print(f"  order CSVs:        {len(order_files)} file(s) in {Path(order_files[0]).parent.resolve()}")


@app.command()
def run(
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file (created if missing).")],
    reports: Annotated[Path, typer.Option("--reports", help="Folder for the HTML reports and order CSVs.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Planning date YYYY-MM-DD (default: latest inventory snapshot).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML configuration (service levels, costs, horizon).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another run holding the database.")] = 0.0,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Run forecast partitions on a local Dask cluster of N worker processes.")] = None,
    dask_address: Annotated[Optional[str], typer.Option("--dask-address", help="Run forecast partitions on an existing Dask cluster (tcp://host:port).")] = None,
    input: Annotated[Optional[Path], typer.Option("--input", help="Folder with sales, items, suppliers, inventory, purchase_orders (CSV or Parquet).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Read the inputs from PostgreSQL instead: postgresql://user@host:port/db (password from $PGPASSWORD or [source] password_env; tables and columns: [source] in --config).")] = None,
    full_reload: Annotated[bool, typer.Option("--full-reload", help="With a PostgreSQL source: pull every sales row, not only those after the history's newest day minus [source] lookback_days.")] = False,
) -> None:
    """Run the weekly pipeline on an input folder (or a PostgreSQL source: --source)."""
    if input is not None and source is not None:
        console.print("[bold red]Give either --input or --source, not both.[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    _run_flow(input, db, reports, _parse_date(as_of), config, wait, workers, dask_address, source, full_reload)


@app.command()
def serve(
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file.")],
    reports: Annotated[Path, typer.Option("--reports", help="Folder for the HTML reports and order CSVs.")],
    cron: Annotated[str, typer.Option("--cron", help="Schedule (cron, in --timezone).")] = "0 6 * * 1",
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone of the schedule.")] = "UTC",
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML configuration.")] = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "safestock-weekly",
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Local Dask workers per run.")] = None,
    dask_address: Annotated[Optional[str], typer.Option("--dask-address", help="Existing Dask cluster.")] = None,
    input: Annotated[Optional[Path], typer.Option("--input", help="Input folder read by every scheduled run.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Or PostgreSQL read by every scheduled run: postgresql://user@host:port/db ([source] in --config; password from the environment of this command).")] = None,
) -> None:
    """Register the weekly flow as a Prefect deployment on a cron schedule and serve it.

    Runs until stopped (Ctrl-C). Without PREFECT_API_URL a local temporary server runs (and stops with this command);
    point PREFECT_API_URL at a Prefect server (`prefect server start`) to see runs in its UI.
    """
    from safestock.pipelines.flow import configured_flow
    from safestock.pipelines.prefect_server import temporary_prefect_server

    if input is not None and source is not None:
        console.print("[bold red]Give either --input or --source, not both.[/]", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    if input is None:  # the source must answer now, not at the first scheduled run
        _check_source(source, config, None)
    os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    flow = configured_flow(workers, dask_address)
    out.print(f"Serving deployment [bold]{name}[/] on '{cron}' ({timezone}); Ctrl-C stops.")
    with temporary_prefect_server():
        flow.serve(name=name, **deployment_options(input, db, reports, cron, timezone, config, source))


def deployment_options(input: Optional[Path], db: Path, reports: Path, cron: str, timezone: str,
                       config: Optional[Path], source: Optional[str] = None) -> dict[str, object]:
    """Schedule and parameters of the weekly deployment (absolute paths: the server's cwd differs).
    Without ``input``: the PostgreSQL ``source`` URI (or the config's ``[source] uri``)."""
    from prefect.schedules import Cron

    parameters: dict[str, object] = {"input_dir": None if input is None else str(input.resolve()),
                                     "db_path": str(db.resolve()),
                                     "reports_dir": str(reports.resolve()), "wait_seconds": 600.0}
    if source is not None:
        parameters["source"] = source
    if config is not None:
        parameters["config_path"] = str(config.resolve())
    return {"schedules": [Cron(cron, timezone=timezone)], "parameters": parameters,
            "description": "safestock weekly planning run", "tags": ["safestock"]}


@app.command()
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
        out.print(f"  {column:<26} {_shown(value)}", highlight=False, markup=False)
    for override in overrides.itertuples():
        weeks = f" over {override.weeks} week(s)" if override.weeks else ""
        out.print(f"  override (overrides.csv line {override.line}, {override.scope} {override.key or ''}): "
                  f"{override.kind} {_shown(override.before)} -> {_shown(override.after)}{weeks}"
                  + (f" ({override.note})" if override.note else ""), highlight=False, markup=False)


@app.command()
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


@app.command()
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


def _shown(value: object) -> str:
    """A table cell as a planner reads it: dates as dates, numbers with sensible precision."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


#: Demo options shared by ``generate`` and ``demo`` (shares of SKUs; 0 = the default demo).
PromotionsOption = Annotated[float, typer.Option("--promotions", min=0.0, max=1.0, help=(
    "Share of SKUs with price promotions (adds sales.unit_price; 0 = the default demo)."))]
TrendsOption = Annotated[float, typer.Option("--trends", min=0.0, max=1.0, help=(
    "Share of SKUs with a steady 0.5-1 %/week trend (0 = the default demo)."))]
LostSalesOption = Annotated[float, typer.Option("--lost-sales", min=0.0, max=1.0, help=(
    "Share of SKUs whose customers walk away from an empty shelf (items.unmet_demand = lost; "
    "adds stock_history; 0 = the default demo)."))]


@app.command()
def generate(
    skus: Annotated[int, typer.Option("--skus", min=1, help="Number of SKUs.")] = 500,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the input files to.")] = Path("demo_input"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    promotions: PromotionsOption = 0.0,
    trends: TrendsOption = 0.0,
    lost_sales: LostSalesOption = 0.0,
) -> None:
    """Generate a seeded demo input folder (see docs/demo-data.md)."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    with console.status(f"Generating {skus:,} SKUs…"):
        paths = write_demo_data(generate_demo_data(skus, seed=seed, promotion_share=promotions,
                                                   trend_share=trends, lost_sales_share=lost_sales),
                                out_dir, fmt=fmt)
    for name, path in paths.items():
        out.print(f"  {name:<16} {Path(path).resolve()}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for demo input, database and reports.")] = Path("demo_output"),
    skus: Annotated[int, typer.Option("--skus", min=1, help="Number of SKUs to generate.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    promotions: PromotionsOption = 0.0,
    trends: TrendsOption = 0.0,
    lost_sales: LostSalesOption = 0.0,
) -> None:
    """Generate demo data, run the weekly flow, and print where the results are."""
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    input_dir = out_dir / "input"
    with console.status(f"Generating demo data ({skus:,} SKUs)…"):
        write_demo_data(generate_demo_data(skus, seed=seed, promotion_share=promotions, trend_share=trends,
                                           lost_sales_share=lost_sales), input_dir)
    out.print(f"Demo input written to {input_dir.resolve()}")
    _run_flow(input_dir, out_dir / "safestock.duckdb", out_dir / "reports", None, None, 0.0)


if __name__ == "__main__":
    app()
