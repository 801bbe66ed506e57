# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Service level vs safety stock
#
# How much stock does each extra point of service cost? For the SKUs of the latest succeeded
# run, the policy is recomputed as the flow computes it - `build_planning_inputs` (the flow's
# `planning_inputs_task`) then `compute_policy` (its `policy_task`), both from
# `safestock.models.inventory` - at a sweep of service-level targets, from the run's stored
# forecasts, demand history, lead times, items and suppliers. The curve of **total safety-stock value vs target** is shown
# per ABC class, next to the run's actual targets (A 98 %, B 95 %, C 90 % by default).
#
# On a subset of SKUs the **achieved** service is then measured with the vectorised Monte Carlo
# of `safestock.models.inventory.simulation` (`simulate_policy`): each SKU gets stationary weekly demand
# with its forecast's mean, sd and distribution family, and gamma lead times with its estimated
# lead-time mean and sd (whole weeks), as in `simulation.evaluate_policy`.
#
# * Database: env `SAFESTOCK_DB` (default `demo_output/safestock.duckdb`), read through
#   `safestock.pipelines.results`, read-only, closed right after loading. Nothing is written anywhere.
# * Change the sweep, the subset size or the simulated years in the next cell.
# * The target type (cycle service P1 or fill rate P2) is the run's `service_level_type`.

# %%
import dataclasses
import time

import duckdb
import numpy as np
import pandas as pd
import plotly.express as px
from safestock.models.inventory import LeadTimes, build_planning_inputs, compute_policy
from safestock.models.inventory.calibration import calibrated_levels, offsets_from_table, sku_groups
from safestock.models.inventory.policy import policy_lead_times, service_levels
from safestock.models.inventory.simulation import (
    DemandModel,
    discrete_lead_time_pmf,
    pmf_moments,
    sample_demand,
    simulate_policy,
)
from safestock.pipelines.results import (
    default_db_path,
    read_demand_matrix,
    read_run,
    read_run_table,
    run_config,
)

SERVICE_LEVELS = [0.80, 0.85, 0.90, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995]
SIM_SKUS_PER_CLASS = 8        # simulated SKUs per ABC class (highest demand value first)
SIM_YEARS = 10                # simulated years per SKU (after a 52-week warm-up)
SEED = 0
RUN_ID = None                 # None = latest succeeded run


DB_PATH = default_db_path()   # $SAFESTOCK_DB, else demo_output/safestock.duckdb
print(f"database: {DB_PATH}")

# %% [markdown]
# ## Load the run's inputs to the policy
#
# Through `safestock.pipelines.results`: the run's demand matrix (`read_demand_matrix`, as the
# flow's weekly-demand task builds it: its SKUs and the history `compute_policy` takes),
# `forecasts` (weekly mean and sd per step), `lead_times`, `items_snapshot`,
# `suppliers_snapshot`, `sku_class` (ABC) and the stored `inventory_policy`; the policy settings
# are the run's (`run_config`). `build_planning_inputs` aligns items, suppliers and lead times to
# the demand matrix's SKUs, as in the flow (the stock and open orders it also takes are not
# needed for a policy; nor are the per-supplier lead-time figures, which only date open orders).
#
# The forecast *family* (normal or count) is not a column of `forecasts`; it is read back from
# `inventory_policy.method` (`cycle/negbin+undershoot` -> count). Discontinued and no-demand SKUs
# get no stock whatever the family.

# %%
con = duckdb.connect(str(DB_PATH), read_only=True)
try:
    run = read_run(con, RUN_ID)
    run_id = run["run_id"]
    demand = read_demand_matrix(con, run)
    forecasts = read_run_table(con, "forecasts", run_id)
    stored_policy = read_run_table(con, "inventory_policy", run_id)
    lead_per_sku = read_run_table(con, "lead_times", run_id)
    items = read_run_table(con, "items_snapshot", run_id)
    suppliers = read_run_table(con, "suppliers_snapshot", run_id)
    sku_class = read_run_table(con, "sku_class", run_id)
    calibration = read_run_table(con, "service_calibration", run_id)
finally:
    con.close()

config = run_config(run).policy
skus = demand.skus.astype(str)
stored_policy = stored_policy.set_index("sku").reindex(skus).reset_index()
print(f"run {run_id} as of {pd.Timestamp(run['as_of']).date()}: {len(skus)} SKUs, "
      f"service level type {config.service_level_type!r}, targets by ABC {config.service_level_by_abc}")

mean = forecasts.pivot(index="sku", columns="step", values="mean").reindex(skus).to_numpy()
sd = forecasts.pivot(index="sku", columns="step", values="sd").reindex(skus).to_numpy()
method = stored_policy["method"].astype(str)
family = np.where(method.str.contains("negbin"), "negbin",
                  np.where(method.str.contains("poisson"), "poisson", "normal"))
classes = sku_class.set_index("sku").reindex(skus)
abc = classes["abc"].to_numpy(dtype=str)
demand_class = classes["demand_class"].to_numpy(dtype=str)
lead_times = LeadTimes(per_sku=lead_per_sku, per_supplier=pd.DataFrame())
inputs = build_planning_inputs(skus, items, suppliers, lead_times)
unit_cost = inputs.unit_cost
history = {"history": demand.quantity, "start": demand.start,
           # the window model's n_e per SKU that the flow took from the forecast (inf: none)
           "level_error_weeks": stored_policy["level_error_weeks"].to_numpy(dtype=float)}

# %% [markdown]
# ## Check: the recomputed policy equals the stored one
#
# With the run's own targets `compute_policy` must reproduce `inventory_policy` (difference 0);
# otherwise the code changed since the run, and the sweep below describes the new code.

# %%
# The run's service calibration (empty when off): each SKU's s and S were set at the nominal level
# its (class, group) needed in the replay to reach its target, as the flow's policy-backtest task computes it.
lead_mean, lead_sd = policy_lead_times(inputs, config)
groups = sku_groups(mean.mean(axis=1), inputs.unit_cost, inputs.review_period_weeks, lead_mean, lead_sd, config)
nominal_level = (calibrated_levels(service_levels(inputs.service_level, abc, config), demand_class, groups,
                                   offsets_from_table(calibration)) if len(calibration) else None)
current = compute_policy(inputs, mean, sd, family, demand_class, abc, config, nominal_level=nominal_level, **history)
diff = np.nanmax(np.abs(current["reorder_point"].to_numpy() - stored_policy["reorder_point"].to_numpy()))
print(f"max |recomputed - stored reorder point| = {diff:.3g} units")
stocked = ~current["method"].isin(["discontinued", "no_demand"]).to_numpy()
print(f"{int(stocked.sum())} stocked SKUs, {int((~stocked).sum())} discontinued / without demand")

# %% [markdown]
# ## The sweep
#
# Every SKU gets the same target (the item's `service_level` overrides the ABC defaults, as in
# `compute_policy`: here `PlanningInputs.service_level`), for each value in `SERVICE_LEVELS`. Safety stock = reorder
# point - mean demand over lead time + review period; its value = units x unit cost. The sweep sets
# s and S at each target itself (no service calibration): it shows the model's own trade-off curve.

# %%
started = time.perf_counter()
sweep = []
for level in SERVICE_LEVELS:
    targets = dataclasses.replace(inputs, service_level=np.full(len(skus), level))
    policy = compute_policy(targets, mean, sd, family, demand_class, abc, config, **history)
    sweep.append(policy.assign(target=level, abc=abc, unit_cost=unit_cost, stocked=stocked,
                               safety_stock_value=policy["safety_stock"] * unit_cost,
                               reorder_point_value=policy["reorder_point"] * unit_cost))
sweep = pd.concat(sweep, ignore_index=True)
print(f"{len(SERVICE_LEVELS)} policies x {len(skus)} SKUs: {time.perf_counter() - started:.2f} s")

by_class = sweep[sweep["stocked"]].groupby(["target", "abc"]).agg(
    skus=("sku", "size"), safety_stock_value=("safety_stock_value", "sum"),
    reorder_point_value=("reorder_point_value", "sum")).reset_index()
actual = current.assign(abc=abc, safety_stock_value=current["safety_stock"] * unit_cost)[stocked]
actual = actual.groupby("abc").agg(target=("service_level", "mean"),
                                   safety_stock_value=("safety_stock_value", "sum")).reset_index()
by_class.pivot(index="target", columns="abc", values="safety_stock_value").round(0)

# %%
fig = px.line(by_class, x="target", y="safety_stock_value", color="abc", markers=True,
              category_orders={"abc": ["A", "B", "C"]},
              labels={"target": f"target ({config.service_level_type})",
                      "safety_stock_value": "safety stock value"},
              title="Safety-stock value vs service-level target, per ABC class (diamonds: run's targets)")
fig.add_scatter(x=actual["target"], y=actual["safety_stock_value"], mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": "black"}, name="current policy",
                text=actual["abc"])
fig.update_layout(height=450)
fig.show()

# %% [markdown]
# ## Achieved service on a simulated subset
#
# `SIM_SKUS_PER_CLASS` stocked SKUs per ABC class. For each SKU: weekly demand with the mean and
# the root-mean-square sd of its forecast over the horizon, family as forecast (normal demand is
# truncated at 0, which adds a little mean for very variable SKUs); lead time = gamma with the
# SKU's estimated mean and CV rounded to whole weeks (`discrete_lead_time_pmf`); the review
# period rounded to whole weeks. The policy is recomputed for these stationary inputs at each
# target (the subset's planning inputs with those lead times and review periods) and run through `simulate_policy` on the **same** demand and lead-time draws for every
# target (common random numbers, so the curve is smooth).

# %%
started = time.perf_counter()
rng = np.random.default_rng(SEED)
weeks = 52 + 52 * SIM_YEARS
pick = (
    pd.DataFrame({"sku": skus, "abc": abc, "value": classes["demand_value"].to_numpy(), "row": np.arange(len(skus))})
    [stocked & (np.nanmean(mean, axis=1) > 0)]
    .sort_values("value", ascending=False).groupby("abc").head(SIM_SKUS_PER_CLASS).sort_values("row")
)
rows = pick["row"].to_numpy()
n = rows.size
weekly_mean = np.nanmean(mean[rows], axis=1)
weekly_sd = np.sqrt(np.nanmean(sd[rows] ** 2, axis=1))
sim_family = family[rows]
review_weeks = np.maximum(np.rint(inputs.review_period_weeks[rows]), 1).astype(int)

demand = np.empty((n, weeks))
lead_draws = np.empty((n, weeks), dtype=np.int64)
lead_mean = np.empty(n)
lead_sd = np.empty(n)
for j in range(n):
    if sim_family[j] == "normal":
        model = DemandModel("normal", weekly_mean[j], weekly_sd[j], "normal")
    elif weekly_sd[j] ** 2 > weekly_mean[j] * (1 + 1e-9):
        model = DemandModel("negbin", weekly_mean[j], weekly_sd[j], "negbin")
    else:
        model = DemandModel("poisson", weekly_mean[j], np.sqrt(weekly_mean[j]), "poisson")
    demand[j] = sample_demand(model, 1, weeks, rng)[0]
    mu = float(np.nan_to_num(inputs.lead_time_weeks_mean[rows[j]], nan=config.fallback_lead_time_days / 7))
    sigma = float(np.nan_to_num(inputs.lead_time_weeks_sd[rows[j]], nan=0.0))
    pmf = discrete_lead_time_pmf(mu, sigma / mu if mu > 0 else 0.0)
    lead_mean[j], lead_sd[j] = pmf_moments(pmf)
    lead_draws[j] = rng.choice(len(pmf), size=weeks, p=pmf)

sim_inputs = dataclasses.replace(build_planning_inputs(skus[rows], items, suppliers, lead_times),
                                 lead_time_weeks_mean=lead_mean, lead_time_weeks_sd=lead_sd,
                                 review_period_weeks=review_weeks.astype(float))
horizon = mean.shape[1]
flat_mean = np.repeat(weekly_mean[:, None], horizon, axis=1)
flat_sd = np.repeat(weekly_sd[:, None], horizon, axis=1)

simulated = []
for level in SERVICE_LEVELS:
    sim_policy = compute_policy(dataclasses.replace(sim_inputs, service_level=np.full(n, level)), flat_mean, flat_sd,
                                sim_family, demand_class[rows], abc[rows], config)
    for r in np.unique(review_weeks):
        part = review_weeks == r
        res = simulate_policy(sim_policy["reorder_point"].to_numpy()[part], sim_policy["order_up_to"].to_numpy()[part],
                              demand[part], lead_draws[part], review_period_weeks=int(r))
        simulated.append(pd.DataFrame({
            "target": level, "sku": skus[rows][part], "abc": abc[rows][part], "demand": res.demand,
            "served": res.served, "cycles": res.cycles, "cycles_ok": res.cycles_without_stockout,
            "mean_on_hand_value": res.mean_on_hand * unit_cost[rows][part],
            "safety_stock_value": sim_policy["safety_stock"].to_numpy()[part] * unit_cost[rows][part],
        }))
simulated = pd.concat(simulated, ignore_index=True)
print(f"simulated {n} SKUs x {len(SERVICE_LEVELS)} targets x {weeks} weeks: {time.perf_counter() - started:.2f} s")


def achieved(frame):
    return pd.Series({
        "skus": frame["sku"].nunique(),
        "cycle_service": frame["cycles_ok"].sum() / max(frame["cycles"].sum(), 1),
        "fill_rate": frame["served"].sum() / max(frame["demand"].sum(), 1e-12),
        "mean_on_hand_value": frame["mean_on_hand_value"].sum(),
    })


achieved_by_class = simulated.groupby(["target", "abc"]).apply(achieved, include_groups=False).reset_index()
achieved_all = simulated.groupby("target").apply(achieved, include_groups=False).reset_index()
achieved_by_class.pivot(index="target", columns="abc", values=["cycle_service", "fill_rate"]).round(3)

# %%
measure = "fill_rate" if config.service_level_type == "fill_rate" else "cycle_service"
fig = px.line(achieved_by_class, x="target", y=measure, color="abc", markers=True,
              category_orders={"abc": ["A", "B", "C"]},
              labels={"target": "target", measure: f"achieved {measure.replace('_', ' ')} (simulated)"},
              title=f"Achieved vs target on {n} simulated SKUs (dashed: achieved = target)")
fig.add_scatter(x=SERVICE_LEVELS, y=SERVICE_LEVELS, mode="lines", line={"dash": "dash", "color": "grey"},
                name="target")
fig.update_layout(height=450)
fig.show()

# %% [markdown]
# ## The trade-off table
#
# One row per target: total safety-stock value of all stocked SKUs (and per ABC class), and the
# achieved cycle service and fill rate of the simulated subset. Safety stock rises with the
# target; the last points of service are the expensive ones.

# %%
table = by_class.pivot(index="target", columns="abc", values="safety_stock_value")
table.columns = [f"ss_value_{c}" for c in table.columns]
table.insert(0, "ss_value", table.sum(axis=1))
table = table.join(achieved_all.set_index("target")[["cycle_service", "fill_rate"]].add_prefix("sim_"))
table.index.name = "service_level"
print(table.reset_index().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
