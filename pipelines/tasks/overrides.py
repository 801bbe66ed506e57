"""The planner's overrides in the run (docs/overrides.md): matched to SKUs, like-item history
before the forecast, forecast and planning kinds after it, min/max stock on the policy, and the
run's ``overrides_applied`` rows with contradictions noted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from safestock.models.demand_matrix import DemandMatrix, first_forecast_week
from safestock.models.forecasting import ForecastResult
from safestock.models.inventory import PlanningInputs
from safestock.models.like_item import borrow_like_history
from safestock.models.override_conflicts import override_conflicts
from safestock.models.override_limits import apply_stock_limits
from safestock.models.overrides import applied_table, apply_overrides, override_matches
from safestock.pipelines.inputs import LoadedInputs
from safestock.pipelines.progress import announce


def item_values(inputs: LoadedInputs, skus: np.ndarray, column: str) -> np.ndarray:
    """``items.<column>`` in the order of ``skus`` (None where the item master has no value)."""
    items = inputs.items.set_index("sku")
    values = items[column] if column in items else pd.Series(None, index=items.index, dtype=object)
    return values.reindex(skus).astype(object).where(lambda v: v.notna(), None).to_numpy()


@task(name="planner-overrides-history", cache_policy=NO_CACHE)
def like_item_task(overrides: pd.DataFrame | None, demand: DemandMatrix, inputs: LoadedInputs,
                   ) -> tuple[pd.DataFrame, DemandMatrix, pd.DataFrame]:
    """The overrides matched to the run's SKUs (by SKU, category, supplier) and the like_item
    history borrowed before the forecast (models/like_item.py); without overrides nothing."""
    if overrides is None:
        return pd.DataFrame({"override": [], "row": []}, dtype=int), demand, pd.DataFrame()
    announce(f"Applying {len(overrides)} planner override(s)")
    matches = override_matches(overrides, demand.skus, item_values(inputs, demand.skus, "supplier_id"),
                               item_values(inputs, demand.skus, "category"))
    demand, like_rows = borrow_like_history(demand, overrides, matches, inputs.as_of)
    return matches, demand, like_rows


@task(name="planner-overrides", cache_policy=NO_CACHE)
def overrides_task(overrides: pd.DataFrame | None, matches: pd.DataFrame, forecast: ForecastResult,
                   planning: PlanningInputs) -> tuple[ForecastResult, PlanningInputs, list[pd.DataFrame]]:
    """The planner's forecast and planning overrides (models/overrides.py) applied to the forecast
    and the planning inputs, and their applied records; without an overrides file everything as it was."""
    if overrides is None:
        return forecast, planning, []
    as_of = planning.planning_date()
    weeks = pd.DatetimeIndex(first_forecast_week(as_of) + pd.to_timedelta(7 * np.arange(forecast.mean.shape[1]),
                                                                            unit="D"))
    names = ("mean", "sd", "lo80", "hi80", "lo95", "hi95")
    bands, level, stopped, applied = apply_overrides({name: getattr(forecast, name) for name in names}, weeks,
                                                     planning.service_level, planning.discontinued, as_of,
                                                     overrides, matches, planning.sku)
    return (dataclasses.replace(forecast, **bands),
            dataclasses.replace(planning, service_level=level, discontinued=stopped), applied)


@task(name="planner-overrides-stock", cache_policy=NO_CACHE)
def stock_limits_task(overrides: pd.DataFrame | None, matches: pd.DataFrame, policy: pd.DataFrame,
                      planning: PlanningInputs, inputs: LoadedInputs,
                      applied: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """min_stock / max_stock on the policy (models/override_limits.py), then the run's
    ``overrides_applied`` rows: every step's records, contradictions noted (models/override_conflicts.py)."""
    if overrides is None:
        return policy, pd.DataFrame()
    as_of = planning.planning_date()
    policy, limit_rows = apply_stock_limits(policy, overrides, matches, as_of, planning.discontinued)
    conflicts = override_conflicts(overrides, matches, planning.sku,
                                   item_values(inputs, planning.sku, "status") == "discontinued", as_of)
    return policy, applied_table(overrides, [*applied, limit_rows], as_of, conflicts)
