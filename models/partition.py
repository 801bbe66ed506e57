"""Deterministic SKU partitions and the merge of per-partition forecasts.

Partitions depend only on the SKU codes and the partition size, never on how many workers run
them, so a run on a Dask cluster and a run in one process compute exactly the same partitions
and therefore produce identical tables.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from safestock.models.forecasting import ForecastResult
from safestock.models.forecasting.classify import abc_classes
from safestock.models.forecasting.coverage import COVERAGE_COLUMNS

_ARRAY_FIELDS = ("mean", "sd", "lo80", "hi80", "lo95", "hi95", "model", "family", "level_error_weeks")


def partition_skus(skus: np.ndarray, partition_size: int) -> list[np.ndarray]:
    """Row indices of ``skus`` split into ``ceil(n / partition_size)`` hash partitions.

    A SKU's partition is ``hash(sku) mod n_partitions`` with pandas' stable 64-bit hash (fixed
    key), so it does not depend on row order or worker count. Indices within a partition are
    ascending. Empty partitions are dropped.
    """
    n_skus = len(skus)
    n_partitions = max(1, -(-n_skus // max(1, partition_size)))
    if n_partitions == 1:
        return [np.arange(n_skus)]
    bucket = pd.util.hash_array(np.asarray(skus, dtype=object)) % np.uint64(n_partitions)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(1, n_partitions, dtype=np.uint64))
    return [part for part in np.split(order, bounds) if len(part)]


def sample_skus(skus: np.ndarray, max_skus: int) -> np.ndarray:
    """Row indices of at most about ``max_skus`` SKUs: all of them when there are fewer,
    otherwise one hash partition (a fixed, order-independent sample), in ascending order."""
    if len(skus) <= max_skus:
        return np.arange(len(skus))
    return np.sort(partition_skus(skus, max_skus)[0])


def merge_forecasts(parts: list[ForecastResult], indices: list[np.ndarray], n_skus: int) -> ForecastResult:
    """One ForecastResult for all SKUs from per-partition results (rows back in SKU order).

    ABC is a ranking over ALL SKUs (80/15/5 % of total demand value), so it is recomputed here
    from the partitions' ``demand_value``; coverage per class is the series-weighted mean of the
    partitions' coverage (:func:`merge_coverage`).
    """
    if len(parts) == 1:
        return parts[0]
    position = np.concatenate(indices)
    arrays = {}
    for name in _ARRAY_FIELDS:
        stacked = np.concatenate([getattr(part, name) for part in parts])
        merged = np.empty_like(stacked)
        merged[position] = stacked
        arrays[name] = merged

    classes = pd.concat([part.classes for part in parts], ignore_index=True)
    classes = classes.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    classes["abc"] = abc_classes(classes["demand_value"].to_numpy(dtype=np.float64))

    coverage = merge_coverage([part.coverage for part in parts])
    accuracy = pd.concat([part.accuracy for part in parts], ignore_index=True)
    return dataclasses.replace(parts[0], **arrays, classes=classes, accuracy=accuracy, coverage=coverage)


def merge_coverage(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-class coverage of several partitions: series-weighted means of every share; the
    shared-error share ``1 / level_error_weeks`` averaged the same way (each partition fits it
    on its own backtest, :mod:`safestock.models.forecasting.coverage`; SKUs keep their partition's value)."""
    coverage = pd.concat(frames, ignore_index=True)
    if coverage.empty:
        return coverage
    shares = [c for c in COVERAGE_COLUMNS if c not in ("demand_class", "series", "level_error_weeks")]
    values = coverage[shares].mul(coverage["series"], axis=0)
    values["theta"] = (1.0 / coverage["level_error_weeks"]).mul(coverage["series"], axis=0)
    weights = coverage[shares].notna().astype(float).mul(coverage["series"], axis=0)
    weights["theta"] = coverage["level_error_weeks"].notna().astype(float) * coverage["series"]
    summed = values.fillna(0.0).groupby(coverage["demand_class"], sort=False).sum()
    weight = weights.groupby(coverage["demand_class"], sort=False).sum()
    merged = summed / weight.where(weight > 0)
    theta = merged.pop("theta")
    merged["level_error_weeks"] = np.where(theta > 0, 1.0 / theta.where(theta > 0, 1.0), np.where(theta.isna(), np.nan, np.inf))
    merged["series"] = coverage.groupby("demand_class", sort=False)["series"].sum()
    return merged.reset_index()[COVERAGE_COLUMNS]
