"""Deterministic SKU partitions and the merge of per-partition forecasts.

Partitions depend only on the SKU codes and the partition size, never on how many workers run
them, so a run on a Dask cluster and a run in one process compute exactly the same partitions
and therefore produce identical tables.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from models.forecasting import ForecastResult
from models.forecasting.classify import abc_classes

_ARRAY_FIELDS = ("mean", "sd", "lo80", "hi80", "lo95", "hi95", "model", "family")


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
    partitions' coverage.
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

    coverage = pd.concat([part.coverage for part in parts], ignore_index=True)
    if not coverage.empty:
        weighted = coverage.assign(
            c80=coverage["coverage80"] * coverage["series"], c95=coverage["coverage95"] * coverage["series"]
        ).groupby("demand_class", as_index=False)[["series", "c80", "c95"]].sum()
        coverage = pd.DataFrame({
            "demand_class": weighted["demand_class"],
            "series": weighted["series"],
            "coverage80": weighted["c80"] / weighted["series"].where(weighted["series"] > 0),
            "coverage95": weighted["c95"] / weighted["series"].where(weighted["series"] > 0),
        })
    accuracy = pd.concat([part.accuracy for part in parts], ignore_index=True)
    return dataclasses.replace(parts[0], **arrays, classes=classes, accuracy=accuracy, coverage=coverage)
