"""Diagnosis of the closed-loop service misses (issue 14): forecast level bias vs spread, where the shortfall sits.

    .venv/bin/python benchmarks/closed_loop_diagnosis.py --seed 1                       # runs the flow (2,000 SKUs)
    .venv/bin/python benchmarks/closed_loop_diagnosis.py --seed 1 --policy-from DB      # a kept run of the same world

On the world of ``closed_loop_worlds.py`` (same generator, same closed loop, world ``drift``) with the policy of the
real flow run on it. Per SKU, r = the run's protection_demand_mean / the true mean demand over the protection interval
at the run date (r - 1: the forecast's level error over the interval, held by the loop for all weeks). Printed:

1. Per true class (and true-class x product class): SKUs, bias = mean(r) - 1, median(r) - 1, sd(r), the priced level
   error sd relative to the level (demand_per_week_sd / demand_per_week_mean / sqrt(level_error_weeks), median) and
   z = (r - 1) / that (sd(z) ~ 1 if the level error is priced at its size: the normal-family interval's shared term;
   the compound SKUs use their own rate variance instead), cycle service gap to target pooled over cycles
   ("cycle-weighted", the benchmark's figure) and the mean over SKUs of per-SKU gaps ("SKU-weighted"),
   corr(cycles, r).
2. Systematic groups: trending by the sign of its growth, seasonal by the season's slope at the run date
   (cos of the phase: rising > 0.5, falling < -0.5, else turning).
3. Counterfactual "debiased": the product's s, S divided by the mean r of the SKU's group (step 2 groups; others by
   class), i.e. the systematic part of the level error removed and the SKU's own spread kept, on the same draws.
4. Where the level error comes from: trending SKUs by the run's forecast model (forecasts.model) and growth sign;
   true-lumpy SKUs by k, the orders seen in the last 26 weeks (``compound.orders_seen``, the evidence behind the
   compound distribution's rate variance 1/k), with c = the priced relative sd of the rate (sqrt(1/k + (sd_L/L)^2))
   and sd of (r - 1) / c.
5. ``--refit-paths N`` (closed loop with re-forecasting): N paths of 39 future weeks drawn from the TRUE world are
   appended to the history and the flow's own replay (``backtest.backtest_policy``: s, S recomputed every review,
   the engine re-forecasting every ``--refit-every`` weeks, 13 warm-up + 26 measured weeks, lead times drawn from the
   run's estimated gamma) is run on them, per true class: what a planner re-running the product gets, as opposed to
   the benchmark's one run-date forecast held for 130 weeks. ``--refit-every 39`` holds one forecast over the
   whole replay (no level tracking: harsher than the benchmark's drift scaling on trending SKUs).
6. ``--attributes`` (what a finer calibration group could use): per SKU the attributes the product knows at the
   run date (``sku_attributes``: cycle length max(EOQ, R d) / d in weeks, the run's lead-time CV, volume = mean
   weekly sales over the last 52 weeks, CV² of the non-zero weekly sizes and ADI = weeks per non-zero week since
   the first sale (Syntetos & Boylan 2005), orders (non-zero weeks) in the last 26, the target), then (a) per
   attribute and product class the SKUs by quintile (their mean gap and mean |gap|, points), (b) a weighted least
   squares fit of the per-SKU gap on class dummies + the standardised attributes (log of the skewed ones), within
   each product class (coefficient = points per sd; share of the per-SKU gap variance explained, R², and the
   mean |gap| of the residual: the per-SKU miss a perfect attribute-based correction would leave, the miss of a
   class-level one beside it, and the noise floor: E|gap| of the simulation's binomial noise alone,
   mean of sqrt(2/pi) sqrt(t (1 - t) / cycles) over the SKUs, cycles summed over replications); and the same fit
   on the SKU's own forecast level error log r alone (an oracle the product does not have: R², residual miss).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import closed_loop_worlds as clw  # a sibling script (its folder is on sys.path when run as a script)
import numpy as np
import pandas as pd
from safestock.models.inventory.backtest import (
    backtest_policy,
    engine_forecast_fn,
    periodic_forecast_fn,
)
from safestock.models.inventory.compound import orders_seen
from safestock.models.inventory.simulation import pmf_moments

FUTURE_WEEKS = 39   # replay: 13 warm-up + 26 measured weeks after the run date


def systematic_group(world: clw.World) -> np.ndarray:
    """trending+ / trending- by growth sign; seasonal rising / falling / turning by the season's slope at the run
    date (cos((T + phase) 2 pi / 52) > 0.5 / < -0.5); other classes as themselves."""
    slope = np.cos(2 * np.pi * (clw.HISTORY_WEEKS + world.phase) / 52.0)
    season = np.where(slope > 0.5, "seasonal rising", np.where(slope < -0.5, "seasonal falling", "seasonal turning"))
    trend = np.where(world.growth > 0, "trending+", "trending-")
    return np.where(world.true_class == "trending", trend, np.where(world.true_class == "seasonal", season,
                                                                     world.true_class))


def gap_table(frame: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Per group: SKUs, bias, sd of r, cycle- and SKU-weighted gap (points), mean |per-SKU gap|, on hand."""
    grouped = frame.groupby(key, observed=True)
    return pd.DataFrame({
        "skus": grouped.size(), "bias": grouped["r"].mean() - 1, "sd_r": grouped["r"].std(),
        "gap_cycle_w": 100 * (grouped["ok"].sum() / grouped["cycles"].sum() - grouped["target"].mean()),
        "gap_sku_w": grouped["gap"].mean(),
        "miss": frame["gap"].abs().groupby([frame[k] for k in np.atleast_1d(key)], observed=True).mean(),
        "on_hand": grouped["on_hand"].mean()})


def run(skus: int, replications: int, weeks: int, warmup: int, seed: int, workdir: Path,
        policy_db: Path | None, attributes: bool = False) -> dict[str, pd.DataFrame]:
    """The tables of the module docstring."""
    world = clw.generate_world(skus, seed)
    policy = clw.product_policy(world, seed, workdir, policy_db=policy_db)
    s = policy["reorder_point"].to_numpy(float)
    S = policy["order_up_to"].to_numpy(float)
    review = world.review_weeks[world.supplier].astype(float)
    lead = np.array([pmf_moments(p) for p in world.lead_pmf])[world.supplier]
    mu, _ = clw.textbook_levels(world, lead[:, 0] + review, lead[:, 1], clw.HISTORY_WEEKS - 1, warmup + weeks + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mu[:, :1] > 0, mu[:, 1:] / mu[:, :1], 1.0)
        r = policy["protection_demand_mean"].to_numpy(float) / mu[:, 0]
        priced = (policy["demand_per_week_sd"] / policy["demand_per_week_mean"]
                  / np.sqrt(policy["level_error_weeks"])).to_numpy(float)
    stocked = S > 0
    judged = stocked & np.isfinite(r)
    group = systematic_group(world)
    group_mean = pd.Series(r[judged]).groupby(group[judged]).mean()
    debias = np.where(judged, 1.0 / pd.Series(group).map(group_mean).fillna(1.0).to_numpy(), 1.0)[:, None]
    never = np.where(stocked, 0.0, -np.inf)[:, None]
    levels = {"product": (s[:, None] * ratio + never, S[:, None] * ratio),
              "debiased": (s[:, None] * ratio * debias + never, S[:, None] * ratio * debias)}
    totals = clw.closed_loop(world, levels, replications, weeks, warmup, seed, drift=True)
    tables: dict[str, pd.DataFrame] = {}
    for name, t in totals.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            service = np.where(t["cycles"] > 0, t["ok"] / t["cycles"], np.nan)
        frame = pd.DataFrame({
            "class": world.true_class, "product_class": policy["demand_class"].fillna("?").to_numpy(),
            "group": group, "target": world.target, "r": r, "z": (r - 1) / priced, "priced_rel": priced,
            "ok": t["ok"], "cycles": t["cycles"], "gap": 100 * (service - world.target),
            "on_hand": t["on_hand"] / (weeks * replications)})[judged]
        tables[f"{name}_by_group"] = gap_table(frame, "group")
        if name == "product":
            by_class = gap_table(frame, "class")
            grouped = frame.groupby("class")
            by_class["median_r-1"] = grouped["r"].median() - 1
            by_class["priced_rel_median"] = grouped["priced_rel"].median()
            by_class["sd_z"] = grouped["z"].std()
            by_class["corr_cycles_r"] = grouped[["cycles", "r"]].apply(lambda d: d.corr().iloc[0, 1])
            tables["product_by_class"] = by_class
            tables["product_by_class_and_product_class"] = gap_table(frame, ["class", "product_class"])
        else:
            tables[f"{name}_by_class"] = gap_table(frame, "class")
        if name == "product":
            tables.update(level_error_sources(world, policy, frame, workdir, policy_db))
            if attributes:
                tables.update(attribute_tables(frame, sku_attributes(world, policy)))
    return tables


def sku_attributes(world: clw.World, policy: pd.DataFrame) -> pd.DataFrame:
    """Step 6: per SKU (world order) the attributes known at the run date (module docstring, item 6)."""
    from safestock.models.inventory.calibration import cycle_length_weeks

    history = world.history
    weeks = history.shape[1]
    start = np.argmax(history > 0, axis=1)
    alive = np.arange(weeks)[None, :] >= start[:, None]
    nonzero = history > 0
    count = nonzero.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        size_mean = np.where(count > 0, history.sum(axis=1) / count, np.nan)
        size_var = np.where(count > 1, ((history - size_mean[:, None]) ** 2 * nonzero).sum(axis=1) / (count - 1), 0.0)
        cv2 = size_var / size_mean**2
        adi = np.where(count > 0, alive.sum(axis=1) / count, np.nan)
        lead_cv = (policy["lead_time_weeks_sd"] / policy["lead_time_weeks_mean"]).to_numpy(float)
    weekly = policy["demand_per_week_mean"].to_numpy(float)
    return pd.DataFrame({
        "cycle_weeks": cycle_length_weeks(weekly, policy["eoq"].to_numpy(float),
                                          policy["review_period_weeks"].to_numpy(float)),
        "lead_cv": lead_cv, "volume": history[:, -52:].mean(axis=1), "cv2": cv2, "adi": adi,
        "orders_26": nonzero[:, -26:].sum(axis=1).astype(float), "target": world.target})


LOGGED = ("cycle_weeks", "volume", "cv2", "adi")   # skewed attributes enter the regression as log(x + small)


def attribute_tables(frame: pd.DataFrame, attributes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Step 6 (a) quintile tables and (b) the per-class weighted least-squares fit; ``frame`` the judged SKUs
    (index = world row) with class, product_class, gap, cycles."""
    frame = frame.drop(columns=[c for c in attributes.columns if c in frame]).join(attributes).replace([np.inf, -np.inf], np.nan)
    frame = frame[np.isfinite(frame["gap"])]
    names = list(attributes.columns)
    bands = []
    for name in names:
        quintile = frame.groupby("product_class")[name].transform(
            lambda x: pd.qcut(x.rank(method="first"), 5, labels=False) if x.notna().sum() >= 5 else np.nan)
        part = frame.assign(quintile=quintile).dropna(subset=["quintile"])
        grouped = part.groupby(["product_class", "quintile"], observed=True)
        table = pd.DataFrame({"skus": grouped.size(), "low": grouped[name].min(), "high": grouped[name].max(),
                              "gap": grouped["gap"].mean(), "miss": grouped["gap"].apply(lambda g: g.abs().mean())})
        bands.append(table.assign(attribute=name).set_index("attribute", append=True))
    fits = []
    for name, part in frame.groupby("product_class"):
        part = part.dropna(subset=names)
        if len(part) < 30:
            continue
        x = np.column_stack([np.log(part[c] + 0.05) if c in LOGGED else part[c] for c in names]).astype(float)
        spread = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        design = np.column_stack([np.ones(len(part)), x])
        weight = np.sqrt(part["cycles"].to_numpy(float))   # per-SKU gaps over more cycles are less noisy
        y = part["gap"].to_numpy(float)
        coef, *_ = np.linalg.lstsq(design * weight[:, None], y * weight, rcond=None)
        residual = y - design @ coef
        total = np.average((y - np.average(y, weights=weight**2)) ** 2, weights=weight**2)
        target = part["target"].to_numpy(float)
        noise = 100 * np.sqrt(2 / np.pi * target * (1 - target) / np.maximum(part["cycles"].to_numpy(float), 1))
        row = {"skus": len(part), "mean_gap": y.mean(), "miss": np.abs(y).mean(), "noise_floor": noise.mean(),
               "miss_class_offset": np.abs(y - np.average(y, weights=weight**2)).mean(),
               "miss_attributes": np.abs(residual).mean(),
               "r2": 1 - np.average(residual**2, weights=weight**2) / total}
        # beside it the oracle the product does not have: the SKU's own level error log r alone
        level = np.column_stack([np.ones(len(part)), np.log(np.clip(part["r"].to_numpy(float), 0.05, None))])
        level_coef, *_ = np.linalg.lstsq(level * weight[:, None], y * weight, rcond=None)
        level_residual = y - level @ level_coef
        row["r2_level_error"] = 1 - np.average(level_residual**2, weights=weight**2) / total
        row["miss_level_error"] = np.abs(level_residual).mean()
        row.update({f"b_{c}": b for c, b in zip(names, coef[1:])})
        fits.append(pd.Series(row, name=name))
    return {"attribute_quintiles": pd.concat(bands).sort_index(), "attribute_regression": pd.DataFrame(fits)}


def level_error_sources(world: clw.World, policy: pd.DataFrame, frame: pd.DataFrame, workdir: Path,
                        policy_db: Path | None) -> dict[str, pd.DataFrame]:
    """Step 4: trending by forecast model x growth sign; true lumpy by orders seen in 26 weeks."""
    import duckdb

    with duckdb.connect(str(policy_db or workdir / "safestock.duckdb"), read_only=True) as con:
        model = con.execute("select sku, any_value(model) as model from forecasts "
                            "where run_id = (select max(run_id) from forecasts) group by sku").df()
    model = model.set_index("sku")["model"].reindex(world.skus).to_numpy()
    frame = frame.assign(model=model[frame.index], growth=np.where(world.growth[frame.index] > 0, "+", "-"))
    trending = frame[frame["class"] == "trending"]
    trending = trending.assign(model=trending["model"].where(
        trending["model"].isin(["holt", "holt_damped", "seasonal_ses", "mean"]), "other"))
    start = np.argmax(world.history > 0, axis=1)
    seen = orders_seen(world.history, start)
    lead_rel = (policy["lead_time_weeks_sd"] / policy["lead_time_weeks_mean"]).to_numpy(float) ** 2
    priced = np.sqrt(1.0 / np.maximum(seen, 1) + lead_rel)
    lumpy = frame[frame["class"] == "lumpy"]
    lumpy = lumpy.assign(orders_26_weeks=pd.cut(seen[lumpy.index], [-1, 1, 3, 6, 1000],
                                                labels=["0-1", "2-3", "4-6", "7+"]),
                         priced_c=priced[lumpy.index], zc=(lumpy["r"] - 1) / priced[lumpy.index])
    by_k = gap_table(lumpy, "orders_26_weeks")
    grouped = lumpy.groupby("orders_26_weeks", observed=True)
    by_k["median_r-1"] = grouped["r"].median() - 1
    by_k["priced_c_median"] = grouped["priced_c"].median()
    by_k["sd_(r-1)/c"] = grouped["zc"].std()
    return {"trending_by_model_and_growth": gap_table(trending, ["model", "growth"]),
            "lumpy_by_orders_seen": by_k}


def refit_loop(skus: int, seed: int, paths: int, every: int, workdir: Path,
               policy_db: Path | None) -> pd.DataFrame:
    """Step 5: per true class (and trending by growth sign), cycle service gap to target (points) pooled over
    cycles and the mean per-SKU gap, over ``paths`` future paths replayed with re-forecasting."""
    from safestock.pipelines.config import PipelineConfig

    world = clw.generate_world(skus, seed)
    policy = clw.product_policy(world, seed, workdir, policy_db=policy_db)
    config = PipelineConfig()
    week_starts = pd.date_range(end=clw.AS_OF - pd.Timedelta(days=6) + pd.Timedelta(weeks=FUTURE_WEEKS),
                                periods=clw.HISTORY_WEEKS + FUTURE_WEEKS, freq="7D")
    start = np.argmax(world.history > 0, axis=1)
    group = np.where(world.true_class == "trending", np.where(world.growth > 0, "trending+", "trending-"),
                     world.true_class)
    parts = []
    for path in range(paths):
        rng = np.random.default_rng(clw.SEED_FAMILY + 700 + 10 * seed + path)
        future = clw.sample_weeks(world, np.arange(clw.HISTORY_WEEKS, clw.HISTORY_WEEKS + FUTURE_WEEKS), rng)
        forecast_fn = periodic_forecast_fn(
            engine_forecast_fn(config.horizon_weeks, **config.forecast.engine_options(week_starts)), every)
        replay = backtest_policy(
            np.concatenate([world.history, future], axis=1), start,
            policy["demand_class"].fillna("inactive").to_numpy(), world.target,
            policy["lead_time_weeks_mean"].to_numpy(float), policy["lead_time_weeks_sd"].to_numpy(float),
            policy["review_period_weeks"].to_numpy(float), config.policy, weeks=FUTURE_WEEKS - 13,
            forecast_fn=forecast_fn, unit_cost=np.full(skus, 20.0), per_sku=True, seed=path).reset_index(drop=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = 100 * (replay["ok"] / replay["cycles"].where(replay["cycles"] > 0) - world.target)
        parts.append(pd.DataFrame({"class": world.true_class, "group": group, "target": world.target,
                                   "ok": replay["ok"], "cycles": replay["cycles"], "gap": gap}))
    frame = pd.concat(parts)
    out = []
    for key in ("class", "group"):
        grouped = frame.groupby(key)
        out.append(pd.DataFrame({
            "gap_cycle_w": 100 * (grouped["ok"].sum() / grouped["cycles"].sum() - grouped["target"].mean()),
            "gap_sku_w": grouped["gap"].mean(), "cycles_per_path": grouped["cycles"].sum() / paths}))
    table = pd.concat(out)
    return table[~table.index.duplicated()]


def main(argv: list[str] | None = None) -> dict[str, pd.DataFrame]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--warmup", type=int, default=26)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--policy-from", type=Path, default=None)
    parser.add_argument("--refit-paths", type=int, default=0, help="closed loop with re-forecasting: future paths")
    parser.add_argument("--attributes", action="store_true", help="per-SKU gap by the SKU attributes (item 6)")
    parser.add_argument("--refit-every", type=int, default=4, help="weeks between re-forecasts in that loop")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 220)
    with tempfile.TemporaryDirectory(prefix="closed_loop_diag_") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        tables = run(args.skus, args.replications, args.weeks, args.warmup, args.seed, workdir, args.policy_from,
                     args.attributes)
        if args.refit_paths > 0:
            tables[f"refit_loop_every_{args.refit_every}_weeks"] = refit_loop(
                args.skus, args.seed, args.refit_paths, args.refit_every, workdir, args.policy_from)
    print(f"## Closed-loop diagnosis: {args.skus:,} SKUs x {args.replications} replications x {args.weeks} weeks, "
          f"seed {clw.SEED_FAMILY + args.seed} (gaps in points, r = run mu_P / true mu_P)\n")
    for name, table in tables.items():
        print(f"### {name}\n\n{table.round(3).to_string()}\n")
    return tables


if __name__ == "__main__":
    main()
