"""Closed-loop service calibration: the nominal service level the policy must use so that the
replay achieves the target.

The policy's s is a quantile (or a fill-rate level) of a *model* of the protection-interval
demand. When the model is wrong for a class (the demand is more dispersed than the forecast's
variance says, the forecast is revised upward between reviews, the size sample misses the tail),
the replay (``backtest.backtest_policy``) achieves less or more than the target. Calibration uses
that replay: the same weeks are replayed at the target and at nominal levels shifted on the
normal-score (z) scale, nominal_k = Φ(Φ⁻¹(target) + δ_k), ``REPLAY_OFFSETS``, sharing demand,
lead-time draws and forecasts (``backtest_policy(nominal_levels=...)``). Per group:

1. **Curve.** Pooled achieved a_k (cycle service: cycles without a stock-out / cycles; fill
   rate: units served / units demanded) at each δ_k, on the z scale, made non-decreasing in δ by
   pool-adjacent-violators (weights = cycles); g(δ) = Φ⁻¹(a(δ)) − Φ⁻¹(target) piecewise linear.
2. **Inversion.** δ̂ solves g(δ̂) = 0, by linear interpolation inside the replayed offsets and
   beyond them along the end segment with slope at least ``MIN_SLOPE``; clamped to
   [``OFFSET_MIN``, ``OFFSET_MAX``] (nominal levels clamped to [0.5, ``NOMINAL_MAX``]).
3. **Shrinkage** toward "no correction" (a class) or toward its class (a finer group): a normal
   prior on the correction, δ ~ N(parent, τ²) with τ = ``PRIOR_SD_CLASS`` = 0.3 z (a class's
   correction is typically within ±0.3 z, about ±3–5 points at targets 0.90–0.95) or
   ``PRIOR_SD_GROUP`` = 0.15 z for a group's departure from its class, and the sampling variance
   of δ̂, Var δ̂ ≈ DEFF a(1−a) / (m φ(Φ⁻¹(a))² slope²) (binomial over m cycles, ``DESIGN_EFFECT``
   = 2 for the correlation of one SKU's cycles). Weight w = τ² / (τ² + Var δ̂); the correction
   used is parent + w (δ̂ − parent). Under ``MIN_CLASS_CYCLES`` cycles (a class) or
   ``MIN_GROUP_CYCLES`` (a finer group) w = 0: no correction of its own.
4. **Groups.** Each demand class; within it the finer groups cycle length (``CYCLE_BANDS``:
   weeks of demand an order covers, max(EOQ, R d) / d) x lead-time CV (``LEAD_CV_BAND``) get their
   own correction only where they have the cycles (step 3). With ``VOLUME_EDGES`` (units a week of
   the mean forecast) each group splits further into volume subgroups, shrunk toward their group
   (τ = ``PRIOR_SD_SUBGROUP``, none under ``MIN_SUBGROUP_CYCLES``): class -> group -> subgroup; a
   SKU takes its subgroup's offset, else its group's, else its class's.
5. **Honest "after".** The correction is fitted on one half of the measured weeks and judged on
   the other (the judged half's curve read at the fitted offset), both ways, pooled: the
   ``achieved_after`` of the table. The correction the policy uses is fitted on all weeks.

Sources: the calibration of a quantile model on its own out-of-sample coverage is conformal
/ "recalibration" practice (Kuleshov, Fenner & Ermon 2018, "Accurate uncertainties for deep
learning using calibrated regression"); the isotonic fit is Barlow et al. 1972 (PAV).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .config import PolicyConfig
from .empirical_demand import EMPIRICAL, PARAMETRIC, choose_interval_models
from .policy import WEEKS_PER_YEAR, economic_order_quantity

REPLAY_OFFSETS = (0.0, -0.4, 0.4, 1.0)   # z offsets replayed; the first (0: the target itself) is "before"
MIN_SLOPE = 0.3          # z of achieved per z of nominal, at least, when extrapolating / for the variance
OFFSET_MIN, OFFSET_MAX = -1.0, 1.5
NOMINAL_MAX = 0.999
PRIOR_SD_CLASS = 0.3
PRIOR_SD_GROUP = 0.15
MIN_CLASS_CYCLES = 50
MIN_GROUP_CYCLES = 100
DESIGN_EFFECT = 2.0
CYCLE_BANDS = (13.0, 52.0)   # weeks of demand per order: <= 13, 13-52, > 52
LEAD_CV_BAND = 0.25          # lead-time sd / mean: < 0.25, >= 0.25
VOLUME_EDGES: tuple[float, ...] = ()   # units a week of the mean forecast: subgroup bands (() = no subgroups)
SUBGROUP_SEPARATOR = ", volume"
PRIOR_SD_SUBGROUP = 0.15
MIN_SUBGROUP_CYCLES = 100
ALL = "all"                  # calibration_group of a class as a whole
CALIBRATION_COLUMNS = [
    "demand_class", "calibration_group", "service_level_type", "skus", "cycles", "service_level_target",
    "nominal_offset_z", "nominal_level", "achieved_before", "achieved_after", "shrink_weight",
    "average_on_hand_before", "average_on_hand_after", "interval_model", "achieved_empirical",
    "average_on_hand_empirical",
]
_CLIP = 1e-4


def nominal_levels(target: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """Φ(Φ⁻¹(target) + δ), clipped to [0.5, NOMINAL_MAX] (targets themselves are in [0.5, 0.9999])."""
    target = np.clip(np.asarray(target, dtype=float), 0.5, 0.9999)
    return np.clip(ndtr(ndtri(target) + np.asarray(offset, dtype=float)), 0.5, max(NOMINAL_MAX, 0.0))


def replay_levels(target: np.ndarray, offsets: tuple[float, ...] = REPLAY_OFFSETS) -> np.ndarray:
    """(K, n) nominal levels of the K replays; row 0 is the target itself when offsets[0] = 0."""
    target = np.clip(np.asarray(target, dtype=float), 0.5, 0.9999)
    return np.stack([target if offset == 0 else nominal_levels(target, offset) for offset in offsets])


def cycle_length_weeks(weekly_mean: np.ndarray, eoq: np.ndarray, review_weeks: np.ndarray) -> np.ndarray:
    """Weeks of demand an order covers: max(EOQ, R d) / d (d the mean weekly forecast; EOQ NaN = none);
    inf without demand."""
    weekly_mean = np.asarray(weekly_mean, dtype=float)
    quantity = np.fmax(np.nan_to_num(np.asarray(eoq, dtype=float), nan=0.0), np.asarray(review_weeks) * weekly_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weekly_mean > 0, quantity / np.where(weekly_mean > 0, weekly_mean, 1.0), np.inf)


def volume_bands(weekly_mean: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Volume band label per SKU from its mean weekly forecast d and the band ``edges`` (units a
    week, ascending): 'volume < e1/wk', 'volume e1-e2/wk', …, 'volume >= ek/wk'."""
    weekly_mean = np.nan_to_num(np.asarray(weekly_mean, dtype=float), nan=0.0)
    between = [f"volume {low:g}-{high:g}/wk" for low, high in pairwise(edges)]
    labels = [f"volume < {edges[0]:g}/wk", *between, f"volume >= {edges[-1]:g}/wk"]
    return np.array(labels)[np.searchsorted(np.asarray(edges, dtype=float), weekly_mean, side="right")]


def calibration_groups(cycle_weeks: np.ndarray, lead_mean: np.ndarray, lead_sd: np.ndarray,
                       weekly_mean: np.ndarray | None = None,
                       volume_edges: tuple[float, ...] = ()) -> np.ndarray:
    """Finer group label per SKU: cycle-length band x lead-time CV band, e.g. 'cycle 13-52 wk, lead
    CV < 0.25'; with ``weekly_mean`` and ``volume_edges`` a subgroup: the group + ', ' + its volume
    band (``volume_bands``), e.g. 'cycle 13-52 wk, lead CV < 0.25, volume < 1/wk' (its parent in
    the shrinkage hierarchy: the label before ', volume', ``parent_groups``)."""
    cycle_weeks = np.asarray(cycle_weeks, dtype=float)
    low, high = CYCLE_BANDS
    cycle = np.where(cycle_weeks <= low, f"cycle <= {low:.0f} wk",
                     np.where(cycle_weeks <= high, f"cycle {low:.0f}-{high:.0f} wk", f"cycle > {high:.0f} wk"))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(np.asarray(lead_mean) > 0, np.nan_to_num(np.asarray(lead_sd, dtype=float)) / lead_mean, 0.0)
    lead = np.where(cv < LEAD_CV_BAND, f"lead CV < {LEAD_CV_BAND:g}", f"lead CV >= {LEAD_CV_BAND:g}")
    groups = np.char.add(np.char.add(cycle.astype(str), ", "), lead.astype(str))
    if weekly_mean is None or not volume_edges:
        return groups
    return np.char.add(np.char.add(groups, ", "), volume_bands(weekly_mean, volume_edges))


def parent_groups(groups: np.ndarray) -> np.ndarray:
    """The group of each label: a subgroup's label before ', volume' (``calibration_groups``), a
    group's label itself."""
    labels = pd.Series(np.asarray(groups).astype(str), dtype=object)
    return labels.str.split(SUBGROUP_SEPARATOR, n=1, regex=False).str[0].to_numpy().astype(str)


def sku_groups(weekly_mean: np.ndarray, unit_cost: np.ndarray, review_weeks: np.ndarray, lead_mean: np.ndarray,
               lead_sd: np.ndarray, config: PolicyConfig, volume_edges: tuple[float, ...] | None = None) -> np.ndarray:
    """``calibration_groups`` of the run's SKUs: cycle length from the EOQ of the mean weekly
    forecast (as ``compute_policy``) and the review period, lead-time CV from the policy's lead
    times, volume band of the mean weekly forecast (``volume_edges``; None = ``VOLUME_EDGES``;
    () = none)."""
    eoq = economic_order_quantity(WEEKS_PER_YEAR * np.asarray(weekly_mean, dtype=float), unit_cost, config)
    edges = VOLUME_EDGES if volume_edges is None else volume_edges
    return calibration_groups(cycle_length_weeks(weekly_mean, eoq, review_weeks), lead_mean, lead_sd,
                              weekly_mean, edges)


def _isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Non-decreasing weighted least-squares fit (pool adjacent violators); a handful of points."""
    blocks: list[list[float]] = []   # [value, weight, count]
    for value, weight in zip(values, np.maximum(weights, 1e-12)):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.concatenate([np.full(count, value) for value, _, count in blocks])


def achieved_curve(offsets: np.ndarray, achieved: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted offsets, monotone Φ⁻¹(achieved)) of one group: z-scale, non-decreasing in the offset."""
    order = np.argsort(offsets)
    z = ndtri(np.clip(np.asarray(achieved, dtype=float)[order], _CLIP, 1 - _CLIP))
    return np.asarray(offsets, dtype=float)[order], _isotonic(z, np.asarray(weights, dtype=float)[order])


def curve_at(offsets: np.ndarray, z: np.ndarray, offset: float, min_slope: float = 0.0) -> float:
    """The piecewise-linear curve z(δ) at ``offset``; beyond the ends along the end segment (slope
    at least ``min_slope``)."""
    if offsets.size == 1:
        return float(z[0] + min_slope * (offset - offsets[0]))
    if offset < offsets[0]:
        slope = max((z[1] - z[0]) / (offsets[1] - offsets[0]), min_slope)
        return float(z[0] + slope * (offset - offsets[0]))
    if offset > offsets[-1]:
        slope = max((z[-1] - z[-2]) / (offsets[-1] - offsets[-2]), min_slope)
        return float(z[-1] + slope * (offset - offsets[-1]))
    return float(np.interp(offset, offsets, z))


def invert_curve(offsets: np.ndarray, z: np.ndarray, target: float) -> tuple[float, float]:
    """(δ̂, local slope): the offset whose achieved equals ``target`` on the monotone curve, and
    the curve's slope there (at least MIN_SLOPE); δ̂ clamped to [OFFSET_MIN, OFFSET_MAX]."""
    goal = float(ndtri(np.clip(target, _CLIP, 1 - _CLIP)))
    gap = z - goal
    if offsets.size == 1 or gap[0] >= 0 or gap[-1] < 0:   # outside the replayed range: extrapolate
        end = 0 if offsets.size == 1 or gap[0] >= 0 else -1
        if offsets.size == 1:
            slope = MIN_SLOPE
        elif end == 0:
            slope = max((z[1] - z[0]) / (offsets[1] - offsets[0]), MIN_SLOPE)
        else:
            slope = max((z[-1] - z[-2]) / (offsets[-1] - offsets[-2]), MIN_SLOPE)
        offset = offsets[end] - gap[end] / slope
    else:
        right = int(np.argmax(gap >= 0))     # first replayed offset at or above the target
        left = right - 1
        span = gap[right] - gap[left]
        slope = max(span / (offsets[right] - offsets[left]), MIN_SLOPE)
        offset = offsets[left] + (offsets[right] - offsets[left]) * (-gap[left] / span)
    return float(np.clip(offset, OFFSET_MIN, OFFSET_MAX)), float(slope)


def shrink_weight(cycles: float, achieved: float, slope: float, prior_sd: float, min_cycles: float) -> float:
    """w = τ² / (τ² + Var δ̂), Var δ̂ = DESIGN_EFFECT a(1-a) / (m φ(Φ⁻¹ a)² slope²); 0 under
    ``min_cycles`` cycles (module docstring, step 3)."""
    if not cycles >= min_cycles:
        return 0.0
    a = float(np.clip(achieved, 0.5 / (cycles + 1), 1 - 0.5 / (cycles + 1)))
    density = np.exp(-0.5 * float(ndtri(a)) ** 2) / np.sqrt(2 * np.pi)
    variance = DESIGN_EFFECT * a * (1 - a) / (cycles * density**2 * max(slope, MIN_SLOPE) ** 2)
    return float(prior_sd**2 / (prior_sd**2 + variance))


def _group_counts(frame: pd.DataFrame, keys: list[str], success: str, trials: str) -> pd.DataFrame:
    return frame.groupby(keys + ["replay"], sort=True, observed=True).agg(
        success=(success, "sum"), trials=(trials, "sum"), cycles=("cycles", "sum"),
        target_weighted=("target_weighted", "sum"), on_hand=("average_on_hand", "sum"), skus=("sku_index", "size"),
    ).reset_index()


def _fit_one(counts: pd.DataFrame, offsets: np.ndarray, parent: float, prior_sd: float,
             min_cycles: float) -> dict[str, float]:
    """Fit one group's correction from its rows of ``_group_counts`` (one per replay)."""
    counts = counts.sort_values("replay")
    trials = counts["trials"].to_numpy(float)
    base = counts.iloc[0]
    target = base["target_weighted"] / base["trials"] if base["trials"] > 0 else np.nan
    cycles = float(base["cycles"])
    if not (trials > 0).all() or not np.isfinite(target):
        return {"offset": parent, "weight": 0.0, "target": target, "cycles": cycles, "raw": np.nan}
    achieved = (counts["success"].to_numpy(float) + 0.5) / (trials + 1.0)
    curve = achieved_curve(offsets[counts["replay"].to_numpy()], achieved, counts["cycles"].to_numpy(float) + 1)
    raw, slope = invert_curve(*curve, target)
    weight = shrink_weight(cycles, achieved[0], slope, prior_sd, min_cycles)
    return {"offset": parent + weight * (raw - parent), "weight": weight, "target": target, "cycles": cycles,
            "raw": raw}


def fit_offsets(frame: pd.DataFrame, offsets: np.ndarray, success: str, trials: str) -> dict[tuple[str, str], dict]:
    """Per (demand_class, group) the fitted correction (hierarchy: class shrunk to 0, group to its
    class, a volume subgroup to its group); keys (class, ALL) for the classes. ``frame`` carries
    ``calibration_group`` (the SKU's finest label) and ``parent_group`` (its group)."""
    fits: dict[tuple[str, str], dict] = {}
    by_class = _group_counts(frame, ["demand_class"], success, trials)
    for name, counts in by_class.groupby("demand_class", sort=True):
        fits[(name, ALL)] = _fit_one(counts, offsets, 0.0, PRIOR_SD_CLASS, MIN_CLASS_CYCLES)
    by_group = _group_counts(frame, ["demand_class", "parent_group"], success, trials)
    for (name, group), counts in by_group.groupby(["demand_class", "parent_group"], sort=True):
        fits[(name, group)] = _fit_one(counts, offsets, fits[(name, ALL)]["offset"], PRIOR_SD_GROUP, MIN_GROUP_CYCLES)
    subgroups = frame[frame["calibration_group"] != frame["parent_group"]]
    if not subgroups.empty:
        by_subgroup = _group_counts(subgroups, ["demand_class", "parent_group", "calibration_group"], success, trials)
        for (name, group, subgroup), counts in by_subgroup.groupby(
                ["demand_class", "parent_group", "calibration_group"], sort=True):
            fits[(name, subgroup)] = _fit_one(counts, offsets, fits[(name, group)]["offset"], PRIOR_SD_SUBGROUP,
                                              MIN_SUBGROUP_CYCLES)
    return fits


def _judge(counts: pd.DataFrame, offsets: np.ndarray, offset: float) -> tuple[float, float]:
    """(achieved read off this half's curve at ``offset``, trials)."""
    counts = counts.sort_values("replay")
    trials = counts["trials"].to_numpy(float)
    if not (trials > 0).all():
        return np.nan, 0.0
    achieved = (counts["success"].to_numpy(float) + 0.5) / (trials + 1.0)
    curve = achieved_curve(offsets[counts["replay"].to_numpy()], achieved, counts["cycles"].to_numpy(float) + 1)
    return float(ndtr(curve_at(*curve, offset))), float(trials[0])


def _half(frame: pd.DataFrame, first: bool) -> pd.DataFrame:
    """The per-SKU replay frame restricted to the first (or second) half of the measured weeks."""
    columns = ("cycles", "ok", "demand_units", "served", "reviews", "reviews_ok")
    firsts = ("cycles_first", "ok_first", "demand_first", "served_first", "reviews_first", "reviews_ok_first")
    half = frame.copy()
    for column, first_column in zip(columns, firsts):
        half[column] = frame[first_column] if first else frame[column] - frame[first_column]
    return half


def calibrate_service(replay: pd.DataFrame, groups: np.ndarray, service_level_type: str,
                      offsets: tuple[float, ...] = REPLAY_OFFSETS) -> tuple[pd.DataFrame, dict[tuple[str, str], float]]:
    """Fit the calibration on the per-SKU frame of ``backtest_policy(nominal_levels=replay_levels(...))``.

    ``groups`` (n,): the finer group of each replayed SKU (``calibration_groups``), in the replay's
    SKU order (``sku_index``). SKUs judged as launches ('new': started at S = 0 in the replay) do not
    count. Returns (table ``CALIBRATION_COLUMNS``: one row per class (calibration_group 'all') and
    per finer group, and {(demand_class, group): offset used}: the group's offset, or its class's).
    """
    offsets_array = np.asarray(offsets, dtype=float)
    if service_level_type == "cycle":
        success, trials = "ok", "cycles"
    elif service_level_type == "fill_rate":
        success, trials = "served", "demand_units"
    else:
        raise ValueError(f"service_level_type must be 'cycle' or 'fill_rate', not {service_level_type!r}")
    frame = replay[replay["judged_class"] != "new"]
    if "interval_model" in frame:   # the empirical candidate's replay is judged by with_interval_models
        frame = frame[frame["interval_model"] != EMPIRICAL]
    frame = frame.copy()
    if frame.empty:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS), {}
    frame["calibration_group"] = np.asarray(groups).astype(str)[frame["sku_index"].to_numpy()]
    frame["parent_group"] = parent_groups(frame["calibration_group"].to_numpy())

    def prepared(part: pd.DataFrame) -> pd.DataFrame:
        return part.assign(target_weighted=part["service_level"] * part[trials])

    whole, first, second = prepared(frame), prepared(_half(frame, True)), prepared(_half(frame, False))
    fits = fit_offsets(whole, offsets_array, success, trials)
    fits_first = fit_offsets(first, offsets_array, success, trials)
    fits_second = fit_offsets(second, offsets_array, success, trials)

    leaf_counts = {name: _group_counts(part, ["demand_class", "calibration_group"], success, trials)
                   for name, part in (("whole", whole), ("first", first), ("second", second))}

    rows = []
    for (name, group), counts in leaf_counts["whole"].groupby(["demand_class", "calibration_group"], sort=True):
        leaf = fits[(name, group)]
        after_sum, after_trials = 0.0, 0.0
        for fitted, judged in ((fits_first, "second"), (fits_second, "first")):
            part = leaf_counts[judged]
            part = part[(part["demand_class"] == name) & (part["calibration_group"] == group)]
            if part.empty:
                continue
            achieved, weight = _judge(part, offsets_array, fitted[(name, group)]["offset"])
            if np.isfinite(achieved):
                after_sum, after_trials = after_sum + achieved * weight, after_trials + weight
        counts = counts.sort_values("replay")
        base = counts.iloc[0]
        on_hand = counts["on_hand"].to_numpy(float) / max(base["skus"], 1)   # units per SKU-week
        order = np.argsort(offsets_array[counts["replay"].to_numpy()])
        rows.append({
            "demand_class": name, "calibration_group": group, "skus": int(base["skus"]),
            "cycles": int(base["cycles"]), "trials": float(base["trials"]),
            "service_level_target": leaf["target"], "nominal_offset_z": leaf["offset"],
            "achieved_before": base["success"] / base["trials"] if base["trials"] > 0 else np.nan,
            "after_sum": after_sum, "after_trials": after_trials,
            "shrink_weight": leaf["weight"],
            "average_on_hand_before": on_hand[0],
            "average_on_hand_after": curve_at(offsets_array[counts["replay"].to_numpy()][order], on_hand[order],
                                              leaf["offset"]),   # linear, along the end segment beyond
        })
    leaves = pd.DataFrame(rows)
    leaves["parent_group"] = parent_groups(leaves["calibration_group"].to_numpy())

    def pooled(part: pd.DataFrame, fit: dict, group: str) -> dict:
        """A class's or group's row from its leaves' rows, with its own fitted correction."""
        trials_total, skus = part["trials"].sum(), part["skus"].sum()
        return {
            "demand_class": part["demand_class"].iloc[0], "calibration_group": group, "parent_group": group,
            "skus": int(skus), "cycles": int(part["cycles"].sum()),
            "trials": trials_total, "service_level_target": fit["target"], "nominal_offset_z": fit["offset"],
            "achieved_before": (part["achieved_before"] * part["trials"]).sum() / trials_total if trials_total else np.nan,
            "after_sum": part["after_sum"].sum(), "after_trials": part["after_trials"].sum(),
            "shrink_weight": fit["weight"],
            "average_on_hand_before": (part["average_on_hand_before"] * part["skus"]).sum() / skus,
            "average_on_hand_after": (part["average_on_hand_after"] * part["skus"]).sum() / skus,
        }

    class_rows = [pooled(part, fits[(name, ALL)], ALL) for name, part in leaves.groupby("demand_class", sort=True)]
    nested = leaves[leaves["calibration_group"] != leaves["parent_group"]]
    group_rows = [pooled(part, fits[(name, group)], group)
                  for (name, group), part in nested.groupby(["demand_class", "parent_group"], sort=True)]
    table = pd.concat([pd.DataFrame(class_rows), pd.DataFrame(group_rows), leaves], ignore_index=True)
    table["achieved_after"] = np.where(table["after_trials"] > 0,
                                       table["after_sum"] / table["after_trials"].where(table["after_trials"] > 0, 1.0),
                                       np.nan)
    table["nominal_level"] = nominal_levels(table["service_level_target"].fillna(0.5).to_numpy(),
                                            table["nominal_offset_z"].to_numpy())
    table["nominal_level"] = table["nominal_level"].where(table["service_level_target"].notna())
    table["service_level_type"] = service_level_type
    table["interval_model"] = PARAMETRIC
    table["achieved_empirical"] = np.nan
    table["average_on_hand_empirical"] = np.nan
    table["_order"] = (table["calibration_group"] != ALL).astype(int)
    table["_sub"] = (table["calibration_group"] != table["parent_group"]).astype(int)
    table = table.sort_values(["demand_class", "_order", "parent_group", "_sub", "calibration_group"], kind="stable")
    table = table[CALIBRATION_COLUMNS].reset_index(drop=True)
    return table, offsets_from_table(table)


def with_interval_models(table: pd.DataFrame, replay: pd.DataFrame, groups: np.ndarray) -> pd.DataFrame:
    """``table`` (``calibrate_service``) with the empirical candidate's replay judged beside the
    calibrated parametric policy: per row ``achieved_empirical`` (cycle service of the replay whose
    ``interval_model`` is 'empirical': every measured week's s came from errors of origins whose
    intervals had ended, so all of them are out of sample) and ``average_on_hand_empirical``; per
    class ``interval_model`` = ``empirical_demand.choose_interval_models`` of (achieved_after,
    average_on_hand_after) against the empirical figures, copied onto the class's groups.
    Launches ('new') do not count. Without an empirical replay the table is returned as it is."""
    if table.empty or "interval_model" not in replay or not (replay["interval_model"] == EMPIRICAL).any():
        return table
    frame = replay[(replay["interval_model"] == EMPIRICAL) & (replay["judged_class"] != "new")]
    frame = frame.assign(calibration_group=np.asarray(groups).astype(str)[frame["sku_index"].to_numpy()])
    table = table.copy()
    for keys, where in ((["demand_class"], table["calibration_group"] == ALL),
                        (["demand_class", "calibration_group"], table["calibration_group"] != ALL)):
        sums = frame.groupby(keys, observed=True)[["ok", "cycles", "average_on_hand"]].agg(
            ok=("ok", "sum"), cycles=("cycles", "sum"), on_hand=("average_on_hand", "mean"))
        index = pd.MultiIndex.from_frame(table.loc[where, keys]) if len(keys) > 1 else table.loc[where, keys[0]]
        found = sums.reindex(index)
        with np.errstate(divide="ignore", invalid="ignore"):
            achieved = np.where(found["cycles"].to_numpy(float) > 0,
                                found["ok"].to_numpy(float) / found["cycles"].to_numpy(float), np.nan)
        table.loc[where, "achieved_empirical"] = achieved
        table.loc[where, "average_on_hand_empirical"] = found["on_hand"].to_numpy(float)
        table.loc[where, "_empirical_cycles"] = found["cycles"].fillna(0).to_numpy(float)
    classes = table["calibration_group"] == ALL
    after = table["achieved_after"].where(table["achieved_after"].notna(), table["achieved_before"])
    on_hand = table["average_on_hand_after"].where(table["average_on_hand_after"].notna(),
                                                   table["average_on_hand_before"])
    choice = pd.Series(choose_interval_models(
        after[classes].to_numpy(float), on_hand[classes].to_numpy(float),
        table.loc[classes, "achieved_empirical"].to_numpy(float),
        table.loc[classes, "average_on_hand_empirical"].to_numpy(float),
        table.loc[classes, "service_level_target"].to_numpy(float),
        table.loc[classes, "_empirical_cycles"].to_numpy(float)), index=table.loc[classes, "demand_class"].to_numpy())
    table["interval_model"] = choice.reindex(table["demand_class"]).fillna(PARAMETRIC).to_numpy()
    return table.drop(columns="_empirical_cycles")


def empirical_classes(table: pd.DataFrame) -> list[str]:
    """The demand classes whose ``interval_model`` in a ``service_calibration`` table is 'empirical'."""
    if table.empty or "interval_model" not in table:
        return []
    rows = table[(table["calibration_group"] == ALL) & (table["interval_model"] == EMPIRICAL)]
    return sorted(rows["demand_class"].astype(str).unique())


def offsets_from_table(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The offsets ``calibrated_levels`` applies, from a ``service_calibration`` table (as
    ``calibrate_service`` returns it or a run stored it): (class, group) -> nominal_offset_z."""
    return {(str(row.demand_class), str(row.calibration_group)): float(row.nominal_offset_z)
            for row in table.itertuples() if np.isfinite(row.nominal_offset_z)}


def calibrated_levels(target: np.ndarray, demand_class: np.ndarray, groups: np.ndarray,
                      offsets: dict[tuple[str, str], float]) -> np.ndarray:
    """Per SKU the nominal level Φ(Φ⁻¹(target) + δ), δ its (class, group)'s offset (its finest
    label: a volume subgroup or a group), else its group's (``parent_groups``), else its class's
    ('all'), else 0 (the target itself)."""
    target = np.clip(np.asarray(target, dtype=float), 0.5, 0.9999)
    classes = np.asarray(demand_class).astype(str)
    groups = np.asarray(groups).astype(str)
    keys = pd.MultiIndex.from_arrays([classes, groups])
    group_offset = pd.Series(offsets, dtype=float)
    if group_offset.empty:
        return target.copy()
    delta = group_offset.reindex(keys).to_numpy()
    parents = parent_groups(groups)
    if (parents != groups).any():   # a subgroup without an offset of its own takes its group's
        delta = np.where(np.isfinite(delta), delta,
                         group_offset.reindex(pd.MultiIndex.from_arrays([classes, parents])).to_numpy())
    by_class = pd.Series({name: value for (name, group), value in offsets.items() if group == ALL}, dtype=float)
    delta = np.where(np.isfinite(delta), delta, by_class.reindex(classes).to_numpy())
    delta = np.nan_to_num(delta, nan=0.0)
    return np.where(delta == 0.0, target, nominal_levels(target, delta))


__all__ = [
    "CALIBRATION_COLUMNS", "REPLAY_OFFSETS", "achieved_curve", "calibrate_service", "calibrated_levels",
    "calibration_groups", "curve_at", "cycle_length_weeks", "empirical_classes", "invert_curve", "nominal_levels",
    "parent_groups", "replay_levels", "shrink_weight", "sku_groups", "volume_bands", "with_interval_models",
]
