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

import typer  # noqa: E402
from rich.markup import escape  # noqa: E402
from safestock.pipelines.progress import listening  # noqa: E402
from safestock.pipelines.stored_run_commands import approve, explain, whatif  # noqa: E402
from safestock.pipelines.terminal import (  # noqa: E402
    EXIT_BAD_INPUT,
    EXIT_RUN_FAILED,
    EXIT_RUN_IN_PROGRESS,
    console,
    out,
)

# Plain click help (rich_markup_mode=None): typer's rich panels print a misleading `<bool>` value
# beside every flag (--verbose, --help), as if flags took an argument.
app = typer.Typer(help="Demand forecasts, safety stock, backorder risk and purchase orders.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None)


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
    started: such a mistake is reported in about a second. The flow then validates everything else.
    The temporary Prefect server is launched before the flow's modules are imported, so its boot
    and the imports share the two cores instead of following each other."""
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

    from safestock.pipelines.prefect_server import launch_prefect_server, temporary_prefect_server

    server = launch_prefect_server()  # boots on the other core while the flow's modules import
    try:
        from safestock.pipelines.config import ConfigError
        from safestock.pipelines.flow import ReportsFailedError, configured_flow
        from safestock.pipelines.inputs.postgres import SourceUnavailableError
        from safestock.pipelines.storage import DatabaseBusyError, ForeignTableError, RunInProgressError
    except BaseException:
        if server is not None:
            server.stop()
        raise

    try:
        with _progress_display() as show, listening(show), temporary_prefect_server(launched=server):
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


for command in (explain, approve, whatif):  # they read a stored run: stored_run_commands.py
    app.command()(command)


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
