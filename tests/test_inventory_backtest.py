"""Policy backtest (replay of the last weeks of history): bookkeeping by hand and calibration."""

from __future__ import annotations

import numpy as np
import pytest
from safestock.models.inventory import PolicyConfig, backtest_policy
from safestock.models.inventory.backtest import BACKTEST_COLUMNS

TOLERANCE = 0.02


def _known(mean: float, sd: float, family: str, horizon: int = 26):
    def forecast(history: np.ndarray, start: np.ndarray):
        n = history.shape[0]
        return np.full((n, horizon), mean), np.full((n, horizon), sd), np.full(n, family)
    return forecast


def test_bookkeeping_hand_checked_single_sku() -> None:
    # forecast 10/week exactly, L = 2, R = 1, EOQ 25 (unit cost 332.8): s = D_L + U = 20 + 5, S = 50.
    # replayed demand 10, 10, 25, 10, 10, 10 from net stock 50:
    #   end of week net 40, 30, 5 (order 45, due week 6), -5, -15, then the receipt: 30 - 10 = 20
    history = np.array([[10.0, 10, 10, 10, 10, 10, 25, 10, 10, 10]])
    per_sku = backtest_policy(history, np.array([0]), np.array(["smooth"]), np.array([0.95]), np.array([2.0]),
                              np.array([0.0]), np.array([1.0]), PolicyConfig(), weeks=6,
                              forecast_fn=_known(10.0, 0.0, "normal"), unit_cost=np.array([332.8]),
                              warmup_weeks=0, per_sku=True)
    row = per_sku.iloc[0]
    assert row["demand_units"] == 75 and row["served"] == pytest.approx(60.0, abs=1e-3)
    assert row["cycles"] == 1 and row["ok"] == 0          # the one receipt came after a stock-out
    assert row["on_hand"] / 6 == pytest.approx(95 / 6, abs=1e-4)
    assert row["backorder_units"] == pytest.approx(15.0, abs=1e-3)
    assert row["reviews_ok"] == 4 and row["reviews"] == 6  # weeks 4 and 5 ended short

    table = backtest_policy(history, np.array([0]), np.array(["smooth"]), np.array([0.95]), np.array([2.0]),
                            np.array([0.0]), np.array([1.0]), PolicyConfig(), weeks=6,
                            forecast_fn=_known(10.0, 0.0, "normal"), unit_cost=np.array([332.8]), warmup_weeks=0)
    assert list(table.columns) == BACKTEST_COLUMNS
    smooth = table.set_index("demand_class").loc["smooth"]
    assert smooth["fill_rate"] == pytest.approx(0.8, abs=1e-5) and smooth["cycle_service_level"] == 0.0
    assert smooth["service_level_target"] == 0.95 and np.isnan(smooth["fill_rate_target"])


def test_lost_sales_replay_hand_checked_single_sku() -> None:
    # the bookkeeping case above with the demand not met lost (items.unmet_demand = lost): s = 25, S = 50
    # from on hand 50; demand 10, 10, 25, 10, 10, 10:
    #   end of week on hand 40, 30, 5 (order 45, due at the start of week 6), 0 (5 lost), 0 (10 lost);
    #   week 6: the 45 arrive (the cycle ended short), nothing is owed: 45 - 10 = 35 (backordering: 20)
    history = np.array([[10.0, 10, 10, 10, 10, 10, 25, 10, 10, 10]])
    args = (history, np.array([0]), np.array(["smooth"]), np.array([0.95]), np.array([2.0]), np.array([0.0]),
            np.array([1.0]), PolicyConfig())
    options = dict(weeks=6, forecast_fn=_known(10.0, 0.0, "normal"), unit_cost=np.array([332.8]), warmup_weeks=0,
                   per_sku=True)
    lost = backtest_policy(*args, **options, lost_sales=np.array([True])).iloc[0]
    assert lost["demand_units"] == 75 and lost["served"] == pytest.approx(60.0, abs=1e-3)
    assert lost["backorder_units"] == pytest.approx(15.0, abs=1e-3)   # the lost units
    assert lost["cycles"] == 1 and lost["ok"] == 0          # demand was lost before the receipt
    assert lost["on_hand"] == pytest.approx(40 + 30 + 5 + 0 + 0 + 35, abs=1e-3)
    assert lost["reviews_ok"] == 4 and lost["reviews"] == 6  # weeks 4 and 5 lost demand
    backorder = backtest_policy(*args, **options, lost_sales=np.array([False])).iloc[0]
    assert backorder["on_hand"] == pytest.approx(95.0, abs=1e-3)
    assert backorder.equals(backtest_policy(*args, **options).iloc[0])   # an all-backorder mask changes nothing


@pytest.mark.parametrize("service_level_type, expected", [("fill_rate", (2 * 0.95 - 1) / 0.95), ("cycle", 0.95)])
def test_lost_items_replay_at_the_lost_sales_fill_rate_form(monkeypatch, service_level_type: str,
                                                            expected: float) -> None:
    # compute_policy meets a fill rate P2 of a `lost` item with the backorder form at (2 P2 - 1) / P2
    # (lost_sales.py); the replay sets that item's levels the same way, the backorder item's at P2
    import safestock.models.inventory.backtest as backtest

    seen: list[np.ndarray] = []
    original = backtest.policy_levels

    def recording(*args, **kwargs):
        seen.append(np.asarray(args[6], dtype=float).copy())
        return original(*args, **kwargs)

    monkeypatch.setattr(backtest, "policy_levels", recording)
    history = np.tile(np.array([10.0, 12, 8, 11, 9, 10, 13, 7, 10, 10]), (2, 2))
    frame = backtest_policy(history, np.zeros(2, int), np.array(["smooth", "smooth"]), np.array([0.95, 0.95]),
                            np.array([1.0, 1.0]), np.zeros(2), np.ones(2),
                            PolicyConfig(service_level_type=service_level_type), weeks=4, warmup_weeks=2,
                            nominal_levels=np.array([[0.95, 0.95]]), lost_sales=np.array([True, False]))
    assert seen and all(levels.tolist() == pytest.approx([expected, 0.95]) for levels in seen)
    assert frame["nominal_level"].tolist() == [0.95, 0.95]   # the calibration's nominal level is kept


@pytest.mark.parametrize("kind, family, target", [("normal", "normal", 0.95), ("poisson", "poisson", 0.90)])
def test_replay_of_stationary_demand_meets_cycle_target(kind: str, family: str, target: float) -> None:
    rng = np.random.default_rng(11)
    n, weeks = 1000, 156
    if kind == "normal":
        mean, sd = 20.0, 6.0
        history = np.maximum(rng.normal(mean, sd, (n, weeks + 20)), 0.0)
    else:
        mean, sd = 8.0, np.sqrt(8.0)
        history = rng.poisson(mean, (n, weeks + 20)).astype(float)
    unit_cost = 2 * 52 * mean * 50 / (0.25 * (2 * mean) ** 2)  # EOQ = 2 weeks of demand
    table = backtest_policy(history, np.zeros(n, int), np.full(n, "smooth"), np.full(n, target), np.full(n, 4.0),
                            np.full(n, 0.0), np.full(n, 1.0), PolicyConfig(), weeks=weeks,
                            forecast_fn=_known(mean, sd, family), unit_cost=np.full(n, unit_cost), warmup_weeks=20,
                            interval_model="weekly")  # known parameters: no level-estimation error
    row = table.set_index("demand_class").loc["smooth"]
    # Poisson: the reorder point is an integer, so P(X <= s) jumps past the target (over-achieves)
    upper = TOLERANCE if kind == "normal" else 2 * TOLERANCE
    assert target - TOLERANCE <= row["cycle_service_level"] <= target + upper, table.to_string()
    assert row["skus"] == n and row["weeks"] == weeks


def test_rolling_estimator_replay_runs_per_class() -> None:
    rng = np.random.default_rng(5)
    n = 200
    history = np.concatenate([rng.poisson(6, (n // 2, 80)), np.where(rng.random((n // 2, 80)) < 0.2, 3, 0)])
    classes = np.array(["smooth"] * (n // 2) + ["intermittent"] * (n // 2))
    table = backtest_policy(history.astype(float), np.zeros(n, int), classes, np.full(n, 0.9), np.full(n, 3.0),
                            np.full(n, 0.5), np.full(n, 2.0), PolicyConfig(service_level_type="fill_rate"))
    assert set(table["demand_class"]) == {"smooth", "intermittent", "all"}
    assert table["fill_rate"].between(0.5, 1.0).all() and (table["average_on_hand"] > 0).all()
    assert np.allclose(table["fill_rate_target"], 0.9) and table["service_level_target"].isna().all()


def test_periodic_forecast_reuses_and_shifts_the_last_forecast() -> None:
    from safestock.models.inventory.backtest import periodic_forecast_fn

    calls: list[int] = []

    def base(history: np.ndarray, start: np.ndarray):
        calls.append(history.shape[1])
        mean = np.tile(np.arange(4, dtype=float) + history.shape[1], (history.shape[0], 1))
        return mean, mean / 10, np.array(["normal"] * history.shape[0])

    periodic = periodic_forecast_fn(base, every_weeks=3)
    history = np.ones((2, 10))
    first, _, _ = periodic(history, np.zeros(2, dtype=int))
    np.testing.assert_array_equal(first[0], [10, 11, 12, 13])
    shifted, sd, _ = periodic(np.ones((2, 12)), np.zeros(2, dtype=int))   # 2 weeks later: reused
    np.testing.assert_array_equal(shifted[0], [12, 13, 13, 13])            # last week repeated
    np.testing.assert_allclose(sd[0], [1.2, 1.3, 1.3, 1.3])
    fresh, _, _ = periodic(np.ones((2, 13)), np.zeros(2, dtype=int))       # 3 weeks later: re-forecast
    np.testing.assert_array_equal(fresh[0], [13, 14, 15, 16])
    assert calls == [10, 13]


def test_interval_model_is_validated_and_compound_replay_runs() -> None:
    rng = np.random.default_rng(3)
    n = 100
    history = np.where(rng.random((n, 80)) < 0.25, rng.choice([1.0, 2.0, 40.0], (n, 80)), 0.0)
    args = (history, np.zeros(n, int), np.full(n, "lumpy"), np.full(n, 0.9), np.full(n, 3.0), np.full(n, 0.5),
            np.full(n, 1.0), PolicyConfig())
    with pytest.raises(ValueError):
        backtest_policy(*args, interval_model="nope")
    weekly = backtest_policy(*args, interval_model="weekly", per_sku=True)
    compound = backtest_policy(*args, per_sku=True)
    assert (compound["history_weeks"] == 80 - 26).all()
    assert compound["served"].sum() >= weekly["served"].sum() * 0.99


def test_skus_launched_during_the_replay_are_judged_as_new() -> None:
    """A SKU first sold 5 weeks before the replay begins (class 'smooth' at the final run) starts
    the replay at S = 0 and stocks out until its first order arrives: it is summarised under
    'new', not 'smooth'; a SKU sold from the first week of the data stays 'smooth'."""
    weeks, warmup, total = 26, 13, 80
    history = np.full((2, total), 10.0)
    first = total - weeks - warmup
    start = np.array([0, first - 5])
    history[1, :start[1]] = 0.0
    rows = backtest_policy(history, start, np.array(["smooth", "smooth"]), np.full(2, 0.95), np.full(2, 2.0),
                           np.zeros(2), np.ones(2), PolicyConfig(), weeks=weeks, warmup_weeks=warmup,
                           forecast_fn=_known(10.0, 2.0, "normal"), per_sku=True)
    assert list(rows["demand_class"]) == ["smooth", "smooth"]
    assert list(rows["judged_class"]) == ["smooth", "new"]
    table = backtest_policy(history, start, np.array(["smooth", "smooth"]), np.full(2, 0.95), np.full(2, 2.0),
                            np.zeros(2), np.ones(2), PolicyConfig(), weeks=weeks, warmup_weeks=warmup,
                            forecast_fn=_known(10.0, 2.0, "normal")).set_index("demand_class")
    assert table.loc["smooth", "skus"] == 1 and table.loc["new", "skus"] == 1 and table.loc["all", "skus"] == 2
