"""Calibration of the forecast distribution per demand class, measured on the rolling-origin
backtest, and the shared-error term of the window (multi-week) distribution fitted on it.

Per demand class (the ``forecast_coverage`` table):

* ``coverage80`` / ``coverage95``: share of backtest weeks inside the weekly 80 % / 95 % bands
  (bands re-built at each origin, empirical shapes cross-fitted from the other origins).
* ``pit_coverage80`` / ``pit_coverage95``: the same judged by the PIT (:func:`.windows.pit_coverage`):
  equal to the plain coverage for the continuous ('normal') bands; for count forecasts the
  share a calibrated discrete forecast reaches exactly, where plain coverage of a mostly-zero
  series is bound to exceed nominal.
* ``window_coverage80`` / ``window_coverage95``: coverage (by the PIT, as above) of the totals
  over the first k weeks after each origin, ``k`` in ``WINDOW_WEEKS``, by the window
  distribution of :mod:`.windows` with the shared-error share ``theta`` fitted on the *other*
  origins.
* ``level_error_weeks``: ``1/theta``, ``theta`` the median over origins of the per-origin fits
  (:func:`calibrate_windows`; inf: no shared term needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .classify import DEMAND_CLASSES
from .intervals import Bands
from .windows import (
    FIT_LEVEL,
    WindowCells,
    WindowErrors,
    fit_theta,
    level_error_weeks,
    pit_share,
    sample_cells,
    window_cells,
    window_errors,
)

WINDOW_WEEKS: tuple[int, ...] = (1, 2, 4, 8, 13)
MIN_GROUP_SKUS: int = 30
COVERAGE_COLUMNS: list[str] = [
    "demand_class", "series", "coverage80", "coverage95", "pit_coverage80", "pit_coverage95",
    "window_coverage80", "window_coverage95", "level_error_weeks",
]
METRICS: tuple[str, ...] = ("coverage80", "coverage95", "pit_coverage80", "pit_coverage95",
                            "window_coverage80", "window_coverage95")


@dataclass
class CoverageTally:
    """Running (sum, cells) per demand class and metric."""

    sums: dict[tuple[str, str], float] = field(default_factory=dict)
    cells: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, demand_class: str, metric: str, share: float, cells: int) -> None:
        if cells and np.isfinite(share):
            key = (demand_class, metric)
            self.sums[key] = self.sums.get(key, 0.0) + share * cells
            self.cells[key] = self.cells.get(key, 0) + cells

    def value(self, demand_class: str, metric: str) -> float:
        cells = self.cells.get((demand_class, metric), 0)
        return self.sums[(demand_class, metric)] / cells if cells else float("nan")


def add_weekly_coverage(tally: CoverageTally, class_of_row: np.ndarray, actual: np.ndarray, use: np.ndarray, *,
                        bands: Bands | None = None,
                        pit_bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Tally one origin's weekly coverage (plain and PIT) per class; arrays (m, H), use (m,).

    Give either the continuous ``bands`` (their PIT coverage is the plain coverage) or, for a
    count forecast, ``pit_bounds`` = (F(y), F(ceil y - 1)) of each outcome: y lies in the
    integer-quantile interval [q_a, q_b] exactly when F(y) >= a and F(ceil y - 1) < b."""
    for level in (80, 95):
        if pit_bounds is None:
            lo, hi = (bands.lo80, bands.hi80) if level == 80 else (bands.lo95, bands.hi95)
            inside = ((actual >= lo - 1e-9) & (actual <= hi + 1e-9)).astype(float)
            pit = inside
        else:
            low, high = (1 - level / 100) / 2, (1 + level / 100) / 2
            inside = ((pit_bounds[0] >= low) & (pit_bounds[1] < high)).astype(float)
            pit = pit_share(pit_bounds[0], pit_bounds[1], level / 100)
        for name in np.unique(class_of_row):
            members = (class_of_row == name) & use
            if members.any():
                tally.add(str(name), f"coverage{level}", float(inside[members].mean()), int(inside[members].size))
                tally.add(str(name), f"pit_coverage{level}", float(pit[members].mean()), int(pit[members].size))


def _sampled_cells(windows: WindowErrors, use: np.ndarray) -> WindowCells:
    """The window totals of at most ``MAX_FIT_CELLS`` used (SKU, origin) cells."""
    return window_cells(windows, sample_cells(use))


def _fits_per_origin(cells: WindowCells, origins: int) -> np.ndarray:
    """``theta`` fitted on each origin's cells alone (NaN where an origin has none)."""
    return np.array([fit_theta(cells, FIT_LEVEL, cells.origin == k) if (cells.origin == k).any() else np.nan
                     for k in range(origins)])


def _median(values: np.ndarray) -> float:
    """Median of the finite values (0 when there is none)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else 0.0


def calibrate_windows(actual: np.ndarray, mean: np.ndarray, weekly_var: np.ndarray, use: np.ndarray,
                      is_count: np.ndarray, demand_class: np.ndarray,
                      tally: CoverageTally) -> tuple[dict[str, float], float]:
    """Fit ``theta`` per class on all origins and tally cross-fitted window coverage.

    Arrays: actual / mean / weekly_var (n, K, H) backtest weeks, use (n, K), is_count (n,),
    demand_class (n,) for the backtested SKUs; windows ``WINDOW_WEEKS``. ``theta`` of a class is
    the median over origins of the per-origin fits (each the smallest ``theta`` whose ``FIT_LEVEL``
    intervals cover that origin's totals by mean PIT share, :func:`.windows.fit_theta`): one
    origin hit by a shock common to all SKUs (a calendar event) cannot set the buffer of every
    week by itself;
    classes with fewer than ``MIN_GROUP_SKUS`` backtested SKUs take the fit over all SKUs of their
    family (normal: smooth + erratic; count: intermittent + lumpy): the window distributions of
    the two families differ, so their shares do not mix. The value "over all" (for SKUs without a
    backtest) is, per origin, the series-weighted mean of the class fits. The coverage (mean PIT
    share) of origin k is judged at the median of the other origins' fits. Returns (theta per
    class, theta over all).
    """
    steps = [k - 1 for k in WINDOW_WEEKS if k <= actual.shape[-1]]
    windows = window_errors(actual, mean, weekly_var, is_count).windows(steps)
    names = [str(name) for name in np.unique(demand_class)]
    series = {name: int(use[demand_class == name].any(axis=1).sum()) for name in names}
    own_of = {name: _sampled_cells(windows.rows(np.flatnonzero(demand_class == name)), use[demand_class == name])
              for name in names}
    large = [name for name in names if series[name] >= MIN_GROUP_SKUS]
    origins = use.shape[1]
    per_origin = {name: _fits_per_origin(own_of[name], origins) for name in large}
    family_fits: dict[bool, np.ndarray] = {}
    for name in names:
        if name in large:
            continue
        family = bool(is_count[demand_class == name][0])
        if family not in family_fits:   # a small class borrows from its family (normal / count) pooled
            members = np.flatnonzero(is_count == family)
            family_fits[family] = _fits_per_origin(_sampled_cells(windows.rows(members), use[members]), origins)
        per_origin[name] = family_fits[family]
    # over all SKUs (for SKUs without a backtest): per origin, the series-weighted mean of the fits
    weights = np.array([series[name] for name in names], dtype=float)
    fits = np.vstack([per_origin[name] for name in names])
    valid = np.isfinite(fits)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (np.where(valid, fits, 0.0) * weights[:, None]).sum(axis=0) / (valid * weights[:, None]).sum(axis=0)
    theta_all = _median(pooled)
    thetas: dict[str, float] = {}
    for name in names:
        fits = per_origin[name]
        thetas[name] = _median(fits)
        own = own_of[name]
        for k in range(use.shape[1]):
            theta_k = _median(np.delete(fits, k))
            judged = own.origin == k
            if judged.any():
                for level, shares in zip((80, 95), own.pit(theta_k, (0.80, 0.95), judged)):
                    tally.add(name, f"window_coverage{level}", float(shares.mean()), int(shares.size))
    return thetas, theta_all


def coverage_frame(tally: CoverageTally, demand_class: np.ndarray, origin_used: np.ndarray,
                   thetas: dict[str, float]) -> pd.DataFrame:
    """One row per demand class present (columns ``COVERAGE_COLUMNS``)."""
    records = []
    for name in DEMAND_CLASSES:
        members = demand_class == name
        if not members.any():
            continue
        record = {"demand_class": name,
                  "series": int(origin_used[members].any(axis=1).sum()) if origin_used.size else 0}
        record.update({metric: tally.value(name, metric) for metric in METRICS})
        record["level_error_weeks"] = float(level_error_weeks(thetas[name])) if name in thetas else np.nan
        records.append(record)
    return pd.DataFrame(records, columns=COVERAGE_COLUMNS)
