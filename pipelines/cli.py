"""The ``safestock`` command line.

Exit codes: 0 success; 1 the run failed (recorded as failed in ``runs``); 2 invalid input or
configuration (nothing written); 3 another run holds the database.
"""

from __future__ import annotations

import os

# Prefect's own logging would drown the progress display and repeat every error the CLI
# explains itself; --verbose brings it back. Flow and task runs are still recorded by Prefect.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from datetime import date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Optional  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402

from pipelines.progress import listening  # noqa: E402

app = typer.Typer(help="Demand forecasts, safety stock, backorder risk and purchase orders.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_RUN_IN_PROGRESS = 1, 2, 3


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False) -> None:
    """safestock: weekly demand forecasting and safety-stock pipeline."""
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"


def _parse_date(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _run_flow(input_dir: Path, db: Path, reports: Path, as_of: Optional[date], config: Optional[Path],
              wait: float) -> None:
    """Run the weekly flow with a progress display; map failures to exit codes."""
    from pipelines.config import ConfigError
    from pipelines.flow import weekly_run
    from pipelines.load import InputValidationError
    from pipelines.storage import RunInProgressError

    try:
        with console.status("Starting Prefect flow…") as status, listening(lambda m: status.update(m + "…")):
            summary = weekly_run(input_dir=input_dir, db_path=db, reports_dir=reports, as_of=as_of,
                                 config_path=config, wait_seconds=wait)
    except InputValidationError as error:
        console.print(f"[bold red]Input rejected[/] ({len(error.issues)} problem(s)); nothing was written.")
        console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ConfigError as error:
        console.print(f"[bold red]Configuration rejected:[/] {error}", markup=True, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RunInProgressError as error:
        console.print(f"[bold yellow]{error}[/]", highlight=False)
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from None
    except Exception as error:  # recorded as failed in `runs` by the flow; earlier results intact
        console.print(f"[bold red]Run failed:[/] {type(error).__name__}: {error}", highlight=False)
        console.print("Earlier results in the database are unchanged.")
        raise typer.Exit(EXIT_RUN_FAILED) from None

    out.print(f"[bold green]Run {summary.run_id} succeeded[/] (as of {summary.as_of})")
    out.print(f"  SKUs planned:      {summary.skus:,}")
    out.print(f"  SKUs at risk:      {summary.skus_at_risk:,}")
    out.print(f"  order lines:       {summary.order_lines:,} (value {summary.order_value:,.2f})")
    out.print(f"  database:          {summary.db_path.resolve()}")
    for name, path in summary.reports.items():
        if not name.startswith("orders:"):
            out.print(f"  {name + ' report:':<18} {Path(path).resolve()}")
    order_files = [p for n, p in summary.reports.items() if n.startswith("orders:")]
    if order_files:
        out.print(f"  order CSVs:        {len(order_files)} file(s) in {Path(order_files[0]).parent.resolve()}")


@app.command()
def run(
    input: Annotated[Path, typer.Option("--input", help="Folder with sales, items, suppliers, inventory, purchase_orders (CSV or Parquet).")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB results file (created if missing).")],
    reports: Annotated[Path, typer.Option("--reports", help="Folder for the HTML reports and order CSVs.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Planning date YYYY-MM-DD (default: latest inventory snapshot).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML configuration (service levels, costs, horizon).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another run holding the database.")] = 0.0,
) -> None:
    """Run the weekly pipeline on an input folder."""
    _run_flow(input, db, reports, _parse_date(as_of), config, wait)


@app.command()
def generate(
    skus: Annotated[int, typer.Option("--skus", min=1, help="Number of SKUs.")] = 500,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the input files to.")] = Path("demo_input"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate a seeded demo input folder (see docs/demo-data.md)."""
    from pipelines.demo_data import generate_demo_data, write_demo_data

    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    with console.status(f"Generating {skus:,} SKUs…"):
        paths = write_demo_data(generate_demo_data(skus, seed=seed), out_dir, fmt=fmt)
    for name, path in paths.items():
        out.print(f"  {name:<16} {Path(path).resolve()}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for demo input, database and reports.")] = Path("demo_output"),
    skus: Annotated[int, typer.Option("--skus", min=1, help="Number of SKUs to generate.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
) -> None:
    """Generate demo data, run the weekly flow, and print where the results are."""
    from pipelines.demo_data import generate_demo_data, write_demo_data

    input_dir = out_dir / "input"
    with console.status(f"Generating demo data ({skus:,} SKUs)…"):
        write_demo_data(generate_demo_data(skus, seed=seed), input_dir)
    out.print(f"Demo input written to {input_dir.resolve()}")
    _run_flow(input_dir, out_dir / "safestock.duckdb", out_dir / "reports", None, None, 0.0)


if __name__ == "__main__":
    app()
