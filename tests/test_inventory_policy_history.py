"""compute_policy(history=..., start=...): the pipeline's table uses the replay's interval model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import (
    LeadTimes,
    PolicyConfig,
    backtest_policy,
    build_planning_inputs,
    compute_policy,
)
from safestock.models.inventory import backtest as backtest_module
from safestock.models.inventory import policy as policy_module
from safestock.models.inventory.distribution import is_count_family
from safestock.models.inventory.policy import (
    LEVEL_ERROR_WEEKS,
    economic_order_quantity,
    interval_model_inputs,
    policy_levels,
)


def _case(n: int = 6, weeks: int = 120, seed: int = 3):
    rng = np.random.default_rng(seed)
    classes = np.array(["smooth", "erratic", "intermittent", "lumpy", "lumpy", "intermittent"])[:n]
    history = np.zeros((n, weeks))
    history[0] = rng.normal(40, 8, weeks).clip(0).round()
    history[1] = rng.gamma(1.0, 30, weeks).round()
    history[2] = rng.poisson(0.4, weeks) * rng.integers(1, 4, weeks)
    history[3] = (rng.random(weeks) < 0.15) * rng.choice([2.0, 5, 60, 200], weeks)
    history[4] = (rng.random(weeks) < 0.3) * rng.choice([1.0, 3, 25], weeks)
    history[5] = rng.poisson(0.2, weeks)
    start = np.array([0, 10, 0, 30, 0, 100])[:n]
    history[np.arange(weeks)[None, :] < start[:, None]] = 0.0
    mean = np.repeat(history[:, -26:].mean(axis=1, keepdims=True) + 0.1, 26, axis=1)
    sd = np.repeat(np.nanstd(history[:, -26:], axis=1, keepdims=True) + 0.5, 26, axis=1)
    family = np.where(np.isin(classes, ["intermittent", "lumpy"]), "negbin", "normal")
    skus = np.array([f"S{i}" for i in range(n)])
    items = pd.DataFrame({"sku": skus, "supplier_id": "V1", "description": "", "unit_cost": 10.0,
                          "pack_size": 1.0, "moq": 0.0, "service_level": np.nan, "status": "active"})
    suppliers = pd.DataFrame({"supplier_id": ["V1"], "name": ["Vendor"], "lead_time_days": [42.0],
                              "review_period_days": [14.0], "min_order_value": [0.0]})
    per_sku = pd.DataFrame({"sku": skus, "supplier_id": "V1", "lead_time_weeks_mean": 6.0,
                            "lead_time_weeks_sd": 1.5, "lead_time_weeks_p90": 8.0, "receipts": 10, "source": "sku"})
    inputs = build_planning_inputs(skus, items, suppliers, LeadTimes(per_sku=per_sku, per_supplier=pd.DataFrame()))
    return dict(inputs=inputs, mean=mean, sd=sd, family=family, classes=classes, abc=np.full(n, "B"),
                history=history, start=start)


def _policy(case: dict, config: PolicyConfig, **kwargs) -> pd.DataFrame:
    return compute_policy(case["inputs"], case["mean"], case["sd"], case["family"], case["classes"], case["abc"],
                          config, **kwargs)


@pytest.mark.parametrize("service_level_type", ["cycle", "fill_rate"])
def test_history_gives_the_replay_interval_model(service_level_type: str) -> None:
    case = _case()
    config = dataclasses.replace(PolicyConfig(), service_level_type=service_level_type)
    with_history = _policy(case, config, history=case["history"], start=case["start"])
    # the same arithmetic by hand: policy_levels with the replay's keywords (interval_model_inputs)
    level = with_history["service_level"].to_numpy()
    eoq = economic_order_quantity(52.0 * case["mean"].mean(axis=1), np.full(len(level), 10.0), config)
    extra = interval_model_inputs(case["history"], case["start"], case["classes"])
    assert extra["level_error_weeks"] == LEVEL_ERROR_WEEKS
    core = policy_levels(case["mean"], case["sd"] ** 2, is_count_family(case["family"]), np.full(6, 6.0),
                         np.full(6, 1.5), np.full(6, 2.0), level, eoq, config, **extra)
    np.testing.assert_allclose(with_history["reorder_point"], core["reorder_point"])
    np.testing.assert_allclose(with_history["protection_demand_sd"], np.sqrt(core["protection_var"]))
    compound = np.isin(case["classes"], ["intermittent", "lumpy"])
    assert (with_history["method"].str.contains("compound_negbin") == compound).all()
    assert with_history["method"].str.contains("+undershoot", regex=False).all()
    # without history: the weekly model, unchanged; the level error widens every SKU's interval
    without = _policy(case, config)
    assert not without["method"].str.contains("compound").any()
    assert (with_history["protection_demand_sd"] > without["protection_demand_sd"]).all()
    smooth = ~compound
    assert (with_history["reorder_point"][smooth] > without["reorder_point"][smooth]).all()


def test_default_start_is_first_sale_and_shapes_are_checked() -> None:
    case = _case()
    history = case["history"].copy()
    config = PolicyConfig()
    first_sale = np.where((history > 0).any(axis=1), (history > 0).argmax(axis=1), history.shape[1])
    np.testing.assert_allclose(_policy(case, config, history=history)["reorder_point"],
                               _policy(case, config, history=history, start=first_sale)["reorder_point"])
    with pytest.raises(ValueError, match="rows"):
        _policy(case, config, history=history[:3])
    with pytest.raises(ValueError, match="start"):
        _policy(case, config, history=history, start=case["start"][:3])


def test_compound_batches_do_not_change_the_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    case = _case()
    config = PolicyConfig()
    whole = _policy(case, config, history=case["history"], start=case["start"])
    monkeypatch.setattr(policy_module, "COMPOUND_CHUNK", 1)
    batched = _policy(case, config, history=case["history"], start=case["start"])
    pd.testing.assert_frame_equal(whole, batched)


def test_replay_uses_the_same_inputs_as_compute_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # backtest_policy's first review sees history[:, :first]; its policy_levels keywords must be
    # exactly those compute_policy builds from the same history
    case = _case()
    calls = []
    real = backtest_module.policy_levels

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(backtest_module, "policy_levels", spy)
    weeks, warmup = 26, 13
    backtest_policy(case["history"], case["start"], case["classes"], np.full(6, 0.95), np.full(6, 6.0),
                    np.full(6, 1.5), np.full(6, 2.0), PolicyConfig(), weeks=weeks, warmup_weeks=warmup)
    first = case["history"].shape[1] - weeks - warmup
    expected = interval_model_inputs(case["history"][:, :first], case["start"], case["classes"])
    memo = calls[0].pop("compound_memo")   # the replay's cache of compound distributions, not an input
    assert isinstance(memo, backtest_module.CompoundMemo)
    assert set(calls[0]) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(calls[0][key], value)


def test_forecast_level_error_weeks_reach_the_policy_and_the_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forecast's fitted n_e per SKU (ForecastResult.level_error_weeks) replaces the fixed 13
    weeks: a smaller n_e (more shared level error) widens the protection interval and raises s;
    inf removes the shared term; the table says which n_e each SKU used. A replay forecast_fn
    that returns n_e as a fourth array passes it to the replay's policy the same way."""
    case = _case()
    n = case["history"].shape[0]
    mean, sd = np.full((n, 26), 10.0), np.full((n, 26), 3.0)
    family = np.array(["normal"] * n)
    classes = np.array(["smooth"] * n)
    args = (case["inputs"], mean, sd, family, classes, np.array(["A"] * n), PolicyConfig())
    kwargs = dict(history=case["history"], start=case["start"])
    fixed = compute_policy(*args, **kwargs)
    shared = compute_policy(*args, **kwargs, level_error_weeks=np.full(n, 2.0))
    independent = compute_policy(*args, **kwargs, level_error_weeks=np.full(n, np.inf))
    assert (fixed["level_error_weeks"] == 13).all() and (shared["level_error_weeks"] == 2).all()
    assert np.isinf(independent["level_error_weeks"]).all()
    assert (shared["protection_demand_sd"] > fixed["protection_demand_sd"]).all()
    assert (fixed["protection_demand_sd"] > independent["protection_demand_sd"]).all()
    assert (shared["reorder_point"] > fixed["reorder_point"]).all()
    assert (fixed["reorder_point"] > independent["reorder_point"]).all()

    calls = []
    real = backtest_module.policy_levels
    monkeypatch.setattr(backtest_module, "policy_levels", lambda *a, **k: calls.append(k) or real(*a, **k))

    def forecast_fn(history: np.ndarray, start: np.ndarray):
        rows = history.shape[0]
        return np.full((rows, 26), 10.0), np.full((rows, 26), 3.0), family[:rows], np.arange(1.0, rows + 1)

    backtest_policy(case["history"], case["start"], case["classes"], np.full(n, 0.95), np.full(n, 6.0),
                    np.full(n, 1.5), np.full(n, 2.0), PolicyConfig(), weeks=26, warmup_weeks=13,
                    forecast_fn=forecast_fn)
    np.testing.assert_array_equal(calls[0]["level_error_weeks"], np.arange(1.0, n + 1))


@pytest.mark.parametrize("service_level_type", ["cycle", "fill_rate"])
@pytest.mark.parametrize("undershoot_correction", [True, False])
def test_replicas_share_the_compound_distribution_and_change_no_number(service_level_type: str,
                                                                       undershoot_correction: bool) -> None:
    # the backtest's K nominal-level replays stack K copies of the SKUs that differ only in the
    # level; policy_levels(replicas=K) builds their compound pmf once per SKU and must give
    # bit-for-bit what the row-by-row computation (replicas=1) gives, at every level
    case = _case()
    config = dataclasses.replace(PolicyConfig(), service_level_type=service_level_type,
                                 undershoot_correction=undershoot_correction)
    extra = interval_model_inputs(case["history"], case["start"], case["classes"])
    n, replicas = 6, 3
    levels = np.array([[0.80, 0.90, 0.95, 0.97, 0.85, 0.99],
                       [0.90, 0.95, 0.99, 0.90, 0.93, 0.95],
                       [0.95, 0.99, 0.999, 0.85, 0.97, 0.90]]).reshape(-1)
    mean = np.tile(np.repeat(case["history"][:, -26:].mean(axis=1, keepdims=True) + 0.1, 26, axis=1), (replicas, 1))
    var = np.tile(np.repeat(case["history"][:, -26:].var(axis=1, keepdims=True) + 0.1, 26, axis=1), (replicas, 1))
    stacked = {key: (np.tile(value, replicas) if key == "compound" or (isinstance(value, np.ndarray) and value.ndim == 1)
                     else np.tile(value, (replicas, 1)) if isinstance(value, np.ndarray) else value)
               for key, value in extra.items()}
    args = (mean, var, np.tile(is_count_family(np.where(np.isin(case["classes"], ["smooth", "erratic"]), "normal",
                                                         "negbin")), replicas),
            np.full(n * replicas, 6.0), np.full(n * replicas, 1.5), np.full(n * replicas, 2.0), levels,
            np.full(n * replicas, np.nan), config)
    shared = policy_levels(*args, **stacked, replicas=replicas)
    row_by_row = policy_levels(*args, **stacked)
    assert shared["compound"].sum() == replicas * 4   # the 4 intermittent / lumpy SKUs, in every replica
    for key in ("reorder_point", "level_mean", "level_var", "order_quantity", "protection_mean"):
        np.testing.assert_array_equal(shared[key], row_by_row[key], err_msg=key)
    # the levels differ between replicas, and so do the compound SKUs' reorder points
    assert not np.array_equal(shared["reorder_point"][2:6], shared["reorder_point"][n + 2:n + 6])
