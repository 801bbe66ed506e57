"""The forecast stage: SKU partitions forecast by the engine (on Dask workers when configured),
cached by input and code in ``<db>.cache/``, and merged."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import safestock.models.forecasting as forecasting_package
from prefect import task
from safestock.models.demand_matrix import DemandMatrix
from safestock.models.forecasting import ForecastResult, forecast_demand
from safestock.models.forecasting.prices import weekly_price_matrix
from safestock.models.partition import merge_forecasts, partition_skus
from safestock.pipelines.config import PipelineConfig
from safestock.pipelines.inputs import LoadedInputs
from safestock.pipelines.progress import announce
from safestock.pipelines.storage.forecast_cache import FORECAST_CACHE_MAX_AGE


@lru_cache(maxsize=1)
def _forecasting_code_digest() -> str:
    """Hash of the forecasting code, so a code change invalidates cached forecasts."""
    digest = hashlib.sha256()
    sources = [entry for entry in files(forecasting_package).iterdir() if entry.name.endswith(".py")]
    for source in sorted(sources, key=lambda entry: entry.name):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _forecast_cache_key(context: object, parameters: dict[str, Any]) -> str:
    """Key of a partition's forecast: its SKUs, history, costs, configuration and the code."""
    digest = hashlib.sha256(_forecasting_code_digest().encode())
    digest.update("\x1f".join(map(str, parameters["skus"])).encode("utf-8", "surrogatepass"))
    for name in ("history", "start", "unit_cost", "weeks"):
        digest.update(np.ascontiguousarray(parameters[name]).tobytes())
    if parameters.get("prices") is not None:
        digest.update(b"prices" + np.ascontiguousarray(parameters["prices"]).tobytes())
    digest.update(repr(parameters["config"]).encode())
    return f"safestock-forecast-{digest.hexdigest()}"


# Cached by input: a re-run after a failed write (or a retried flow) reuses finished partitions.
# The entries live in <db>.cache/ (forecast_all sets the result storage), pruned at each run start.
@task(name="forecast-partition", cache_key_fn=_forecast_cache_key, persist_result=True,
      cache_expiration=FORECAST_CACHE_MAX_AGE)
def forecast_partition_task(
    skus: np.ndarray, history: np.ndarray, start: np.ndarray, unit_cost: np.ndarray, weeks: np.ndarray,
    config: PipelineConfig, prices: np.ndarray | None = None,
) -> ForecastResult:
    """Forecast one partition of SKUs (runs on a Dask worker when the flow uses Dask).
    ``weeks``: the Monday of each history column (for the calendar of events); ``prices``: the
    weekly selling prices on the same grid (the global model's price features) or None."""
    return forecast_demand(
        skus,
        history,
        start,
        config.horizon_weeks,
        unit_cost,
        **config.forecast.engine_options(weeks),
        prices=prices,
    )


def price_matrix(inputs: LoadedInputs, demand: DemandMatrix, config: PipelineConfig) -> np.ndarray | None:
    """The input's weekly selling prices (sales.unit_price) on the demand grid, filled forward
    (models/forecasting/prices.py), for the global model; None without prices or with the global
    model off (nothing else uses them)."""
    prices = inputs.prices_weekly
    if prices is None or not config.forecast.global_model:
        return None
    return weekly_price_matrix(prices["sku"].to_numpy(dtype=object), prices["week"].to_numpy(),
                               prices["unit_price"].to_numpy(dtype=np.float64), demand.skus,
                               demand.weeks.to_numpy())


def forecast_all(demand: DemandMatrix, unit_cost: np.ndarray, config: PipelineConfig,
                 cache_dir: Path | None = None, prices: np.ndarray | None = None) -> ForecastResult:
    """Fan the forecast out over deterministic SKU partitions and merge the results; finished
    partitions are cached in ``cache_dir`` (default: Prefect's result storage). ``prices``:
    weekly selling prices on the demand grid (``price_matrix``) or None."""
    partitions = partition_skus(demand.skus, config.partition_size)
    announce(f"Forecasting {len(demand.skus):,} SKUs in {len(partitions)} partition(s)")
    partition_task = forecast_partition_task if cache_dir is None else forecast_partition_task.with_options(
        result_storage=cache_dir.resolve())  # a Path: a local folder, no saved block needed
    futures = [
        partition_task.submit(
            demand.skus[rows], demand.quantity[rows], demand.start[rows], unit_cost[rows], demand.weeks.to_numpy(), config,
            None if prices is None else prices[rows],
        )
        for rows in partitions
    ]
    return merge_forecasts([future.result() for future in futures], partitions, len(demand.skus))


def unit_costs(inputs: LoadedInputs, demand: DemandMatrix) -> np.ndarray:
    return inputs.items.set_index("sku")["unit_cost"].reindex(demand.skus).to_numpy(dtype=np.float64)
