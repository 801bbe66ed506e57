"""Issue 14: no SKU that sold in the last 26 weeks gets a zero policy (s = S = 0) without a stated
reason. The rule on hand-worked arrays, and a real run on hand-built SKUs: six that sell 0.5-2.5
units a week sporadically get a non-zero policy; the discontinued, the do_not_order override, the
max_stock 0, the quiet and the never-sold SKUs get s = S = 0 with their reason, shown by `safestock explain`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory.zero_policy import weeks_since_last_sale, zero_policy_reasons

QUIET_REASON = "no sales in the last 26 weeks (last sale {} weeks ago)"


def test_weeks_since_last_sale_counts_from_the_last_history_week() -> None:
    history = np.zeros((3, 30))
    history[0, 29] = 2.0          # sold in the last week: 0
    history[1, [3, 10]] = 1.0     # last sale in column 10 of 0..29: 19 weeks ago
    # row 2 never sold: NaN
    assert weeks_since_last_sale(history, np.zeros(3, int)).tolist()[:2] == [0.0, 19.0]
    assert np.isnan(weeks_since_last_sale(history)[2])
    # a sale before the SKU's start is not its history
    assert np.isnan(weeks_since_last_sale(history[1:2], np.array([11]))[0])


def test_every_zero_policy_path_has_its_reason_and_nonzero_policies_none() -> None:
    weeks = 40
    history = np.zeros((8, weeks))
    history[:, -5:] = 1.0                 # rows 0-2, 4-7 sold in the last 5 weeks
    history[3, :] = 0.0
    history[3, 6] = 4.0                   # row 3: last sale in column 6 -> 33 weeks ago
    history[2, :] = 0.0                   # row 2: never sold
    engine = np.ones((8, 4))
    forecast = engine.copy()
    forecast[4] = 0.0                     # row 4: a forecast override set it to 0
    engine[5] = forecast[5] = 0.0         # row 5: the engine itself forecast 0
    forecast[3] = engine[3] = 0.0
    forecast[2] = engine[2] = 0.0
    order_up_to = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0])
    item_discontinued = np.array([True, False, False, False, False, False, False, False])
    discontinued = np.array([True, True, False, False, False, False, False, False])  # row 1: do_not_order
    protection = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 5.0])                 # row 6: L + R = 0
    reasons = zero_policy_reasons(order_up_to, item_discontinued, discontinued, history, np.zeros(8, int),
                                  engine, forecast, protection)
    assert reasons.tolist() == ["discontinued", "do_not_order override", "never sold", QUIET_REASON.format(33),
                                "forecast overridden to 0", "zero forecast",
                                "zero protection interval (lead time + review = 0)", None]
    # row 7 capped from S = 7 to 0 by a max_stock override; row 6 had S = 0 before the limits too
    capped = zero_policy_reasons(np.zeros(8), item_discontinued, discontinued, history, np.zeros(8, int), engine,
                                 forecast, protection, policy_order_up_to=order_up_to)
    assert capped.tolist()[6:] == ["zero protection interval (lead time + review = 0)", "max_stock override"]


def _sporadic_history(rate: float, weeks: int, rng: np.random.Generator) -> np.ndarray:
    """Sales on ~35 % of weeks, sizes 1 + Poisson, mean ``rate`` units a week; at least one sale
    in the last 26 weeks (redrawn until so)."""
    chance = 0.35
    while True:
        sold = rng.random(weeks) < chance
        sizes = 1 + rng.poisson(max(rate / chance - 1.0, 0.0), weeks)
        history = np.where(sold, sizes, 0).astype(float)
        if history[-26:].sum() > 0:
            return history


def _hand_built_inputs(folder: Path) -> dict[str, object]:
    """Six sporadic SKUs (0.5-2.5 units a week), four steady ones, and one SKU per zero path."""
    rng = np.random.default_rng(1414)
    weeks = 130
    as_of = pd.Timestamp("2026-06-28")             # a Sunday: the last complete week starts 06-22
    mondays = pd.date_range(end=as_of - pd.Timedelta(days=6), periods=weeks, freq="7D")
    rates = {f"SPORADIC-{i + 1}": rate for i, rate in enumerate((0.5, 0.9, 1.3, 1.7, 2.1, 2.5))}
    history = {sku: _sporadic_history(rate, weeks, rng) for sku, rate in rates.items()}
    for i in range(4):
        history[f"STEADY-{i + 1}"] = rng.poisson(12.0, weeks).astype(float)
    history["DISC"] = rng.poisson(5.0, weeks).astype(float)
    history["STOP"] = rng.poisson(5.0, weeks).astype(float)
    history["CAPPED"] = rng.poisson(5.0, weeks).astype(float)
    quiet = rng.poisson(3.0, weeks).astype(float)
    quiet[-40:] = 0.0
    quiet[-41] = 2.0                                 # last sale 40 weeks before the last week
    history["QUIET"] = quiet
    skus = list(history) + ["NEVER"]
    sales = pd.DataFrame([{"date": day.date(), "sku": sku, "quantity": int(q)}
                          for sku, series in history.items() for day, q in zip(mondays, series) if q > 0])
    items = pd.DataFrame({"sku": skus, "supplier_id": "SUP-1", "unit_cost": 10.0, "pack_size": 1, "moq": 0,
                          "description": [f"item {s}" for s in skus], "service_level": 0.95,
                          "status": ["discontinued" if s == "DISC" else "active" for s in skus]})
    suppliers = pd.DataFrame({"supplier_id": ["SUP-1"], "name": ["Hand-built supplier"], "lead_time_days": [28],
                              "review_period_days": [7], "min_order_value": [0.0]})
    inventory = pd.DataFrame({"sku": skus, "on_hand": 3, "as_of": as_of.date(), "backordered": 0})
    purchase_orders = pd.DataFrame(columns=["po_id", "sku", "supplier_id", "quantity", "order_date",
                                            "expected_date", "received_date", "received_quantity", "status"])
    for name, frame in (("sales", sales), ("items", items), ("suppliers", suppliers), ("inventory", inventory),
                        ("purchase_orders", purchase_orders)):
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "overrides.csv").write_text("scope,key,kind,value,start,end,note\nsku,STOP,do_not_order,,,,phase-out\n"
                                          "sku,CAPPED,max_stock,0,,,no shelf\n")
    return {"rates": rates, "history": history}


@pytest.mark.slow
def test_sporadic_sellers_get_a_policy_and_every_zero_policy_says_why(prefect_harness: None, tmp_path: Path) -> None:
    import duckdb
    from safestock.pipelines.cli import app
    from safestock.pipelines.flow import weekly_run
    from typer.testing import CliRunner

    folder = tmp_path / "input"
    folder.mkdir()
    built = _hand_built_inputs(folder)
    config = tmp_path / "safestock.toml"
    config.write_text("policy_backtest_weeks = 0\n")
    db = tmp_path / "s.duckdb"
    run = weekly_run(input_dir=folder, db_path=db, reports_dir=tmp_path / "reports", config_path=config)
    with duckdb.connect(str(db), read_only=True) as con:
        policy = con.execute("select p.sku, p.reorder_point, p.order_up_to, p.method, p.zero_policy_reason, "
                             "c.demand_class from inventory_policy p join sku_class c using (run_id, sku) "
                             "where run_id = ?", [run.run_id]).df().set_index("sku")
    sporadic = policy.loc[list(built["rates"])]
    assert set(sporadic["demand_class"]) <= {"intermittent", "lumpy", "erratic", "smooth"}
    assert (sporadic["order_up_to"] > 0).all(), sporadic
    assert sporadic["zero_policy_reason"].isna().all()
    assert policy.loc["DISC", "zero_policy_reason"] == "discontinued"
    assert policy.loc["STOP", "zero_policy_reason"] == "do_not_order override"
    assert policy.loc["CAPPED", "zero_policy_reason"] == "max_stock override"
    assert policy.loc["QUIET", "zero_policy_reason"] == QUIET_REASON.format(40)
    assert policy.loc["NEVER", "zero_policy_reason"] == "never sold"
    assert (policy.loc[["DISC", "STOP", "CAPPED", "QUIET", "NEVER"], "order_up_to"] == 0).all()
    # the rule over the whole run: sold in the last 26 weeks -> S > 0 or a stated reason
    recent = [sku for sku, series in built["history"].items() if series[-26:].sum() > 0]
    zero = policy.loc[recent]
    assert zero[(zero["order_up_to"] <= 0) & zero["zero_policy_reason"].isna()].empty

    shown = CliRunner().invoke(app, ["explain", "STOP", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "zero_policy_reason         do_not_order override" in shown.output
    shown = CliRunner().invoke(app, ["explain", "QUIET", "--db", str(db)])
    assert QUIET_REASON.format(40) in " ".join(shown.output.split())
