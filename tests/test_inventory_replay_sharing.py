"""The policy replay's shared work changes no number: block-0 arithmetic repeated over the K
nominal-level replays (``policy_levels(replicas=K)``), compound distributions reused across reviews
(``CompoundMemo``), and the lead-time mixture's Newton solve far in a tail (no overflow)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from safestock.models.inventory import PolicyConfig
from safestock.models.inventory import backtest as backtest_module
from safestock.models.inventory.backtest import backtest_policy
from safestock.models.inventory.lead_time_mixture import mixture_levels
from safestock.models.inventory.policy import interval_model_inputs, policy_levels
from safestock.models.inventory.replay_sharing import CompoundMemo, compound_row_keys
from scipy import special

OUTPUTS = ("reorder_point", "level_mean", "level_var", "order_quantity", "protection_mean", "protection_var",
           "undershoot_var", "compound", "lt_mixture")


def _skus() -> dict:
    """8 SKUs covering every path of policy_levels: normal with a variable lead time (mixture),
    normal with a fixed one, Poisson with a small Q (exact lattice undershoot), negative binomial,
    and four intermittent / lumpy SKUs (compound) - one without demand."""
    rng = np.random.default_rng(5)
    weeks = 60
    smooth = rng.normal(40.0, 8.0, (3, weeks)).clip(min=0).round()
    poisson = rng.poisson(3.0, (1, weeks)).astype(float)
    lumpy = np.where(rng.random((4, weeks)) < 0.25, rng.integers(1, 30, (4, weeks)), 0).astype(float)
    lumpy[3] = 0.0
    history = np.vstack([smooth, poisson, lumpy])
    classes = np.array(["smooth", "smooth", "erratic", "smooth", "intermittent", "lumpy", "intermittent", "lumpy"])
    mean = np.repeat(history[:, -26:].mean(axis=1, keepdims=True) + 0.05, 26, axis=1)
    var = np.repeat(history[:, -26:].var(axis=1, keepdims=True) + 0.05, 26, axis=1)
    var[3] = mean[3]   # Poisson: var = mean (the lattice undershoot)
    mean[7], var[7] = 0.0, 0.0   # no demand: no compound distribution
    return dict(history=history, start=np.zeros(8, dtype=np.int64), classes=classes, mean=mean, var=var,
                is_count=np.array([False, False, True, True, True, True, True, True]),
                lead_mean=np.array([4.0, 3.0, 2.5, 2.0, 3.0, 4.0, 2.0, 3.0]),
                lead_sd=np.array([1.5, 0.0, 1.0, 0.5, 1.0, 2.0, 0.0, 1.0]),
                review=np.array([1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0]),
                eoq=np.array([np.nan, 150.0, np.nan, np.nan, 40.0, np.nan, np.nan, np.nan]))


@pytest.mark.parametrize("service_level_type", ["cycle", "fill_rate"])
def test_replicas_equal_a_plain_loop_over_the_blocks(service_level_type: str) -> None:
    # K = 3 replays of the 8 SKUs at different levels: policy_levels(replicas=3) on the stacked rows
    # must give exactly what one policy_levels call per block gives (a plain loop over the replays)
    case = _skus()
    config = dataclasses.replace(PolicyConfig(), service_level_type=service_level_type)
    extra = interval_model_inputs(case["history"], case["start"], case["classes"])
    levels = np.array([[0.80, 0.90, 0.95, 0.97, 0.85, 0.99, 0.90, 0.95],
                       [0.90, 0.95, 0.99, 0.90, 0.93, 0.95, 0.97, 0.80],
                       [0.95, 0.99, 0.999, 0.85, 0.97, 0.90, 0.99, 0.85]])
    replicas = levels.shape[0]

    def stack(value):
        if isinstance(value, np.ndarray):
            return np.tile(value, (replicas,) + (1,) * (value.ndim - 1))
        return value

    per_row = ("is_count", "lead_mean", "lead_sd", "review", "eoq")
    shared = policy_levels(stack(case["mean"]), stack(case["var"]), *(stack(case[key]) for key in per_row[:4]),
                           levels.reshape(-1), stack(case["eoq"]), config,
                           **{key: stack(value) for key, value in extra.items()}, replicas=replicas)
    assert shared["lt_mixture"][:8].tolist() == [True, False, False, False, False, False, False, False]
    assert shared["compound"][:8].tolist() == [False] * 4 + [True, True, True, False]
    # bit for bit what the stacked rows gave without the sharing (replicas=1: every row computed)
    row_by_row = policy_levels(stack(case["mean"]), stack(case["var"]), *(stack(case[key]) for key in per_row[:4]),
                               levels.reshape(-1), stack(case["eoq"]), config,
                               **{key: stack(value) for key, value in extra.items()})
    for key in OUTPUTS:
        np.testing.assert_array_equal(shared[key], row_by_row[key], err_msg=key)
    for k in range(replicas):   # and, to round-off (the mixture's matrix products), one call per replay
        one = policy_levels(case["mean"], case["var"], *(case[key] for key in per_row[:4]), levels[k], case["eoq"],
                            config, **extra)
        for key in OUTPUTS:
            np.testing.assert_allclose(shared[key][k * 8:(k + 1) * 8], one[key], rtol=1e-12, atol=0,
                                       err_msg=f"{key}, replay {k}")
    # the levels differ between the replays, and so do the reorder points of the stocked SKUs
    assert not np.array_equal(shared["reorder_point"][:7], shared["reorder_point"][8:15])


def test_blocks_that_do_not_repeat_are_computed_row_by_row() -> None:
    # replicas=2 promised, but block 1's forecast of the first SKU differs: no sharing of the
    # level-independent part, each row gets its own numbers
    case = _skus()
    config = PolicyConfig()
    mean = np.vstack([case["mean"], case["mean"]])
    mean[8] *= 1.5
    args = (mean, np.vstack([case["var"], case["var"]]), np.tile(case["is_count"], 2), np.tile(case["lead_mean"], 2),
            np.tile(case["lead_sd"], 2), np.tile(case["review"], 2), np.full(16, 0.95), np.tile(case["eoq"], 2), config)
    shared = policy_levels(*args, replicas=2)
    row_by_row = policy_levels(*args)
    for key in OUTPUTS:
        np.testing.assert_array_equal(shared[key], row_by_row[key], err_msg=key)
    assert shared["protection_mean"][8] == pytest.approx(1.5 * shared["protection_mean"][0])


def test_compound_memo_reuses_rows_whose_inputs_repeat_and_changes_no_number() -> None:
    case = _skus()
    config = PolicyConfig()
    extra = interval_model_inputs(case["history"], case["start"], case["classes"])
    args = (case["mean"], case["var"], case["is_count"], case["lead_mean"], case["lead_sd"], case["review"],
            np.full(8, 0.95), case["eoq"], config)
    memo = CompoundMemo(keep_calls=2)
    first = policy_levels(*args, **extra, compound_memo=memo)
    assert (memo.rows, memo.hits) == (3, 0)   # the 3 compound SKUs (the 4th has no demand)
    # next review: the same sizes in another order (a week later the window has shifted), one
    # SKU with a new size: 2 of the 3 rows come from the memo, and every number is as computed afresh
    sizes = extra["sizes"][:, ::-1].copy()
    sizes[6, 0] = 17.0 if sizes[6, 0] != 17.0 else 18.0
    again = dict(extra, sizes=sizes)
    second = policy_levels(*args, **again, compound_memo=memo)
    assert (memo.rows, memo.hits) == (6, 2)
    fresh = policy_levels(*args, **again)
    for key in OUTPUTS:
        np.testing.assert_array_equal(second[key], fresh[key], err_msg=key)
    np.testing.assert_array_equal(second["reorder_point"][4:6], first["reorder_point"][4:6])
    # whole sizes are keyed as a multiset (order and NaN padding aside); fractional ones in their
    # order (sums in another order may round differently)
    keys = compound_row_keys(np.array([[1.5, 2.0, np.nan], [2.0, 1.5, np.nan], [2.0, 1.0, np.nan],
                                       [1.0, 2.0, np.nan]]), np.ones(4))
    assert keys[0] != keys[1] and keys[2] == keys[3]
    assert compound_row_keys(np.array([[np.nan, 2.0, 1.0, np.nan]]), 1.0) == keys[3:]
    assert compound_row_keys(np.array([[1.0, 2.0]]), 2.0) != keys[3:]
    # entries unused for keep_calls calls are dropped
    for scale in (2.0, 3.0):
        policy_levels(case["mean"] * scale, *args[1:], **extra, compound_memo=memo)
    assert memo.hits == 2
    policy_levels(*args, **extra, compound_memo=memo)
    assert (memo.rows, memo.hits) == (15, 2)


class _NoMemo(CompoundMemo):
    """Computes every row (the replay before the memo)."""

    def outputs(self, rows, compute, keys):
        return compute(np.asarray(rows))


@pytest.mark.parametrize("service_level_type", ["cycle", "fill_rate"])
def test_replay_with_the_compound_memo_equals_the_replay_without(monkeypatch: pytest.MonkeyPatch,
                                                                 service_level_type: str) -> None:
    case = _skus()
    config = dataclasses.replace(PolicyConfig(), service_level_type=service_level_type)
    arguments = (case["history"], case["start"], case["classes"], np.full(8, 0.95), case["lead_mean"],
                 case["lead_sd"], case["review"], config)
    mean, sd = case["mean"], np.sqrt(case["var"])
    family = np.where(case["is_count"], "negbin", "normal")
    keywords = dict(weeks=20, warmup_weeks=8, unit_cost=np.full(8, 5.0),
                    nominal_levels=np.array([np.full(8, 0.95), np.full(8, 0.9)]),
                    forecast_fn=lambda history, start: (mean, sd, family))   # one fixed forecast
    used: list[CompoundMemo] = []

    def counting_memo() -> CompoundMemo:
        used.append(CompoundMemo())
        return used[-1]

    monkeypatch.setattr(backtest_module, "CompoundMemo", counting_memo)
    with_memo = backtest_policy(*arguments, **keywords)
    assert used[0].hits > 0   # a SKU's inputs repeat between its orders
    monkeypatch.setattr(backtest_module, "CompoundMemo", _NoMemo)
    without = backtest_policy(*arguments, **keywords)
    assert with_memo.equals(without)


def test_mixture_solve_far_in_a_tail_has_no_overflow() -> None:
    # two tight components 76 apart, a first guess midway (38 sd from both): the density there is
    # subnormal, so g / g' used to overflow (RuntimeWarning); now the step is a bisection there
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        level = mixture_levels(np.array([0.6]), np.array([[0.0, 76.0]]), np.array([[1.0, 1.0]]), np.array([0.5, 0.5]),
                               "cycle", start=np.array([38.0]))
    # 0.5 Φ(s) + 0.5 Φ(s - 76) = 0.6 -> Φ(s - 76) = 0.2 (Φ(s) = 1): s = 76 + Φ⁻¹(0.2) = 75.1584
    assert level[0] == pytest.approx(76.0 + special.ndtri(0.2), abs=1e-6)
