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
# # 01 · Demand history and demand classes
#
# What the weekly flow saw for every SKU in its **latest succeeded run**: the weekly demand
# history (`sales_weekly`), the Syntetos–Boylan demand class with its ADI / CV² (`sku_class`),
# the ABC/XYZ classes, and a few example series per class.
#
# * Database: env `SAFESTOCK_DB` (default `demo_output/safestock.duckdb`, written by `make demo`),
#   opened **read-only** and closed right after loading (an open connection would block the
#   next pipeline write).
# * Definitions live in `models/forecasting/classify.py` (ADI = history weeks / weeks with
#   demand; CV² = squared coefficient of variation of the non-zero sizes; cut-offs 1.32 / 0.49).
# * Everything below runs top to bottom with no hidden state; change the parameters in the next
#   cell and re-run all.

# %%
import duckdb
import numpy as np
import pandas as pd
import plotly.express as px
from safestock.models.forecasting.classify import ADI_CUTOFF, CV2_CUTOFF, DEMAND_CLASSES
from safestock.pipelines.results import (
    default_db_path,
    read_demand_matrix,
    read_run,
    read_run_table,
    read_runs,
)

EXAMPLES_PER_CLASS = 3      # example SKUs plotted per demand class
WEEKS_SHOWN = 104           # weeks of history in the example plots
RUN_ID = None               # None = latest succeeded run; or a run_id from the `runs` table


DB_PATH = default_db_path()   # $SAFESTOCK_DB, else demo_output/safestock.duckdb
print(f"database: {DB_PATH}")

# %% [markdown]
# ## Load the run and its tables
#
# `runs` holds one row per attempt; the newest succeeded run is the one the reports show.
# `read_demand_matrix` rebuilds the SKU x week demand matrix the run forecast from, as the flow
# builds it (`build_demand_matrix` over the run's SKUs, cut at its last complete ISO week and
# `history_weeks`; weeks without sales are 0 from each SKU's first sale on). `sales_weekly` has
# no `run_id` (the newest data wins).

# %%
con = duckdb.connect(str(DB_PATH), read_only=True)
try:
    runs = read_runs(con)
    run = read_run(con, RUN_ID)
    sku_class = read_run_table(con, "sku_class", run["run_id"])
    demand = read_demand_matrix(con, run)
finally:
    con.close()

history = demand.to_long()   # sku, week, quantity: every history week of every SKU
print(f"run {run['run_id']}  as of {pd.Timestamp(run['as_of']).date()}  status {run['status']}")
print(f"{len(sku_class)} SKUs classified, {len(history):,} SKU-weeks of history "
      f"({demand.weeks[0].date()} .. {demand.weeks[-1].date()})")
runs[["run_id", "as_of", "status", "skus", "finished_at"]]

# %% [markdown]
# ## Class mix
#
# Count of SKUs and share of annual demand value (`demand_value` = last-52-week demand x 52 x
# unit cost) per demand class. `new` (< 13 weeks of history) and `inactive` (no demand in 26
# weeks) override the four Syntetos–Boylan classes.

# %%
order = [c for c in DEMAND_CLASSES if c in set(sku_class["demand_class"])]
mix = (
    sku_class.groupby("demand_class")
    .agg(skus=("sku", "size"), demand_value=("demand_value", "sum"),
         median_adi=("adi", "median"), median_cv2=("cv2", "median"),
         median_history_weeks=("history_weeks", "median"))
    .reindex(order)
)
mix["share_of_skus"] = mix["skus"] / mix["skus"].sum()
mix["share_of_value"] = mix["demand_value"] / mix["demand_value"].sum()
mix.round(3)

# %% [markdown]
# ## ADI / CV² scatter (Syntetos–Boylan)
#
# Each point is a SKU; the dashed lines are the cut-offs ADI = 1.32 and CV² = 0.49 that split
# smooth / erratic / intermittent / lumpy. The x axis is logarithmic (ADI >= 1). SKUs without
# demand have no ADI and are not shown. Hover for the SKU id.

# %%
scatter = sku_class.dropna(subset=["adi", "cv2"])
fig = px.scatter(
    scatter, x="adi", y="cv2", color="demand_class", symbol="abc",
    category_orders={"demand_class": order, "abc": ["A", "B", "C"]},
    hover_data=["sku", "xyz", "history_weeks", "demand_value"], log_x=True,
    labels={"adi": "ADI (weeks between demands)", "cv2": "CV² of non-zero demand sizes"},
    title=f"Demand classes, run {run['run_id']}",
)
fig.add_vline(x=ADI_CUTOFF, line_dash="dash", line_color="grey", annotation_text=f"ADI {ADI_CUTOFF}")
fig.add_hline(y=CV2_CUTOFF, line_dash="dash", line_color="grey", annotation_text=f"CV² {CV2_CUTOFF}")
fig.update_layout(height=500)
fig.show()

# %% [markdown]
# ## ABC x XYZ
#
# ABC by cumulative share of demand value (A < 80 %, B < 95 %); XYZ by the coefficient of
# variation of weekly demand (X < 0.5, Y < 1). The second table splits the demand classes by ABC.

# %%
abc_xyz = pd.crosstab(sku_class["abc"], sku_class["xyz"], margins=True, margins_name="total")
abc_xyz

# %%
pd.crosstab(sku_class["demand_class"], sku_class["abc"], margins=True, margins_name="total").reindex(
    order + ["total"]
)

# %% [markdown]
# ## Example SKUs per class
#
# The `EXAMPLES_PER_CLASS` SKUs with the highest demand value in each class (a deterministic
# choice, so re-runs show the same series), last `WEEKS_SHOWN` weeks. Change the selection rule
# here (e.g. `.sample(n, random_state=0)`) to browse other series.

# %%
examples = (
    sku_class.sort_values("demand_value", ascending=False)
    .groupby("demand_class", sort=False).head(EXAMPLES_PER_CLASS)
    .sort_values(["demand_class", "demand_value"], ascending=[True, False])
)
recent = history[(history["week"] > demand.weeks[-1] - pd.Timedelta(weeks=WEEKS_SHOWN))
                 & history["sku"].isin(examples["sku"])]
recent = recent.merge(examples[["sku", "demand_class", "abc"]], on="sku")
recent["series"] = recent["sku"] + " (" + recent["abc"] + ")"
fig = px.line(
    recent, x="week", y="quantity", color="series", facet_row="demand_class",
    category_orders={"demand_class": order}, height=220 * max(len(order), 1),
    title=f"Weekly demand, {EXAMPLES_PER_CLASS} example SKUs per class",
)
fig.update_yaxes(matches=None)
fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
fig.show()
examples[["demand_class", "sku", "abc", "xyz", "adi", "cv2", "history_weeks", "demand_value"]].round(3)

# %% [markdown]
# ## Summary
#
# One row per demand class (printed as text so it can be checked without a browser);
# `mean_zero_week_share` = mean over the class's SKUs of the share of history weeks (from the
# first sale) without demand.

# %%
summary = mix[["skus", "share_of_skus", "share_of_value"]].reset_index()
in_history = np.arange(len(demand.weeks))[None, :] >= demand.start[:, None]
with np.errstate(invalid="ignore"):
    zero_share = ((demand.quantity <= 0) & in_history).sum(axis=1) / in_history.sum(axis=1)
zero_weeks = pd.Series(zero_share, index=demand.skus)
summary["mean_zero_week_share"] = (
    sku_class.assign(z=sku_class["sku"].map(zero_weeks)).groupby("demand_class")["z"].mean()
    .reindex(summary["demand_class"]).to_numpy()
)
print(summary.round(3).to_string(index=False))
