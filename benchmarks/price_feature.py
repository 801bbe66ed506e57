"""Does the price input help the global model? Engine default vs global model without / with prices.

Usage::

    .venv/bin/python benchmarks/price_feature.py [--skus 3000] [--promotion-share 0.3]
        [--trend-share 0.1] [--seeds 42] [--holdout 13]

Data: the demo generator with prices (``generate_demo_data(promotion_share=..., trend_share=...)``:
every SKU has a regular price, a share runs 1-2 week price cuts of 10-30 % that lift demand
x (1 + 2 cut), a share keeps a steady 0.5-1 %/week trend), written as an input folder and read
back by the product's loader (``load_inputs``: ``sales_weekly`` and the DuckDB weekly prices),
put on the demand grid like the flow does (``build_demand_matrix``, ``weekly_price_matrix``).
The last ``--holdout`` weeks are held out; three engine runs forecast them from the weeks before:

* ``default``: the engine as shipped (global model off);
* ``global``: ``global_model=True`` without prices;
* ``global+price``: ``global_model=True`` with the weekly price grid (relative price, promotion
  flag and last week's relative price as features; future weeks at the regular price).
* ``global+planned``: as ``global+price`` with the holdout weeks' actual prices given as planned
  prices (engine API: a price grid wider than the history; the product's input has no planned
  prices yet) — what the feature is worth when promotions are known ahead.

Printed per demand class and for the promoted / trending / other SKUs: mean RMSSE and MASE (M5
scales from the training weeks, ``forecast_accuracy.scaled_errors``), the share of SKUs that
chose ``global_gbm``, and seconds. The holdout weeks hold promotions the forecast does not know
of (no planned prices): a forecast at the regular price is expected to miss them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from safestock.models.demand_matrix import build_demand_matrix, last_complete_week
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.prices import weekly_price_matrix
from safestock.pipelines.demo.data import TRUTH_TABLE, generate_demo_data, write_demo_data
from safestock.pipelines.inputs import load_inputs

from forecast_accuracy import scaled_errors  # noqa: E402  (a sibling script)

RUNS = ("default", "global", "global+price", "global+planned")


def scaled_errors_on(train: np.ndarray, start: np.ndarray, actual: np.ndarray, forecast: np.ndarray,
                     weeks: np.ndarray) -> dict[str, np.ndarray]:
    """``scaled_errors`` over the holdout weeks where ``weeks`` (n, h) is true only (same M5 scales)."""
    full = scaled_errors(train, start, actual, forecast)
    ones = scaled_errors(train, start, np.zeros_like(actual), np.ones_like(forecast))  # 1 / scale per SKU
    err = np.where(weeks, forecast - actual, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # SKUs without such weeks: NaN
        rmsse = np.sqrt(np.nanmean(err ** 2, axis=1)) * ones["rmsse"]
        mase = np.nanmean(np.abs(err), axis=1) * ones["mase"]
    return {"rmsse": np.where(np.isnan(full["rmsse"]), np.nan, rmsse),
            "mase": np.where(np.isnan(full["mase"]), np.nan, mase)}


def demo_panel(n: int, promotion_share: float, trend_share: float, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:
    """(skus, demand, start, price grid, truth, week starts) of a priced demo read through the loader."""
    tables = generate_demo_data(n, seed=seed, promotion_share=promotion_share, trend_share=trend_share)
    with tempfile.TemporaryDirectory(prefix="safestock-price-bench-") as folder:
        write_demo_data(tables, Path(folder))
        inputs = load_inputs(Path(folder))
    skus = inputs.items["sku"].to_numpy(dtype=object)
    demand = build_demand_matrix(inputs.sales_weekly, skus, last_complete_week(inputs.as_of), 156)
    prices = inputs.prices_weekly
    grid = weekly_price_matrix(prices["sku"].to_numpy(dtype=object), prices["week"].to_numpy(),
                               prices["unit_price"].to_numpy(dtype=np.float64), demand.skus, demand.weeks.to_numpy())
    truth = tables[TRUTH_TABLE].set_index("sku").reindex(skus)
    return demand.skus, demand.quantity, demand.start, grid, truth, demand.weeks.to_numpy().astype("datetime64[D]")


def run(n: int, promotion_share: float, trend_share: float, seed: int, holdout: int) -> None:
    skus, y, start, price, truth, weeks = demo_panel(n, promotion_share, trend_share, seed)
    train, actual = y[:, :-holdout], y[:, -holdout:]
    keep = start < train.shape[1] - 13
    skus, train, actual, start, price = skus[keep], train[keep], actual[keep], start[keep], price[keep]
    truth = truth[keep]
    print(f"\n=== priced demo seed {seed}: {skus.size} SKUs x {train.shape[1]} training weeks, holdout {holdout}; "
          f"{int((truth['promotion_weeks'] > 0).sum())} promoted, {int(truth['persistent_trend'].sum())} trending ===")
    results, seconds, errors = {}, {}, {}
    for name in RUNS:
        t0 = time.perf_counter()
        results[name] = forecast_demand(skus, train, start, holdout, week_starts=weeks[:-holdout],
                                        global_model=name != "default",
                                        prices={"global+price": price[:, :-holdout],
                                                "global+planned": price}.get(name))
        seconds[name] = time.perf_counter() - t0
        errors[name] = scaled_errors(train, start, actual, results[name].mean)
    classes = results["default"].classes["demand_class"].to_numpy()
    groups = {f"class {c}": classes == c for c in ("smooth", "erratic", "intermittent", "lumpy", "new")}
    groups["promoted SKUs"] = (truth["promotion_weeks"] > 0).to_numpy()
    groups["trending SKUs"] = truth["persistent_trend"].to_numpy(dtype=bool)
    groups["other SKUs"] = ~groups["promoted SKUs"] & ~groups["trending SKUs"]
    groups["all"] = np.ones(skus.size, dtype=bool)
    # the holdout weeks at the regular price (what a forecast without planned prices aims at)
    regular = np.nanmedian(price[:, -holdout - 52:-holdout], axis=1)
    promo_week = price[:, -holdout:] < 0.9 * regular[:, None]
    regular_errors = {name: scaled_errors_on(train, start, actual, results[name].mean, ~promo_week)
                      for name in RUNS}
    rows = []
    for label, members in groups.items():
        if not members.any():
            continue
        row = {"group": label, "skus": int(members.sum())}
        for name in RUNS:
            for metric in ("rmsse", "mase"):
                values = errors[name][metric][members]
                row[f"{metric} {name}"] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
            if name != "default":
                row[f"gbm chosen {name}"] = float((results[name].model[members] == "global_gbm").mean())
        rows.append(row)
        if label == "promoted SKUs":
            row = {"group": "promoted SKUs, regular-price holdout weeks", "skus": int(members.sum())}
            for name in RUNS:
                for metric in ("rmsse", "mase"):
                    row[f"{metric} {name}"] = float(np.nanmean(regular_errors[name][metric][members]))
            rows.append(row)
    table = pd.DataFrame(rows).set_index("group")
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(table[[c for c in table.columns if c.startswith("rmsse")]].round(4).to_string())
        print(table[[c for c in table.columns if c.startswith("mase")]].round(4).to_string())
        print(table[[c for c in table.columns if c.startswith("gbm")]].round(3).to_string())
    print("seconds: " + ", ".join(f"{name} {s:.1f}" for name, s in seconds.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=3000)
    parser.add_argument("--promotion-share", type=float, default=0.3)
    parser.add_argument("--trend-share", type=float, default=0.1)
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--holdout", type=int, default=13)
    args = parser.parse_args(argv)
    for seed in (int(s) for s in args.seeds.split(",")):
        run(args.skus, args.promotion_share, args.trend_share, seed, args.holdout)


if __name__ == "__main__":
    main()
