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
# Rebuilds the SKU x week demand matrix of the latest succeeded run from `sales_weekly`, re-runs
# `forecast_demand` exactly as the flow does (`pipelines/flow.py`, `forecast_task`), then runs
# the **individual candidate models** on a small SKU set (a few SKUs per demand class) with the
# same rolling-origin backtest the engine uses, and compares their errors with the stored
# `forecast_accuracy` table. Finally it plots history + forecast with the 80 / 95 % bands for
# one SKU, and shows in one cell how to try a change (another SES alpha grid, another season
# length) and see what it does to the backtest errors.
#
# * Database: env `SAFESTOCK_DB` (default `demo_output/safestock.duckdb`), read-only, closed
#   right after loading. Nothing is written anywhere.
# * Models: `models/forecasting/` (`smoothing`, `seasonal`, `intermittent`, `backtest`,
#   `metrics`, `engine`). RMSSE = M5 root mean squared scaled error, averaged over backtest
#   origins; bias = mean(forecast - actual) / mean training demand (positive = over-forecast).
# * `forecast_demand` runs on **all** SKUs of the run: classification (ABC), the pooled seasonal
#   profile and the pooled interval shapes depend on the whole set, so a subset would not
#   reproduce the stored forecasts. On a very large database this cell is the slow one.

# %%
import inspect
import json
import time

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from safestock.models.demand_matrix import build_demand_matrix, last_complete_week
from safestock.models.forecasting import forecast_demand
from safestock.models.forecasting.backtest import select_by_backtest
from safestock.models.forecasting.candidates import (
    INTERMITTENT_CANDIDATES,
    SMOOTH_CANDIDATES,
    backtest_cuts,
    run_candidates,
)
from safestock.models.forecasting.classify import ERRATIC, INTERMITTENT, LUMPY, SMOOTH
from safestock.models.forecasting.events import calendar_factors
from safestock.models.forecasting.metrics import TrainingScales, training_scales
from safestock.models.forecasting.seasonal import seasonal_indices
from safestock.models.forecasting.smoothing import SES_ALPHAS, ses_forecasts
from safestock.pipelines.config import ForecastConfig
from safestock.pipelines.results import default_db_path, read_run

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
# The run's `config` column holds the settings it used (history length, horizon, backtest
# origins and horizon, season length); the notebook re-uses them so the recomputation matches.

# %%
con = duckdb.connect(str(DB_PATH), read_only=True)
try:
    run = read_run(con, RUN_ID)
    run_id = run["run_id"]
    first_week = pd.Timestamp(run["first_forecast_week"])
    sales = con.execute(
        "select sku, week, quantity from sales_weekly where week < ? order by sku, week", [first_week.date()]
    ).df()
    items = con.execute("select * from items_snapshot where run_id = ? order by sku", [run_id]).df()
    sku_class = con.execute("select * from sku_class where run_id = ?", [run_id]).df()
    accuracy_table = con.execute("select * from forecast_accuracy where run_id = ?", [run_id]).df()
    coverage_table = con.execute("select * from forecast_coverage where run_id = ?", [run_id]).df()
    forecasts_table = con.execute("select * from forecasts where run_id = ? order by sku, step", [run_id]).df()
finally:
    con.close()

config = json.loads(run["config"])
HISTORY_WEEKS = int(config.get("history_weeks", 156))
HORIZON = int(config.get("horizon_weeks", run["horizon_weeks"]))
FORECAST_CONFIG = ForecastConfig(**config.get("forecast", {}))
sales["week"] = pd.to_datetime(sales["week"])
forecasts_table["week"] = pd.to_datetime(forecasts_table["week"])
as_of = pd.Timestamp(run["as_of"])
print(f"run {run_id} as of {as_of.date()}: history {HISTORY_WEEKS} weeks, horizon {HORIZON}, {FORECAST_CONFIG}")

# %% [markdown]
# ## Demand matrix and `forecast_demand` (as the flow calls them)
#
# `build_demand_matrix(sales_weekly, skus, last_complete_week(as_of), history_weeks)` and
# `forecast_demand(skus, quantity, start, horizon, unit_cost, ...)`. The check below compares the
# recomputed history length with `sku_class.history_weeks` and the recomputed forecasts with the
# stored `forecasts` table (both differences should be 0).

# %%
skus = items["sku"].to_numpy(dtype=object)
unit_cost = items.set_index("sku")["unit_cost"].reindex(skus).to_numpy(dtype=np.float64)
demand = build_demand_matrix(sales, skus, last_complete_week(as_of), HISTORY_WEEKS)
FORECAST = FORECAST_CONFIG.engine_options(demand.weeks)   # season_length, ..., week_starts, events

started = time.perf_counter()
result = forecast_demand(demand.skus, demand.quantity, demand.start, HORIZON, unit_cost, **FORECAST)
print(f"forecast_demand on {len(skus)} SKUs x {len(demand.weeks)} weeks: {time.perf_counter() - started:.2f} s")

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
# The same steps as `engine._select_group`: backtest cuts (origins + the final cut), training
# scales, every candidate's forecasts from every cut (`run_candidates`, which calls
# `naive_forecasts`, `ses_forecasts`, `robust_ses_forecasts`, `event_ses_forecasts` (SES on demand
# adjusted for calendar events), `holt_damped_forecasts`, `seasonal_ses_forecasts`,
# `croston_sba_forecasts`, `tsb_forecasts`, the combination, ...), then `select_by_backtest`.
# Selection pools information over the SKUs it is given (seasonal profiles shrunk toward the
# pool, scores shrunk toward the class mean of each model), so the models run on the **whole**
# group (all smooth/erratic SKUs, all intermittent/lumpy SKUs) and the results are then sliced
# to the comparison set.
#
# `backtest` maps a group name to its rows in the demand matrix, the candidates (`CutForecasts`:
# `mean[sku, cut, step]`) and the `Selection` (RMSSE/MASE/WAPE/bias per SKU x candidate).

# %%
y_all = demand.quantity
n_columns = y_all.shape[1]
start_all = np.clip(demand.start, 0, n_columns)
y_all = np.where(np.arange(n_columns)[None, :] >= start_all[:, None], np.maximum(y_all, 0.0), 0.0)
cuts = backtest_cuts(n_columns, FORECAST["backtest_origins"], FORECAST["backtest_horizon"])
steps = max(HORIZON, FORECAST["backtest_horizon"])
scales_all = training_scales(y_all, start_all, cuts)
row_of = {sku: i for i, sku in enumerate(demand.skus)}
demand_class = classes["demand_class"].to_numpy()
smooth_rows_all = np.flatnonzero(np.isin(demand_class, (SMOOTH, ERRATIC)))
seasonal_all = None
if smooth_rows_all.size and n_columns >= FORECAST["season_length"]:
    seasonal_all = seasonal_indices(y_all[smooth_rows_all], start_all[smooth_rows_all], cuts,
                                    FORECAST["season_length"])
events_all = None
if smooth_rows_all.size:
    events_all = calendar_factors(y_all[smooth_rows_all], start_all[smooth_rows_all], cuts, steps,
                                  FORECAST["week_starts"], FORECAST["events"])
SELECT_TAKES_GROUPS = "groups" in inspect.signature(select_by_backtest).parameters


def run_group(rows, names, default, extra=None):
    """Candidates and selection for ``rows`` (indices into the demand matrix), like the engine."""
    season = None
    if seasonal_all is not None and "seasonal_ses" in names:
        local = np.searchsorted(smooth_rows_all, rows)
        season = (seasonal_all[0][local], seasonal_all[1][local])
    events = events_all if "ses_events" in names else None   # pooled over the smooth/erratic group
    candidates = run_candidates(names, y_all[rows], start_all[rows], cuts, steps, FORECAST["season_length"], season,
                                events)
    candidates.update(extra or {})
    scales = TrainingScales(scales_all.squared[rows], scales_all.absolute[rows], scales_all.mean_demand[rows])
    options = {"groups": demand_class[rows]} if SELECT_TAKES_GROUPS else {}
    selection = select_by_backtest(y_all[rows], start_all[rows], cuts, FORECAST["backtest_horizon"],
                                   candidates, scales, default, **options)
    return candidates, selection


started = time.perf_counter()
groups = {
    "smooth/erratic": ((SMOOTH, ERRATIC), SMOOTH_CANDIDATES, "ses"),
    "intermittent/lumpy": ((INTERMITTENT, LUMPY), INTERMITTENT_CANDIDATES, "sba"),
}
backtest = {}
for group, (members, names, default) in groups.items():
    rows = np.flatnonzero(np.isin(demand_class, members))
    if rows.size:
        backtest[group] = (rows, *run_group(rows, names, default))
print(f"candidate backtests: {time.perf_counter() - started:.2f} s")


def scores(rows, selection):
    """Long frame sku x candidate of the recomputed backtest scores."""
    n_models = len(selection.names)
    return pd.DataFrame({
        "sku": np.repeat(demand.skus[rows], n_models).astype(str),
        "model": np.tile(np.asarray(selection.names, dtype=object), rows.size),
        "rmsse": selection.rmsse.ravel(), "mase": selection.mase.ravel(),
        "wape": selection.wape.ravel(), "bias": selection.bias.ravel(),
        "eligible": selection.eligible.ravel(),
        "selected": (np.arange(n_models)[None, :] == selection.chosen[:, None]).ravel(),
    })


all_scores = pd.concat([scores(rows, sel) for rows, _, sel in backtest.values()], ignore_index=True)
engine_check = all_scores.merge(result.accuracy, on=["sku", "model"], suffixes=("", "_engine"))
engine_delta = float(np.nanmax(np.abs(engine_check["rmsse"] - engine_check["rmsse_engine"])))
same_selection = bool((engine_check["selected"] == engine_check["selected_engine"]).all())
print(f"candidates vs forecast_demand: max |delta rmsse| = {engine_delta:.3g}, same selection: {same_selection}")
table_check = all_scores.merge(accuracy_table[["sku", "model", "rmsse", "selected"]], on=["sku", "model"],
                               how="outer", suffixes=("", "_table"), indicator=True)
print(f"candidates vs stored forecast_accuracy: rows only recomputed {int((table_check['_merge'] == 'left_only').sum())}, "
      f"only stored {int((table_check['_merge'] == 'right_only').sum())}, "
      f"max |delta rmsse| = {np.nanmax(np.abs(table_check['rmsse'] - table_check['rmsse_table'])):.3g}")
recomputed = all_scores[all_scores["sku"].isin(chosen["sku"])].merge(chosen[["sku", "demand_class"]], on="sku")

# %% [markdown]
# ## Backtest errors per class and candidate
#
# Mean RMSSE (lower is better) and mean bias of every candidate over the comparison set, and how
# often each candidate was selected. Ineligible candidates (not enough history at an origin,
# e.g. seasonal models with < 1 season) are excluded from the means.

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
# Bands and mean come from `forecast_demand` (identical to the stored `forecasts` table). The
# dashed lines are the other candidates' final forecasts (from the last cut). Set `PLOT_SKU`
# in the first cell to any SKU id.

# %%
plot_sku = PLOT_SKU or str(chosen["sku"].iloc[0])
i = row_of[plot_sku]
future = pd.date_range(first_week, periods=HORIZON, freq="7D")
shown = slice(max(n_columns - WEEKS_SHOWN, int(start_all[i])), n_columns)
fig = go.Figure()
fig.add_trace(go.Scatter(x=demand.weeks[shown], y=y_all[i, shown], name="history", line={"color": "black"}))
for lo, hi, label, alpha in ((result.lo95, result.hi95, "95 %", 0.15), (result.lo80, result.hi80, "80 %", 0.3)):
    fig.add_trace(go.Scatter(x=np.r_[future, future[::-1]], y=np.r_[hi[i], lo[i][::-1]], fill="toself",
                             fillcolor=f"rgba(31,119,180,{alpha})", line={"width": 0}, name=label))
fig.add_trace(go.Scatter(x=future, y=result.mean[i], name=f"forecast ({result.model[i]})",
                         line={"color": "rgb(31,119,180)", "width": 3}))
for group, (rows, candidates, selection) in backtest.items():
    if i in rows:
        local = int(np.flatnonzero(rows == i)[0])
        for name, fc in candidates.items():
            if name != result.model[i] and fc.valid[local, -1]:
                fig.add_trace(go.Scatter(x=future, y=fc.mean[local, -1, :HORIZON], name=name,
                                         line={"dash": "dash", "width": 1}))
cls = classes.set_index("sku").loc[plot_sku]
fig.update_layout(title=f"{plot_sku}: {cls['demand_class']}, ABC {cls['abc']}, selected {result.model[i]}",
                  xaxis_title="week", yaxis_title="units", height=450)
fig.show()
recomputed[recomputed["sku"] == plot_sku].drop(columns=["sku", "demand_class"]).round(3)

# %% [markdown]
# ## Try a change
#
# Edit the two parameters and re-run this cell:
#
# * `ALPHAS`: an alternative SES alpha grid, added as an extra candidate `ses_custom` next to the
#   engine's own candidates on the smooth/erratic part of the set (grid of the engine:
#   `smoothing.SES_ALPHAS`). The table shows the SKUs whose selection or error changes.
# * `SEASON_LENGTH`: `forecast_demand` re-run on all SKUs with another season length; mean RMSSE
#   of the selected model per class, before and after.
#
# To change a model for real, edit `models/forecasting/` and re-run this notebook: the cells
# above call the same functions.

# %%
ALPHAS = np.array([0.01, 0.03, 0.05, 0.08, 0.12])
SEASON_LENGTH = 26

experiment = pd.DataFrame()
if "smooth/erratic" in backtest:
    rows, base_candidates, base_selection = backtest["smooth/erratic"]
    custom = ses_forecasts(y_all[rows], start_all[rows], cuts, steps, alphas=ALPHAS)
    _, trial = run_group(rows, SMOOTH_CANDIDATES, "ses", extra={"ses_custom": custom})
    pick = np.arange(rows.size)
    experiment = pd.DataFrame({
        "sku": demand.skus[rows],
        "demand_class": demand_class[rows],
        "selected_before": np.asarray(base_selection.names)[base_selection.chosen],
        "rmsse_before": base_selection.rmsse[pick, base_selection.chosen],
        "selected_after": np.asarray(trial.names)[trial.chosen],
        "rmsse_after": trial.rmsse[pick, trial.chosen],
        "ses_rmsse": trial.rmsse[:, trial.names.index("ses")],
        "ses_custom_rmsse": trial.rmsse[:, trial.names.index("ses_custom")],
    })
    switched = experiment["selected_before"] != experiment["selected_after"]
    print(f"SES grid {SES_ALPHAS.tolist()} + extra candidate 'ses_custom' with {ALPHAS.tolist()}: "
          f"{int(switched.sum())} of {rows.size} smooth/erratic SKUs switch; mean selected RMSSE "
          f"{experiment['rmsse_before'].mean():.3f} -> {experiment['rmsse_after'].mean():.3f}; "
          f"ses_custom beats ses on {int((experiment['ses_custom_rmsse'] < experiment['ses_rmsse']).sum())} SKUs")
    experiment = experiment[switched | experiment["sku"].isin(chosen["sku"])]

started = time.perf_counter()
trial_result = forecast_demand(demand.skus, demand.quantity, demand.start, HORIZON, unit_cost,
                               **{**FORECAST, "season_length": SEASON_LENGTH})
print(f"forecast_demand with season_length={SEASON_LENGTH}: {time.perf_counter() - started:.2f} s")


def selected_rmsse(res):
    acc = res.accuracy[res.accuracy["selected"]].merge(res.classes[["sku", "demand_class"]], on="sku")
    return acc.groupby("demand_class")["rmsse"].mean()


season_change = pd.DataFrame({
    f"rmsse_m{FORECAST['season_length']}": selected_rmsse(result),
    f"rmsse_m{SEASON_LENGTH}": selected_rmsse(trial_result),
}).reindex(list(CLASSES))
season_change["seasonal_ses_selected_before"] = pd.Series(result.model).eq("seasonal_ses").groupby(
    demand_class).sum().reindex(list(CLASSES)).to_numpy()
season_change["seasonal_ses_selected_after"] = pd.Series(trial_result.model).eq("seasonal_ses").groupby(
    demand_class).sum().reindex(list(CLASSES)).to_numpy()
experiment.round(3)

# %% [markdown]
# ## Summary
#
# Mean backtest RMSSE of each candidate per class on the comparison set (`NaN` = the candidate
# does not apply to the class), and the season-length experiment. Printed as text.

# %%
summary = per_class["rmsse"].unstack("model").reindex(list(CLASSES))
print(summary.round(3).to_string())
print()
print(season_change.round(3).to_string())
print(f"\nrecomputed candidates vs forecast_demand: max |delta rmsse| = {engine_delta:.3g}, "
      f"same selection: {same_selection}")
