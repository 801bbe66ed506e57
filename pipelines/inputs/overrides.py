"""The optional planner overrides file of the input folder, ``overrides.csv``, read and validated.

Columns: ``scope`` (sku | category | supplier | all), ``key`` (the SKU, category or supplier
code; empty for all), ``kind`` (forecast_multiplier | forecast_add | forecast_fixed |
service_level | do_not_order | min_stock | max_stock | like_item), ``value`` (a number; the like
SKU's code for like_item; empty for do_not_order), ``start``, ``end`` (dates YYYY-MM-DD, either
may be empty = open), optional ``note``. Rules (each broken one an error naming file, line and
column; the run then stops before anything is written): scope, kind known; key given unless
scope is all; value a finite number, >= 0 for a multiplier, fixed forecast, min or max stock,
0 < value < 1 for a service level; a like_item has scope sku and names another SKU; dates valid,
start <= end; two overrides of the same scope, key and kind must not overlap in time. What each
kind does: ``safestock.models.overrides``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from safestock.models.overrides import NO_VALUE_KINDS, OVERRIDE_KINDS, SCOPES, TEXT_VALUE_KINDS

from .contract import InputValidationError, ValidationIssue

OVERRIDES_FILE = "overrides.csv"
COLUMNS = ("scope", "key", "kind", "value", "start", "end")


def read_overrides(input_dir: Path) -> pd.DataFrame | None:
    """The overrides of ``input_dir`` (None without ``overrides.csv``): scope, key, kind, value
    (float; NaN for like_item), text_value (the value as written: like_item's SKU code), start, end
    (Timestamp or NaT), note, line (file line, header = 1)."""
    path = Path(input_dir) / OVERRIDES_FILE
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    issues = [ValidationIssue(OVERRIDES_FILE, 1, column, "column missing")
              for column in COLUMNS if column not in table.columns]
    if issues:
        raise InputValidationError(issues)
    text = {column: table[column].astype(str).str.strip() for column in COLUMNS}
    line = np.arange(len(table)) + 2
    scope, kind = text["scope"].str.lower(), text["kind"].str.lower()
    text_value = kind.isin(TEXT_VALUE_KINDS)
    value = pd.to_numeric(text["value"].replace("", None).where(~text_value), errors="coerce")
    start = pd.to_datetime(text["start"].replace("", None), errors="coerce", format="%Y-%m-%d")
    end = pd.to_datetime(text["end"].replace("", None), errors="coerce", format="%Y-%m-%d")

    def flag(mask: pd.Series | np.ndarray, column: str, message: str) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            issues.append(ValidationIssue(OVERRIDES_FILE, int(line[i]), column, message.format(
                scope=text["scope"].iloc[i], kind=text["kind"].iloc[i], value=text["value"].iloc[i],
                start=text["start"].iloc[i], end=text["end"].iloc[i])))

    flag(~scope.isin(SCOPES), "scope", "{scope!r} is not a scope: sku, category, supplier or all")
    flag(scope.isin(["sku", "category", "supplier"]) & (text["key"] == ""), "key",
         "a {scope} override needs the code in key")
    flag(~kind.isin(OVERRIDE_KINDS), "kind", "{kind!r} is not an override kind: " + ", ".join(OVERRIDE_KINDS))
    needs_number = kind.isin(OVERRIDE_KINDS) & ~kind.isin(NO_VALUE_KINDS) & ~text_value
    flag(needs_number & ~np.isfinite(value.to_numpy(float)), "value", "{value!r} is not a number")
    flag(kind.isin(["forecast_multiplier", "forecast_fixed", "min_stock", "max_stock"]) & (value < 0), "value",
         "{value} is below 0")
    flag(text_value & (text["value"] == ""), "value", "a {kind} override needs the like SKU's code in value")
    flag(text_value & scope.isin(SCOPES) & (scope != "sku"), "scope",
         "a {kind} override is for one new SKU: scope sku, not {scope}")
    flag(text_value & (scope == "sku") & (text["value"] != "") & (text["value"] == text["key"]), "value",
         "a SKU cannot be its own like item ({value})")
    flag((kind == "service_level") & ~((value > 0) & (value < 1)), "value",
         "a service level is between 0 and 1 (exclusive), not {value}")
    flag(start.isna() & (text["start"] != ""), "start", "{start!r} is not a date YYYY-MM-DD")
    flag(end.isna() & (text["end"] != ""), "end", "{end!r} is not a date YYYY-MM-DD")
    flag(start.notna() & end.notna() & (start > end), "end", "end {end} is before start {start}")
    if not issues:
        frame = pd.DataFrame({"i": np.arange(len(table)), "scope": scope, "key": text["key"], "kind": kind,
                              "start": start.fillna(pd.Timestamp.min), "end": end.fillna(pd.Timestamp.max)})
        pairs = frame.merge(frame, on=["scope", "key", "kind"])
        overlap = pairs[(pairs["i_x"] < pairs["i_y"]) & (pairs["start_x"] <= pairs["end_y"])
                        & (pairs["start_y"] <= pairs["end_x"])]
        for first, second in zip(overlap["i_x"], overlap["i_y"]):
            issues.append(ValidationIssue(OVERRIDES_FILE, int(line[second]), "start",
                                          f"overlaps the {kind.iloc[second]} override of line {line[first]} "
                                          f"for the same {scope.iloc[second]}"))
    if issues:
        raise InputValidationError(issues)
    return pd.DataFrame({"scope": scope, "key": text["key"], "kind": kind, "value": value.astype(float),
                         "text_value": text["value"],
                         "start": start, "end": end,
                         "note": table["note"].astype(str) if "note" in table else "", "line": line})
