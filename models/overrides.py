"""Planner overrides applied to a run (issue 18, item 1).

An override row (``pipelines/inputs/overrides.py`` reads and validates them) has a scope
(``sku`` / ``category`` / ``supplier`` / ``all`` with its ``key``), a ``kind``, a ``value`` and a
date range [``start``, ``end``] (either end open when missing). Rules:

* Matching: scope ``sku`` matches the SKU ``key``; ``category`` every SKU whose
  ``items.category`` is ``key``; ``supplier`` every SKU of supplier ``key``; ``all`` every SKU.
  For one SKU and kind the most specific scope wins (sku > category > supplier > all: a category
  groups items that sell alike, so a planner's statement about it is closer to one SKU's demand
  than a statement about whoever supplies it); overrides of the same kind and scope on the same
  SKU must not overlap in time (the reader refuses that).
* Forecast kinds act on the forecast weeks whose Monday lies in the range:
  ``forecast_multiplier`` m: mean, sd and the interval bounds × m;
  ``forecast_add`` a: mean and bounds + a (bounds and mean floored at 0), sd unchanged;
  ``forecast_fixed`` f: mean = f, bounds shifted by f − old mean (floored at 0), sd unchanged.
  Order within a SKU-week: multiplier, then add, then fixed (a fixed forecast is final).
* Planning kinds act when the planning date lies in the range: ``service_level`` v sets the
  SKU's target (0 < v < 1); ``do_not_order`` marks the SKU discontinued (s = S = 0, no order line:
  the policy's rule for discontinued items).
* Stock kinds (``min_stock``, ``max_stock``: ``models/override_limits.py``) act on the policy's
  reorder point and order-up-to level; ``like_item`` (``models/like_item.py``) on the demand
  history before the forecast; contradictions between overrides and with the data:
  ``models/override_conflicts.py``.

Every application is recorded (``overrides_applied``: the override's file line, sku, kind, weeks
changed, the value before → after: the summed forecast over those weeks, or the target / 0-1
flag); an override that matches no SKU, or no forecast week, gets one row with sku NULL and a
note, so it is reported, not ignored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FORECAST_KINDS = ("forecast_multiplier", "forecast_add", "forecast_fixed")
PLANNING_KINDS = ("service_level", "do_not_order")
STOCK_KINDS = ("min_stock", "max_stock")
HISTORY_KINDS = ("like_item",)
OVERRIDE_KINDS = FORECAST_KINDS + PLANNING_KINDS + STOCK_KINDS + HISTORY_KINDS
#: Kinds whose ``value`` is text (the like SKU's code), not a number.
TEXT_VALUE_KINDS = HISTORY_KINDS
#: Kinds without a value.
NO_VALUE_KINDS = ("do_not_order",)
SCOPES = ("sku", "category", "supplier", "all")
_SPECIFICITY = {"sku": 3, "category": 2, "supplier": 1, "all": 0}
APPLIED_COLUMNS = ["line", "sku", "kind", "scope", "key", "weeks", "before", "after", "note"]


def override_matches(overrides: pd.DataFrame, skus: np.ndarray, supplier_ids: np.ndarray,
                     categories: np.ndarray | None = None) -> pd.DataFrame:
    """(override index ``override``, SKU row ``row``) pairs, the most specific scope per SKU and
    kind kept (rule: module docstring). ``categories`` (n,): each SKU's ``items.category`` (None
    or missing values: no category, matched by no category override). One pass per override
    line (a file of a few hundred lines), each vectorised over the SKUs."""
    sku_index = pd.Index(np.asarray(skus).astype(str))
    supplier = pd.Series(np.asarray(supplier_ids).astype(str))
    category = (pd.Series([None] * len(sku_index), dtype=object) if categories is None
                else pd.Series(np.asarray(categories, dtype=object)))
    parts = []
    for position, (scope, key) in enumerate(zip(overrides["scope"], overrides["key"].astype(str))):
        if scope == "sku":
            rows = sku_index.get_indexer([key])
            rows = rows[rows >= 0]
        elif scope == "category":
            rows = np.flatnonzero((category == key).to_numpy())
        elif scope == "supplier":
            rows = np.flatnonzero((supplier == key).to_numpy())
        else:
            rows = np.arange(len(sku_index))
        parts.append(pd.DataFrame({"override": position, "row": rows}))
    pairs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"override": [], "row": []}, dtype=int)
    pairs["kind"] = overrides["kind"].to_numpy()[pairs["override"].to_numpy(int)]
    pairs["rank"] = overrides["scope"].map(_SPECIFICITY).to_numpy()[pairs["override"].to_numpy(int)]
    best = pairs.groupby(["row", "kind"])["rank"].transform("max")
    return pairs[pairs["rank"] == best][["override", "row"]].reset_index(drop=True)


def active_on(overrides: pd.DataFrame, day: pd.Timestamp) -> np.ndarray:
    """(k,) True where ``day`` lies in override k's [start, end] (the planning kinds' rule)."""
    return _week_mask(overrides, pd.DatetimeIndex([pd.Timestamp(day)]))[:, 0]


def _week_mask(overrides: pd.DataFrame, weeks: pd.DatetimeIndex) -> np.ndarray:
    """(k, H) True where forecast week h of override k lies in its [start, end]."""
    week = weeks.to_numpy()[None, :]
    start = pd.to_datetime(overrides["start"]).to_numpy()[:, None]
    end = pd.to_datetime(overrides["end"]).to_numpy()[:, None]
    return (np.isnat(start) | (week >= start)) & (np.isnat(end) | (week <= end))


def apply_forecast_overrides(bands: dict[str, np.ndarray], weeks: pd.DatetimeIndex, overrides: pd.DataFrame,
                             matches: pd.DataFrame, skus: np.ndarray) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """New ``bands`` (mean, sd, lo80, hi80, lo95, hi95; each (n, H)) after the forecast kinds, and
    the applied rows (``APPLIED_COLUMNS``)."""
    out = {name: np.array(values, dtype=float, copy=True) for name, values in bands.items()}
    in_range = _week_mask(overrides, weeks)
    records: list[pd.DataFrame] = []
    for kind in FORECAST_KINDS:
        chosen = matches[overrides["kind"].to_numpy()[matches["override"].to_numpy(int)] == kind]
        if chosen.empty:
            continue
        k, row = chosen["override"].to_numpy(int), chosen["row"].to_numpy(int)
        mask = in_range[k]                                    # (m, H)
        value = overrides["value"].to_numpy(float)[k][:, None]
        before = np.where(mask, out["mean"][row], 0.0).sum(axis=1)
        old_mean = out["mean"][row]
        if kind == "forecast_multiplier":
            for name in ("mean", "sd", "lo80", "hi80", "lo95", "hi95"):
                out[name][row] = np.where(mask, out[name][row] * value, out[name][row])
        else:
            new_mean = old_mean + value if kind == "forecast_add" else np.broadcast_to(value, old_mean.shape)
            shift = np.maximum(new_mean, 0.0) - old_mean
            out["mean"][row] = np.where(mask, old_mean + shift, old_mean)
            for name in ("lo80", "hi80", "lo95", "hi95"):
                out[name][row] = np.where(mask, np.maximum(out[name][row] + shift, 0.0), out[name][row])
        after = np.where(mask, out["mean"][row], 0.0).sum(axis=1)
        weeks_changed = mask.sum(axis=1)
        records.append(pd.DataFrame({  # one record per (override, SKU) matched
            "line": k, "sku": np.asarray(skus)[row], "kind": kind, "weeks": weeks_changed, "before": before,
            "after": after, "note": np.where(weeks_changed > 0, "", "no forecast week in the date range")}))
    return out, _records(records)


def _records(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Applied records of one step as one frame (``line`` = override position)."""
    columns = ["line", "sku", "kind", "weeks", "before", "after", "note"]
    frames = [frame for frame in frames if len(frame)]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def planning_overrides(service_level: np.ndarray, discontinued: np.ndarray, as_of: pd.Timestamp,
                       overrides: pd.DataFrame, matches: pd.DataFrame,
                       skus: np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(service_level, discontinued) after the planning kinds active on ``as_of``, and the applied rows."""
    level, stopped = np.array(service_level, dtype=float, copy=True), np.array(discontinued, dtype=bool, copy=True)
    active = active_on(overrides, as_of)
    kind_of = overrides["kind"].to_numpy()
    value = overrides["value"].to_numpy(float)
    records: list[pd.DataFrame] = []
    for kind in PLANNING_KINDS:  # vectorised over the matched SKUs; at most one active line per SKU and kind
        chosen = matches[kind_of[matches["override"].to_numpy(int)] == kind]
        k, row = chosen["override"].to_numpy(int), chosen["row"].to_numpy(int)
        on = active[k]
        if kind == "service_level":
            before = level[row].copy()
            level[row[on]] = value[k[on]]
            after = np.where(on, value[k], np.nan)
        else:
            before = stopped[row].astype(float)
            stopped[row[on]] = True
            after = np.where(on, 1.0, np.nan)
        records.append(pd.DataFrame({"line": k, "sku": np.asarray(skus)[row], "kind": kind, "weeks": 0,
                                     "before": np.where(on, before, np.nan), "after": after,
                                     "note": np.where(on, "", "planning date outside the date range")}))
    return level, stopped, _records(records)


def applied_table(overrides: pd.DataFrame, applied: list[pd.DataFrame], as_of: pd.Timestamp | None = None,
                  conflicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``overrides_applied`` rows: the applied records with the override's file line, scope and
    key, plus one row (sku NULL, note 'matched no SKU') per override that matched nothing.

    With ``as_of``: an override whose date range ended before the planning date changed nothing
    and gets one row (sku NULL, note 'in the past: ...') instead of one per SKU. ``conflicts``
    (``line`` = override position, ``sku``, ``note``; ``override_conflicts``): each note is
    appended to the (override, SKU) row, or becomes a row of its own when there is none."""
    rows = _records(list(applied))
    ended = pd.to_datetime(overrides["end"]).to_numpy()
    expired = (np.flatnonzero(~np.isnat(ended) & (ended < np.datetime64(pd.Timestamp(as_of))))
               if as_of is not None else np.array([], dtype=int))
    rows = rows[~rows["line"].isin(expired)]
    if conflicts is not None and len(conflicts):
        conflicts = conflicts[~conflicts["line"].isin(expired)]
        joined = conflicts.groupby(["line", "sku"], sort=False)["note"].agg("; ".join).rename("conflict").reset_index()
        rows = rows.merge(joined, on=["line", "sku"], how="outer")
        rows["kind"] = rows["kind"].fillna(pd.Series(overrides["kind"].to_numpy()[rows["line"].to_numpy(int)],
                                                     index=rows.index))
        rows["weeks"] = pd.to_numeric(rows["weeks"], errors="coerce").fillna(0).astype(int)
        own, extra = rows["note"].fillna("").astype(str), rows["conflict"].fillna("").astype(str)
        rows["note"] = np.where((own != "") & (extra != ""), own + "; " + extra, own + extra)
        rows = rows.drop(columns="conflict").sort_values(["line", "sku"], kind="stable")
    unmatched = np.setdiff1d(np.arange(len(overrides)), np.concatenate(
        [rows["line"].to_numpy(int) if len(rows) else np.array([], dtype=int), expired]))
    past = [f"in the past: the date range ended {pd.Timestamp(ended[k]):%Y-%m-%d}, before the planning date "
            f"{pd.Timestamp(as_of):%Y-%m-%d}" for k in expired]
    rows = pd.concat([rows, pd.DataFrame({"line": unmatched, "sku": None, "kind": overrides["kind"].to_numpy()[unmatched],
                                          "weeks": 0, "note": "matched no SKU"}),
                      pd.DataFrame({"line": expired, "sku": None, "kind": overrides["kind"].to_numpy()[expired],
                                    "weeks": 0, "note": past})], ignore_index=True)
    position = rows["line"].to_numpy(int)
    return rows.assign(scope=overrides["scope"].to_numpy()[position], key=overrides["key"].to_numpy()[position],
                       line=overrides["line"].to_numpy()[position]).reindex(columns=APPLIED_COLUMNS)


def apply_overrides(forecast_bands: dict[str, np.ndarray], weeks: pd.DatetimeIndex, service_level: np.ndarray,
                    discontinued: np.ndarray, as_of: pd.Timestamp, overrides: pd.DataFrame,
                    matches: pd.DataFrame, skus: np.ndarray,
                    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[pd.DataFrame]]:
    """The forecast and planning kinds at once: (forecast bands, service_level, discontinued, their
    applied records; ``applied_table`` turns every step's records into ``overrides_applied``)."""
    bands, forecast_rows = apply_forecast_overrides(forecast_bands, weeks, overrides, matches, skus)
    level, stopped, planning_rows = planning_overrides(service_level, discontinued, as_of, overrides, matches, skus)
    return bands, level, stopped, [forecast_rows, planning_rows]
