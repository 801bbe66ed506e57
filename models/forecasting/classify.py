"""Demand classification: Syntetos–Boylan classes, new/inactive, ABC and XYZ (vectorised).

* ADI (average demand interval) = history weeks / number of weeks with demand, and CV² =
  (std / mean)² of the non-zero demand sizes (population std), both over the SKU's own
  history ``[start, T)``. Syntetos, Boylan & Croston (2005), "On the categorization of
  demand patterns", JORS 56; cut-offs ADI = 1.32, CV² = 0.49:
  smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32, CV² >= 0.49),
  intermittent (ADI >= 1.32, CV² < 0.49), lumpy (ADI >= 1.32, CV² >= 0.49).
* ``inactive``: no demand ever, or none in the last ``inactive_weeks`` (26) weeks.
  ``new``: otherwise fewer than ``new_weeks`` (13) weeks of history. Both override the above.
* ABC by annual demand value = (mean weekly demand over the last 52 history weeks) x 52 x unit
  value (unit value 1 when not given): SKUs sorted by value descending, A while the cumulative
  share *before* the SKU is < 80 %, B while < 95 %, C otherwise; zero value is always C.
* XYZ by the coefficient of variation of weekly demand over the history (population std /
  mean): X < 0.5, Y < 1.0, Z otherwise (Z also when the mean is 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ADI_CUTOFF: float = 1.32
CV2_CUTOFF: float = 0.49
NEW_WEEKS: int = 13
INACTIVE_WEEKS: int = 26
ABC_CUTOFFS: tuple[float, float] = (0.80, 0.95)
XYZ_CUTOFFS: tuple[float, float] = (0.5, 1.0)

SMOOTH, ERRATIC, INTERMITTENT, LUMPY, NEW, INACTIVE = (
    "smooth", "erratic", "intermittent", "lumpy", "new", "inactive")
DEMAND_CLASSES: tuple[str, ...] = (SMOOTH, ERRATIC, INTERMITTENT, LUMPY, NEW, INACTIVE)


@dataclass(frozen=True)
class DemandClasses:
    """Per-SKU classification arrays, all shaped (n,)."""

    demand_class: np.ndarray
    adi: np.ndarray
    cv2: np.ndarray
    abc: np.ndarray
    xyz: np.ndarray
    history_weeks: np.ndarray
    demand_value: np.ndarray

    def to_frame(self, skus: np.ndarray) -> pd.DataFrame:
        """One row per SKU with the columns of ``ForecastResult.classes``."""
        return pd.DataFrame({
            "sku": np.asarray(skus).astype(str), "demand_class": self.demand_class,
            "adi": self.adi, "cv2": self.cv2, "abc": self.abc, "xyz": self.xyz,
            "history_weeks": self.history_weeks, "demand_value": self.demand_value,
        })


def history_mask(start: np.ndarray, n_columns: int) -> np.ndarray:
    """(n, T) True where column t is history for the SKU (t >= start)."""
    return np.arange(n_columns)[None, :] >= np.asarray(start)[:, None]


def adi_cv2(history: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ADI and CV² of non-zero sizes per SKU; NaN where there is no demand (CV² NaN if < 1)."""
    in_history = history_mask(start, history.shape[1])
    demand = np.where(in_history, history, 0.0)
    weeks = in_history.sum(axis=1)
    nonzero = (demand > 0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(nonzero > 0, weeks / np.maximum(nonzero, 1), np.nan)
        size_mean = demand.sum(axis=1) / np.maximum(nonzero, 1)
        size_sq = np.where(demand > 0, (demand - size_mean[:, None]) ** 2, 0.0).sum(axis=1)
        size_var = size_sq / np.maximum(nonzero, 1)
        cv2 = np.where(nonzero > 0, size_var / np.where(size_mean > 0, size_mean, 1.0) ** 2, np.nan)
    return adi, cv2


def abc_classes(demand_value: np.ndarray, cutoffs: tuple[float, float] = ABC_CUTOFFS) -> np.ndarray:
    """A/B/C by cumulative share of demand value (share before the SKU < 80 % -> A, < 95 % -> B)."""
    value = np.nan_to_num(np.asarray(demand_value, dtype=np.float64), nan=0.0)
    value = np.maximum(value, 0.0)
    out = np.full(value.shape, "C", dtype=object)
    total = value.sum()
    if total <= 0:
        return out.astype(str)
    order = np.argsort(-value, kind="stable")
    share_before = (np.cumsum(value[order]) - value[order]) / total
    labels = np.where(share_before < cutoffs[0], "A", np.where(share_before < cutoffs[1], "B", "C"))
    labels = np.where(value[order] > 0, labels, "C")
    out[order] = labels
    return out.astype(str)


def xyz_classes(history: np.ndarray, start: np.ndarray,
                cutoffs: tuple[float, float] = XYZ_CUTOFFS) -> np.ndarray:
    """X/Y/Z by the coefficient of variation of weekly demand over the SKU's history."""
    in_history = history_mask(start, history.shape[1])
    weeks = np.maximum(in_history.sum(axis=1), 1)
    demand = np.where(in_history, history, 0.0)
    mean = demand.sum(axis=1) / weeks
    var = np.where(in_history, (demand - mean[:, None]) ** 2, 0.0).sum(axis=1) / weeks
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(mean > 0, np.sqrt(var) / np.where(mean > 0, mean, 1.0), np.inf)
    return np.where(cv < cutoffs[0], "X", np.where(cv < cutoffs[1], "Y", "Z")).astype(str)


def classify_demand(history: np.ndarray, start: np.ndarray, unit_value: np.ndarray | None = None,
                    *, new_weeks: int = NEW_WEEKS, inactive_weeks: int = INACTIVE_WEEKS
                    ) -> DemandClasses:
    """Classify every SKU (see module docstring for definitions and sources)."""
    history = np.asarray(history, dtype=np.float64)
    n, n_columns = history.shape
    start = np.clip(np.asarray(start, dtype=np.int64), 0, n_columns)
    in_history = history_mask(start, n_columns)
    demand = np.where(in_history, history, 0.0)
    history_weeks = (n_columns - start).astype(np.int64)
    adi, cv2 = adi_cv2(history, start)

    recent = demand[:, max(n_columns - inactive_weeks, 0):]
    inactive = (demand > 0).sum(axis=1) == 0
    inactive |= (recent > 0).sum(axis=1) == 0
    new = (~inactive) & (history_weeks < new_weeks)
    frequent = adi < ADI_CUTOFF
    stable = cv2 < CV2_CUTOFF
    demand_class = np.where(frequent, np.where(stable, SMOOTH, ERRATIC),
                            np.where(stable, INTERMITTENT, LUMPY)).astype(object)
    demand_class[new] = NEW
    demand_class[inactive] = INACTIVE

    last_year = demand[:, max(n_columns - 52, 0):]
    last_year_weeks = np.maximum(np.minimum(history_weeks, last_year.shape[1]), 1)
    annual_units = last_year.sum(axis=1) / last_year_weeks * 52.0
    value = np.ones(n) if unit_value is None else np.nan_to_num(
        np.asarray(unit_value, dtype=np.float64), nan=0.0)
    demand_value = annual_units * value
    return DemandClasses(
        demand_class=demand_class.astype(str), adi=adi, cv2=cv2,
        abc=abc_classes(demand_value), xyz=xyz_classes(history, start),
        history_weeks=history_weeks, demand_value=demand_value,
    )
