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
# # 02 · Compare forecast models
#
# Rebuilds the SKU x week demand matrix of the latest succeeded run, re-runs `forecast_demand`
# exactly as the flow does (`pipelines/flow.py`, `forecast_all`: the run's SKU partitions, then
# `merge_forecasts`) and checks the result against the stored `forecasts` and
# `forecast_accuracy` tables. Then it compares the **candidate models**: every candidate's
# rolling-origin backtest RMSSE / bias per SKU, as the engine scored them when it selected a
# model (`ForecastResult.accuracy`), per demand class on a small SKU set (a few SKUs per class).
# Finally it plots history + forecast with the 80 / 95 % bands for one SKU, and shows in one cell
# what another season length does to the backtest errors.
#
# * Database: env `SAFESTOCK_DB` (default `demo_output/safestock.duckdb`), read-only, closed
#   right after loading (`safestock.pipelines.results`). Nothing is written anywhere.
# * Models: `models/forecasting/` (`candidates` lists the models offered per demand group,
#   `backtest` scores and selects, `engine.forecast_demand` runs it all). RMSSE = M5 root mean
#   squared scaled error, averaged over backtest origins; bias = mean(forecast - actual) / mean
#   training demand (positive = over-forecast).
# * `forecast_demand` runs on **all** SKUs of each partition, as in the flow: classification
#   (ABC), the pooled seasonal profiles, the pooled interval shapes and the shrunk selection
#   scores depend on the whole set, so a subset would not reproduce the stored forecasts. On a
#   very large database that cell takes as long as the flow's forecast step.

# %%
import time

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from safestock.models.demand_matrix import first_forecast_week
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.classify import ERRATIC, INTERMITTENT, LUMPY, SMOOTH
from safestock.models.partition import merge_forecasts, partition_skus
from safestock.pipelines.results import (
    default_db_path,
    read_demand_matrix,
    read_run,
    read_run_table,
    run_config,
)

SKUS_PER_CLASS = 5                                   # SKUs per demand class in the comparison set
CLASSES = (SMOOTH, ERRATIC, INTERMITTENT, LUMPY)     # classes that get model selection
PLOT_SKU = None                                      # None = the highest-value SKU of the set
WEEKS_SHOWN = 104                                    # history weeks in the plot
RUN_ID = None                                        # None = latest succeeded run


DB_PATH = default_db_path()   # $SAFESTOCK_DB, else demo_output/safestock.duckdb
print(f"database: {DB_PATH}")

# %% [markdown]
# ## Load the run
#
# `run_config` rebuilds the settings the run used from its `config` column (history length,
# horizon, partition size, backtest origins and horizon, season length, event calendar), and
# `read_demand_matrix` the demand matrix it forecast from (`build_demand_matrix` over the run's
# SKUs and last complete week, as the flow's weekly-demand task), so the recomputation matches.

# %%
con = duckdb.connect(str(DB_PATH), read_only=True)
try:
    run = read_run(con, RUN_ID)
    run_id = run["run_id"]
    demand = read_demand_matrix(con, run)
    items = read_run_table(con, "items_snapshot", run_id)
    sku_class = read_run_table(con, "sku_class", run_id)
    accuracy_table = read_run_table(con, "forecast_accuracy", run_id)
    coverage_table = read_run_table(con, "forecast_coverage", run_id)
    forecasts_table = read_run_table(con, "forecasts", run_id)
finally:
    con.close()

config = run_config(run)
HORIZON = config.horizon_weeks
FORECAST = config.forecast.engine_options(demand.weeks)   # season_length, ..., week_starts, events
forecasts_table["week"] = pd.to_datetime(forecasts_table["week"])
as_of = pd.Timestamp(run["as_of"])
print(f"run {run_id} as of {as_of.date()}: history {config.history_weeks} weeks, horizon {HORIZON}, "
      f"{config.forecast}")

# %% [markdown]
# ## `forecast_demand` (as the flow calls it)
#
# `forecast_demand(skus, quantity, start, horizon, unit_cost, **engine_options)` on each of the
# run's SKU partitions (`partition_skus`; one partition below `partition_size` SKUs), merged by
# `merge_forecasts`. The check below compares the history length with `sku_class.history_weeks`
# and the recomputed forecasts with the stored `forecasts` table (both differences should be 0).

# %%
unit_cost = items.set_index("sku")["unit_cost"].reindex(demand.skus).to_numpy(dtype=np.float64)
partitions = partition_skus(demand.skus, config.partition_size)


def forecast_like_the_flow(options: dict) -> object:
    """``forecast_demand`` per partition of the run's SKUs, merged (``flow.forecast_all``)."""
    parts = [forecast_demand(demand.skus[rows], demand.quantity[rows], demand.start[rows], HORIZON,
                             unit_cost[rows], **options) for rows in partitions]
    return merge_forecasts(parts, partitions, len(demand.skus))


started = time.perf_counter()
result = forecast_like_the_flow(FORECAST)
print(f"forecast_demand on {len(demand.skus)} SKUs x {len(demand.weeks)} weeks in {len(partitions)} "
      f"partition(s): {time.perf_counter() - started:.2f} s")

stored_mean = forecasts_table.pivot(index="sku", columns="step", values="mean").reindex(demand.skus)
stored_model = forecasts_table.drop_duplicates("sku").set_index("sku")["model"].reindex(demand.skus)
history_check = pd.Series(demand.history_weeks, index=demand.skus) - sku_class.set_index("sku")["history_weeks"]
print(f"SKUs whose history length differs from sku_class: {int((history_check.fillna(1) != 0).sum())}")
print(f"max |recomputed - stored forecast mean|: {np.nanmax(np.abs(result.mean - stored_mean.to_numpy())):.3g}")
print(f"SKUs with a different selected model: {int((result.model != stored_model.to_numpy()).sum())}")

# %% [markdown]
# ## The comparison set
#
# `SKUS_PER_CLASS` SKUs per class in `CLASSES`, highest demand value first (deterministic).
# Replace this cell's rule (e.g. `.sample(SKUS_PER_CLASS, random_state=1)`) to look at others.

# %%
classes = result.classes
chosen = (
    classes[classes["demand_class"].isin(CLASSES)]
    .sort_values("demand_value", ascending=False)
    .groupby("demand_class", sort=False).head(SKUS_PER_CLASS)
)
chosen = chosen.assign(order=chosen["demand_class"].map({c: i for i, c in enumerate(CLASSES)})).sort_values(
    ["order", "demand_value"], ascending=[True, False]).drop(columns="order")
chosen[["sku", "demand_class", "abc", "xyz", "adi", "cv2", "history_weeks", "demand_value"]].round(3)

# %% [markdown]
# ## Candidate models, scored by the backtest
#
# `result.accuracy` holds what the engine's selection saw: one row per SKU and candidate model
# with its backtest RMSSE / MASE / WAPE / bias (means over the rolling origins), whether it was
# `eligible` (valid at every origin the SKU counts and at the final cut) and whether it was
# `selected`. The candidates are `SMOOTH_CANDIDATES` for smooth/erratic SKUs and
# `INTERMITTENT_CANDIDATES` for intermittent/lumpy ones (`models/forecasting/candidates.py`);
# the choice is the smallest RMSSE shrunk toward the class's mean per model, where a single
# model must beat the class's pooled winner over the origins (`models/forecasting/backtest.py`,
# docs/forecasting.md §3). The stored `forecast_accuracy` table is the same frame without
# `eligible`; the check compares them row by row.

# %%
all_scores = result.accuracy.merge(classes[["sku", "demand_class"]], on="sku")
table_check = all_scores.merge(accuracy_table[["sku", "model", "rmsse", "selected"]], on=["sku", "model"],
                               how="outer", suffixes=("", "_table"), indicator=True)
both = table_check[table_check["_merge"] == "both"]
rows_only_recomputed = int((table_check["_merge"] == "left_only").sum())
rows_only_stored = int((table_check["_merge"] == "right_only").sum())
rmsse_delta = float(np.nanmax(np.abs(both["rmsse"] - both["rmsse_table"]))) if both["rmsse"].notna().any() else 0.0
same_selection = bool(rows_only_recomputed == rows_only_stored == 0
                      and (both["selected"] == both["selected_table"]).all())
print(f"recomputed vs stored forecast_accuracy: rows only recomputed {rows_only_recomputed}, only stored "
      f"{rows_only_stored}, max |delta rmsse| = {rmsse_delta:.3g}, same selection: {same_selection}")
recomputed = all_scores[all_scores["sku"].isin(chosen["sku"])]

# %% [markdown]
# ## Backtest errors per class and candidate
#
# Mean RMSSE (lower is better) and mean bias of every candidate over the comparison set, and how
# often each candidate was selected. Ineligible candidates (not enough history at an origin,
# e.g. seasonal models with < 2 seasons) are excluded from the means.

# %%
eligible = recomputed[recomputed["eligible"]]
per_class = eligible.groupby(["demand_class", "model"]).agg(
    skus=("sku", "size"), rmsse=("rmsse", "mean"), bias=("bias", "mean"), wape=("wape", "mean"),
    selected=("selected", "sum"))
per_class.round(3)

# %% [markdown]
# The stored `forecast_accuracy` over **all** SKUs (selected model only) and the interval
# coverage of the backtest (`forecast_coverage`; the targets are 0.80 and 0.95): weekly bands
# (plain and by the PIT, which is the fair measure for count forecasts of mostly-zero weeks),
# totals over 1–13-week windows, and the fitted `level_error_weeks` of the window model that
# the safety stock uses (docs/forecasting.md §5).

# %%
selected_all = accuracy_table[accuracy_table["selected"]].merge(sku_class[["sku", "demand_class"]], on="sku")
overall = selected_all.groupby("demand_class").agg(
    skus=("sku", "size"), rmsse=("rmsse", "mean"), wape=("wape", "mean"), bias=("bias", "mean"))
overall.join(coverage_table.set_index("demand_class")[
    ["coverage80", "coverage95", "pit_coverage80", "pit_coverage95", "window_coverage80",
     "window_coverage95", "level_error_weeks"]]).round(3)

# %% [markdown]
# ## History, forecast and 80 / 95 % bands for one SKU
#
# Bands and mean come from `forecast_demand` (identical to the stored `forecasts` table); the
# table below the plot lists every candidate's backtest scores for the SKU. Set `PLOT_SKU` in
# the first cell to any SKU id.

# %%
plot_sku = PLOT_SKU or str(chosen["sku"].iloc[0])
i = int(np.flatnonzero(demand.skus == plot_sku)[0])
future = pd.date_range(first_forecast_week(as_of), periods=HORIZON, freq="7D")
n_weeks = len(demand.weeks)
shown = slice(max(n_weeks - WEEKS_SHOWN, int(demand.start[i])), n_weeks)
fig = go.Figure()
fig.add_trace(go.Scatter(x=demand.weeks[shown], y=demand.quantity[i, shown], name="history",
                         line={"color": "black"}))
for lo, hi, label, alpha in ((result.lo95, result.hi95, "95 %", 0.15), (result.lo80, result.hi80, "80 %", 0.3)):
    fig.add_trace(go.Scatter(x=np.r_[future, future[::-1]], y=np.r_[hi[i], lo[i][::-1]], fill="toself",
                             fillcolor=f"rgba(31,119,180,{alpha})", line={"width": 0}, name=label))
fig.add_trace(go.Scatter(x=future, y=result.mean[i], name=f"forecast ({result.model[i]})",
                         line={"color": "rgb(31,119,180)", "width": 3}))
cls = classes.set_index("sku").loc[plot_sku]
fig.update_layout(title=f"{plot_sku}: {cls['demand_class']}, ABC {cls['abc']}, selected {result.model[i]}",
                  xaxis_title="week", yaxis_title="units", height=450)
fig.show()
all_scores[all_scores["sku"] == plot_sku].drop(columns=["sku", "demand_class"]).round(3)

# %% [markdown]
# ## Try a change
#
# `SEASON_LENGTH`: `forecast_demand` re-run on all SKUs with another season length; mean RMSSE
# of the selected model per class, and how often `seasonal_ses` is selected, before and after.
#
# To change a model itself (e.g. the SES alpha grid `SES_ALPHAS` in
# `models/forecasting/smoothing.py`, or a list in `models/forecasting/candidates.py`), edit the
# code under `models/forecasting/` and re-run this notebook: every cell above calls that code,
# so the checks against the stored run and the second table below (this code vs the stored
# run, per class) show what the edit changed.

# %%
SEASON_LENGTH = 26

started = time.perf_counter()
trial_result = forecast_like_the_flow({**FORECAST, "season_length": SEASON_LENGTH})
print(f"forecast_demand with season_length={SEASON_LENGTH}: {time.perf_counter() - started:.2f} s")


def selected_rmsse(accuracy: pd.DataFrame) -> pd.Series:
    """Mean backtest RMSSE of the selected model per demand class."""
    picked = accuracy[accuracy["selected"]].merge(classes[["sku", "demand_class"]], on="sku")
    return picked.groupby("demand_class")["rmsse"].mean().reindex(list(CLASSES))


demand_class = classes["demand_class"].to_numpy()
season_change = pd.DataFrame({
    f"rmsse_m{FORECAST['season_length']}": selected_rmsse(result.accuracy),
    f"rmsse_m{SEASON_LENGTH}": selected_rmsse(trial_result.accuracy),
    "seasonal_ses_selected_before": pd.Series(result.model == "seasonal_ses").groupby(demand_class).sum(),
    "seasonal_ses_selected_after": pd.Series(trial_result.model == "seasonal_ses").groupby(demand_class).sum(),
}).reindex(list(CLASSES))
code_vs_stored = pd.DataFrame({
    "rmsse_stored": selected_rmsse(accuracy_table),
    "rmsse_this_code": selected_rmsse(result.accuracy),
    "skus_other_model": pd.Series(result.model != stored_model.to_numpy()).groupby(demand_class).sum(),
}).reindex(list(CLASSES))
season_change.round(3)

# %%
code_vs_stored.round(3)

# %% [markdown]
# ## Summary
#
# Mean backtest RMSSE of each candidate per class on the comparison set (`NaN` = the candidate
# does not apply to the class), the season-length experiment, and the check of the recomputed
# backtest scores against the stored run. Printed as text.

# %%
summary = per_class["rmsse"].unstack("model").reindex(list(CLASSES))
print(summary.round(3).to_string())
print()
print(season_change.round(3).to_string())
print(f"\nrecomputed forecast_demand vs stored forecast_accuracy: max |delta rmsse| = {rmsse_delta:.3g}, "
      f"same selection: {same_selection}")
