"""Maximum cover per order line (issue 19.10): the cap, its rounding to packs, the MOQ that wins
over it, the reason when it binds, and the configuration key; numbers worked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import LeadTimes, PolicyConfig, build_planning_inputs, recommend_orders
from safestock.pipelines.config import ConfigError, load_config

AS_OF = pd.Timestamp("2026-01-07")
WEEKLY = 2.0   # mean weekly demand of every SKU: the 52-week cap is 104 units

#        sku        IP  S    pack  MOQ
LINES = [("EOQ",     10, 300, 1,   0),     # need 290 = 145 weeks -> capped to 104
         ("PACK",     0, 200, 24,  0),     # 9 packs = 216 -> cap 104 / 24 = 4 whole packs = 96
         ("MOQ",      0, 50,  1,   150),   # need 50, MOQ 150 > cap 104: the MOQ wins -> 150
         ("BIGPACK",  0, 120, 500, 0),     # one pack of 500 > cap: at least one pack -> 500
         ("OK",       0, 60,  1,   0)]     # 60 units = 30 weeks: under the cap, unchanged


def _orders(config: PolicyConfig) -> pd.DataFrame:
    t = pd.DataFrame(LINES, columns=["sku", "ip", "S", "pack", "moq"])
    n = len(t)
    policy = pd.DataFrame({"sku": t["sku"], "supplier_id": "V1", "reorder_point": 20.0,
                           "order_up_to": t["S"].astype(float), "safety_stock": 5.0, "demand_per_week_mean": WEEKLY,
                           "review_period_weeks": 1.0, "lead_time_weeks_mean": 2.0, "method": "cycle/normal"})
    risk = pd.DataFrame({"sku": t["sku"], "supplier_id": "V1", "inventory_position": t["ip"].astype(float),
                         "stockout_probability": np.linspace(0.9, 0.5, n), "projected_stockout_week": pd.NaT,
                         "order_by": pd.NaT})
    items = pd.DataFrame({"sku": t["sku"], "supplier_id": "V1", "description": "", "unit_cost": 1.0,
                          "pack_size": t["pack"].astype(float), "moq": t["moq"].astype(float),
                          "service_level": np.nan, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["One"], "lead_time_days": [14.0],
                              "review_period_days": [7.0], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": t["sku"], "supplier_id": "V1", "lead_time_weeks_mean": 2.0,
                            "lead_time_weeks_sd": 0.2, "lead_time_weeks_p90": 2.5, "receipts": 10, "source": "sku"})
    inputs = build_planning_inputs(t["sku"].to_numpy(), items, suppliers, LeadTimes(per_sku, pd.DataFrame()),
                                   as_of=AS_OF)
    return recommend_orders(inputs, policy, risk, config).set_index("sku")


def test_cap_binds_rounded_down_to_packs_and_says_so() -> None:
    orders = _orders(PolicyConfig())   # default max_cover_weeks = 52
    assert orders["order_quantity"].to_dict() == {"EOQ": 104.0, "PACK": 96.0, "MOQ": 150.0, "BIGPACK": 500.0,
                                                  "OK": 60.0}
    assert orders.loc["PACK", "packs"] == 4
    assert orders.loc["EOQ", "reason"].endswith(
        "; order covers 52.0 weeks; capped at 52 weeks of forecast demand (104 units; the uncapped 290 units "
        "would cover 145.0 weeks)")
    assert "capped at 52 weeks of forecast demand (104 units; the uncapped 216 units" in orders.loc["PACK", "reason"]
    assert "capped" not in orders.loc["OK", "reason"] and "cap" not in orders.loc["OK", "reason"]


def test_minimum_orderable_quantity_wins_over_the_cap() -> None:
    orders = _orders(PolicyConfig())
    assert orders.loc["MOQ", "reason"].endswith(
        "; the minimum order (MOQ 150, pack 1) is above the 52-week cover cap (104 units): the minimum wins")
    assert "capped at" not in orders.loc["MOQ", "reason"]
    assert orders.loc["BIGPACK", "packs"] == 1
    assert "(MOQ 0, pack 500) is above the 52-week cover cap (104 units)" in orders.loc["BIGPACK", "reason"]


def test_cap_is_configurable_and_zero_turns_it_off() -> None:
    assert _orders(PolicyConfig(max_cover_weeks=26))["order_quantity"]["EOQ"] == 52.0   # 26 x 2
    uncapped = _orders(PolicyConfig(max_cover_weeks=0))
    assert uncapped["order_quantity"].to_dict() == {"EOQ": 290.0, "PACK": 216.0, "MOQ": 150.0, "BIGPACK": 500.0,
                                                    "OK": 60.0}
    assert not uncapped["reason"].str.contains("cap").any()


def test_max_cover_weeks_config_key(tmp_path: Path) -> None:
    path = tmp_path / "safestock.toml"
    path.write_text("[policy]\nmax_cover_weeks = 13\n", encoding="utf-8")
    assert load_config(path).policy.max_cover_weeks == 13
    assert load_config(None).policy.max_cover_weeks == 52.0
    for bad in ("-1", '"a year"', "true"):
        path.write_text(f"[policy]\nmax_cover_weeks = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"\[policy\]: max_cover_weeks must be a number of weeks >= 0"):
            load_config(path)
