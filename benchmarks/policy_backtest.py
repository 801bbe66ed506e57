"""Policy backtest benchmark: replay the last 26 weeks of real / demo demand under the policy.

    .venv/bin/python benchmarks/policy_backtest.py                 # demo (2,000 SKUs) + MAN + jewelry
    .venv/bin/python benchmarks/policy_backtest.py --demo-skus 10000 --no-man

Prints the ``policy_backtest`` table (one row per demand class) of ``backtest_policy`` with the
default rolling estimator (26-week mean / variance, count family for intermittent / lumpy) for
cycle-service and fill-rate policies, and the seconds per 1,000 SKUs; ``--engine`` forecasts with
the engine every 4 weeks as the pipeline does. Each is run with the interval model before
("weekly") and after ("compound": shared level error + compound occurrences x sizes for
intermittent / lumpy), followed by a before/after table per class.

``--calibration``: the service calibration judged on weeks it was not fitted on. The calibration
(``models/inventory/calibration.py``) is fitted on the replay of the 26 weeks before the last 26
(history cut there, as a run 26 weeks ago would see it), then the last 26 weeks are replayed at
the targets ("before") and at the calibrated nominal levels ("after"): per class achieved against
target, mean absolute per-SKU error, average on hand, and the seconds the extra replays cost.
``--empirical`` (with ``--calibration``; cycle service): the fit replay also runs the empirical
protection-interval candidate (``models/inventory/empirical_demand.py``) and picks per class
(``calibration.with_interval_models``), as the flow does; the last 26 weeks are replayed with the
parametric calibrated levels and with the empirical candidate on the same draws (its error pool
starts with the fit window's errors and grows only with intervals that have ended), and "chosen"
takes, per class, the candidate the fit window picked.

* demo: ``safestock.pipelines.demo.data.generate_demo_data`` sales aggregated to weeks; lead time = the
  supplier's nominal lead time (sd = nominal CV x mean), its review period, ABC service levels.
* MAN: shared/data/real/man_weekly_long.csv.gz (weekly demand per spare part) and
  man_items.csv (lead_time_weeks, unit_cost_eur), read in place; review weekly, lead-time sd =
  nominal CV x mean, service level 0.95.
* jewelry: shared/data/real/jewelry_weekly_long.csv (weekly units per item, 314 x 124 weeks) by
  ``real_data_adapter.jewelry_weekly``, read in place; no supply data, so as its adapter invents:
  lead time 4 weeks (sd = nominal CV x mean), weekly review, unit cost 1, ABC service levels.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd

from safestock.models.forecasting.classify import classify_demand  # noqa: E402
from safestock.models.inventory import PolicyConfig, backtest_policy  # noqa: E402
from safestock.models.inventory.backtest import engine_forecast_fn, periodic_forecast_fn  # noqa: E402

from real_data_adapter import JEWELRY_LEAD_TIME_DAYS, jewelry_weekly  # noqa: E402  (a sibling script)
from real_data_adapter import REAL_DATA_DIR as REAL  # noqa: E402


def first_sale(history: np.ndarray) -> np.ndarray:
    sold = history > 0
    return np.where(sold.any(axis=1), sold.argmax(axis=1), history.shape[1])


def demo_inputs(n: int, seed: int = 42) -> dict:
    from safestock.pipelines.demo.data import generate_demo_data

    tables = generate_demo_data(n, seed=seed)
    sales = tables["sales"].assign(week=lambda f: f["date"].dt.to_period("W-SUN").dt.start_time,
                                   sku=lambda f: f["sku"].astype(str))
    weekly = sales.groupby(["sku", "week"], observed=True)["quantity"].sum().unstack(fill_value=0.0)
    items = tables["items"].assign(sku=lambda f: f["sku"].astype(str)).set_index("sku")
    weekly = weekly.reindex(index=items.index, fill_value=0.0)
    suppliers = tables["suppliers"].set_index("supplier_id").reindex(items["supplier_id"])
    history = weekly.to_numpy(float)
    config = PolicyConfig()
    lead_mean = suppliers["lead_time_days"].to_numpy(float) / 7.0
    return dict(history=history, unit_cost=items["unit_cost"].to_numpy(float), lead_mean=lead_mean,
                lead_sd=config.nominal_lead_time_cv * lead_mean,
                review=suppliers["review_period_days"].to_numpy(float) / 7.0, abc_levels=True,
                week_starts=weekly.columns.to_numpy().astype("datetime64[D]"))


def man_inputs() -> dict:
    long = pd.read_csv(REAL / "man_weekly_long.csv.gz")
    history_frame = long.pivot_table(index="sku", columns="year_week", values="demand", aggfunc="sum", fill_value=0.0)
    items = pd.read_csv(REAL / "man_items.csv").set_index("sku").reindex(history_frame.index)
    lead_mean = items["lead_time_weeks"].to_numpy(float)
    return dict(history=history_frame.to_numpy(float), unit_cost=items["unit_cost_eur"].to_numpy(float),
                lead_mean=lead_mean, lead_sd=PolicyConfig().nominal_lead_time_cv * lead_mean,
                review=np.ones(len(items)), abc_levels=False,
                week_starts=pd.to_datetime(history_frame.columns + "-1", format="%G-W%V-%u").to_numpy()
                .astype("datetime64[D]"))


def jewelry_inputs() -> dict:
    weekly, _ = jewelry_weekly(REAL)
    history_frame = weekly.pivot_table(index="sku", columns="week", values="units", aggfunc="sum", fill_value=0.0)
    n = len(history_frame)
    lead_mean = np.full(n, JEWELRY_LEAD_TIME_DAYS / 7.0)
    return dict(history=history_frame.to_numpy(float), unit_cost=np.ones(n), lead_mean=lead_mean,
                lead_sd=PolicyConfig().nominal_lead_time_cv * lead_mean, review=np.ones(n), abc_levels=True,
                week_starts=history_frame.columns.to_numpy().astype("datetime64[D]"))


def real_sets(no_man: bool, no_jewelry: bool) -> list[tuple[str, object]]:
    """(name, inputs builder) of the real sets present and not excluded."""
    sets = []
    if not no_man and (REAL / "man_weekly_long.csv.gz").exists():
        sets.append(("MAN spare parts", man_inputs))
    if not no_jewelry and (REAL / "jewelry_weekly_long.csv").exists():
        sets.append(("jewelry", jewelry_inputs))
    return sets


def run(name: str, data: dict, weeks: int, engine: bool = False) -> None:
    history = data["history"]
    start = first_sale(history)
    classes = classify_demand(history, start, data["unit_cost"])
    n = history.shape[0]
    for service_type in ("cycle", "fill_rate"):
        config = dataclasses.replace(PolicyConfig(), service_level_type=service_type)
        if data["abc_levels"]:
            level = pd.Series(classes.abc).map(config.service_level_by_abc).fillna(0.95).to_numpy(float)
        else:
            level = np.full(n, 0.95)
        tables = {}
        for interval_model in ("weekly", "compound"):  # before / after
            forecast_fn = periodic_forecast_fn(engine_forecast_fn(26, week_starts=data["week_starts"]), 4) if engine else None
            began = time.perf_counter()
            tables[interval_model] = backtest_policy(
                history, start, classes.demand_class, level, data["lead_mean"], data["lead_sd"], data["review"],
                config, weeks=weeks, unit_cost=data["unit_cost"], forecast_fn=forecast_fn,
                interval_model=interval_model)
            seconds = time.perf_counter() - began
            print(f"\n### {name}: {n:,} SKUs x {history.shape[1]} weeks, {service_type} policy, "
                  f"{'engine every 4 weeks' if engine else 'rolling estimator'}, interval model {interval_model}, "
                  f"last {weeks} weeks replayed ({seconds:.2f} s, {1000 * seconds / n:.2f} s per 1,000 SKUs)\n")
            print(tables[interval_model].round(3).to_string(index=False))
        metric = "cycle_service_level" if service_type == "cycle" else "fill_rate"
        target = "service_level_target" if service_type == "cycle" else "fill_rate_target"
        before, after = (tables[k].set_index("demand_class") for k in ("weekly", "compound"))
        short = (history.shape[1] - weeks - start) < 13
        summary = pd.DataFrame({"target": before[target], "before": before[metric], "after": after[metric],
                                "on_hand_before": before["average_on_hand"], "on_hand_after": after["average_on_hand"]})
        summary["skus_<13wk_history"] = pd.Series(classes.demand_class[short]).value_counts().reindex(
            summary.index).fillna(0).astype(int)
        print(f"\n#### {name}, {service_type}: {metric} before (weekly) -> after (compound)  "
              "['new': too little history before the replay to judge]\n")
        print(summary.round(3).to_string())


def _per_sku_mae(frame: pd.DataFrame) -> pd.Series:
    per_sku = frame[(frame["judged_class"] != "new") & (frame["cycles"] > 0)]
    return ((per_sku["ok"] / per_sku["cycles"]) - per_sku["service_level"]).abs().groupby(per_sku["judged_class"]).mean()


def _replay_setup(data: dict, classes, weeks: int, engine: bool, config: PolicyConfig) -> tuple:
    """What both fit-then-judge checks share: the targets (ABC or 0.95), the forecast function (the
    engine re-forecast every 4 weeks, or the rolling estimate), the replay's common arguments and
    the history before the judged weeks."""
    history = data["history"]
    start = first_sale(history)
    n = history.shape[0]
    level = (pd.Series(classes.abc).map(config.service_level_by_abc).fillna(0.95).to_numpy(float)
             if data["abc_levels"] else np.full(n, 0.95))

    def forecast_fn():
        return periodic_forecast_fn(engine_forecast_fn(26, week_starts=data["week_starts"]), 4) if engine else None

    common = dict(demand_class=classes.demand_class, lead_time_weeks_mean=data["lead_mean"],
                  lead_time_weeks_sd=data["lead_sd"], review_period_weeks=data["review"], config=config,
                  weeks=weeks, unit_cost=data["unit_cost"])
    fit_history = history[:, :history.shape[1] - weeks]
    fit_start = np.minimum(start, fit_history.shape[1])
    return level, forecast_fn, common, fit_history, fit_start


def empirical_check(name: str, data: dict, weeks: int, engine: bool = False) -> pd.DataFrame:
    """Cycle service: the parametric calibrated policy and the empirical candidate, fitted / chosen on
    the replay of weeks [T - 2w, T - w), judged on the last w weeks (same draws)."""
    from safestock.models.inventory.backtest import rolling_estimate, summarise_backtest
    from safestock.models.inventory.calibration import (calibrate_service, calibrated_levels, empirical_classes,
                                                        replay_levels, sku_groups, with_interval_models)
    from safestock.models.inventory.empirical_demand import ErrorLedger

    history = data["history"]
    start = first_sale(history)
    classes = classify_demand(history, start, data["unit_cost"])
    config = PolicyConfig()
    level, forecast_fn, common, fit_history, fit_start = _replay_setup(data, classes, weeks, engine, config)
    mean_at_fit = rolling_estimate(fit_history, fit_start, classes.demand_class)[0].mean(axis=1)
    groups = sku_groups(mean_at_fit, data["unit_cost"], data["review"], data["lead_mean"], data["lead_sd"], config)
    began = time.perf_counter()
    fit_ledger = ErrorLedger(fit_history)
    replay = backtest_policy(fit_history, fit_start, service_level=level, nominal_levels=replay_levels(level),
                             forecast_fn=forecast_fn(), empirical=fit_ledger, **common)
    fitting = time.perf_counter() - began
    table, offsets = calibrate_service(replay, groups, "cycle")
    table = with_interval_models(table, replay, groups)
    chosen = empirical_classes(table)
    nominal = calibrated_levels(level, classes.demand_class, groups, offsets)
    ledger = ErrorLedger(history)
    ledger.extend(fit_ledger.errors())
    frame = backtest_policy(history, start, service_level=level, nominal_levels=np.stack([level, nominal]),
                            forecast_fn=forecast_fn(), empirical=ledger, **common)
    parts = {"before": frame[frame["replay"] == 0], "calibrated": frame[frame["replay"] == 1],
             "empirical": frame[frame["replay"] == 2]}
    use_empirical = np.isin(classes.demand_class, chosen)
    parts["chosen"] = pd.concat([parts["calibrated"][~use_empirical[parts["calibrated"]["sku_index"]]],
                                 parts["empirical"][use_empirical[parts["empirical"]["sku_index"]]]])
    summaries = {key: summarise_backtest(part, weeks, "cycle").set_index("demand_class") for key, part in parts.items()}
    summary = pd.DataFrame({"skus": summaries["before"]["skus"], "target": summaries["before"]["service_level_target"]})
    for key in parts:
        summary[key] = summaries[key]["cycle_service_level"]
    for key in parts:
        summary[f"mae_{key}"] = _per_sku_mae(parts[key])
    for key in parts:
        summary[f"on_hand_{key}"] = summaries[key]["average_on_hand"]
    summary["cycles"] = summaries["empirical"]["cycles"]
    errors = ledger.errors()
    print(f"\n#### {name}, cycle: empirical candidate fitted / chosen on weeks -{2 * weeks}..-{weeks}, judged on the "
          f"last {weeks} ({'engine every 4 weeks' if engine else 'rolling estimator'}); fit replay with the "
          f"candidate {fitting:.1f} s; chosen: {chosen or 'none'}; {len(errors):,} errors at the end\n")
    print(summary.round(3).to_string())
    print("\nfit table:\n" + table[["demand_class", "calibration_group", "cycles", "service_level_target",
                                      "achieved_before", "achieved_after", "achieved_empirical",
                                      "average_on_hand_after", "average_on_hand_empirical",
                                      "interval_model"]].round(3).to_string(index=False))
    print("\nerror ratio by class and group (all origins):\n" + errors.assign(ratio=errors["ratio"].astype(float))
          .groupby(["demand_class", "group"])["ratio"].describe(percentiles=[0.5, 0.9, 0.95]).round(2).to_string())
    return summary


def calibration_check(name: str, data: dict, weeks: int, engine: bool = False) -> pd.DataFrame:
    """Fit on the replay of weeks [T - 2w, T - w), judge on the replay of the last w weeks."""
    from safestock.models.inventory.backtest import rolling_estimate, summarise_backtest
    from safestock.models.inventory.calibration import calibrate_service, calibrated_levels, replay_levels, sku_groups

    history = data["history"]
    start = first_sale(history)
    classes = classify_demand(history, start, data["unit_cost"])
    rows = []
    for service_type in ("cycle", "fill_rate"):
        config = dataclasses.replace(PolicyConfig(), service_level_type=service_type)
        level, forecast_fn, common, fit_history, fit_start = _replay_setup(data, classes, weeks, engine, config)
        began = time.perf_counter()
        backtest_policy(fit_history, fit_start, service_level=level, nominal_levels=level[None, :],
                        forecast_fn=forecast_fn(), **common)
        one = time.perf_counter() - began
        began = time.perf_counter()
        replay = backtest_policy(fit_history, fit_start, service_level=level, nominal_levels=replay_levels(level),
                                 forecast_fn=forecast_fn(), **common)
        mean_at_fit = rolling_estimate(fit_history, fit_start, classes.demand_class)[0].mean(axis=1)
        groups = sku_groups(mean_at_fit, data["unit_cost"], data["review"], data["lead_mean"], data["lead_sd"], config)
        table, offsets = calibrate_service(replay, groups, service_type)
        nominal = calibrated_levels(level, classes.demand_class, groups, offsets)
        calibrating = time.perf_counter() - began
        judged = {}
        for label, used in (("before", level), ("after", nominal)):
            frame = backtest_policy(history, start, service_level=level, nominal_levels=used[None, :],
                                    forecast_fn=forecast_fn(), **common)
            judged[label] = summarise_backtest(frame, weeks, service_type).set_index("demand_class")
            per_sku = frame[(frame["judged_class"] != "new") & (frame["cycles"] > 0)]
            metric = (per_sku["ok"] / per_sku["cycles"]) if service_type == "cycle" else \
                (per_sku["served"] / per_sku["demand_units"].where(per_sku["demand_units"] > 0))
            judged[label + "_mae"] = (metric - per_sku["service_level"]).abs().groupby(per_sku["judged_class"]).mean()
        metric = "cycle_service_level" if service_type == "cycle" else "fill_rate"
        target = "service_level_target" if service_type == "cycle" else "fill_rate_target"
        summary = pd.DataFrame({
            "skus": judged["before"]["skus"], "target": judged["before"][target],
            "before": judged["before"][metric], "after": judged["after"][metric],
            "fitted_after": table[table["calibration_group"] == "all"].set_index("demand_class")["achieved_after"],
            "sku_mae_before": judged["before_mae"], "sku_mae_after": judged["after_mae"],
            "review_csl_after": judged["after"]["review_cycle_service_level"],
            "fill_after": judged["after"]["fill_rate"],
            "on_hand_before": judged["before"]["average_on_hand"], "on_hand_after": judged["after"]["average_on_hand"],
            "cycles_after": judged["after"]["cycles"]})
        print(f"\n#### {name}, {service_type}: fitted on weeks -{2 * weeks}..-{weeks}, judged on the last {weeks} "
              f"({'engine every 4 weeks' if engine else 'rolling estimator'}); one replay {one:.1f} s, "
              f"{len(replay_levels(level[:1]))} replays + fit {calibrating:.1f} s\n")
        print(summary.round(3).to_string())
        print("\ncalibration table (fit):\n" + table.round(3).to_string(index=False))
        rows.append(summary.assign(service_type=service_type))
    return pd.concat(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-skus", type=int, default=2000, help="0: no demo set")
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--no-man", action="store_true")
    parser.add_argument("--no-jewelry", action="store_true")
    parser.add_argument("--calibration", action="store_true",
                        help="judge the service calibration on weeks it was not fitted on")
    parser.add_argument("--empirical", action="store_true",
                        help="with --calibration: the empirical protection-interval candidate against it (cycle)")
    parser.add_argument("--engine", action="store_true",
                        help="forecast with the engine every 4 weeks, as the pipeline does (slower)")
    args = parser.parse_args()
    pd.set_option("display.width", 220)
    if args.calibration and args.empirical:
        if args.demo_skus > 0:
            empirical_check("demo", demo_inputs(args.demo_skus), args.weeks, args.engine)
        for name, inputs in real_sets(args.no_man, args.no_jewelry):
            empirical_check(name, inputs(), args.weeks, args.engine)
        return
    if args.calibration:
        if args.demo_skus > 0:
            calibration_check("demo", demo_inputs(args.demo_skus), args.weeks, args.engine)
        for name, inputs in real_sets(args.no_man, args.no_jewelry):
            calibration_check(name, inputs(), args.weeks, args.engine)
        return
    if args.demo_skus > 0:
        run("demo", demo_inputs(args.demo_skus), args.weeks, args.engine)
    for name, inputs in real_sets(args.no_man, args.no_jewelry):
        run(name, inputs(), args.weeks, args.engine)


if __name__ == "__main__":
    main()
