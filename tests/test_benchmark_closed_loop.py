"""benchmarks/closed_loop_worlds.py (issue 14, item 4): its world is what it says, and the script runs
end to end (real flow + closed loop) at a tiny size; the jewelry real set's adapter (issue 14, item 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.benchmark_scripts import benchmark_module

cl = benchmark_module("closed_loop_worlds")


def test_the_world_has_the_stated_classes_targets_and_optimistic_quotes() -> None:
    world = cl.generate_world(50, seed=3)
    assert {name: int((world.true_class == name).sum()) for name in cl.CLASSES} == dict.fromkeys(cl.CLASSES, 10)
    assert world.target.min() >= 0.90 and world.target.max() <= 0.98
    true_mean = np.array([cl.pmf_moments(pmf)[0] for pmf in world.lead_pmf])
    optimism = 1 - world.quoted_weeks / true_mean
    assert optimism.min() >= 0.10 - 1e-12 and optimism.max() <= 0.30 + 1e-12
    assert set(world.review_weeks) <= {1, 2}
    trending = world.true_class == "trending"
    assert np.all((np.abs(world.growth[trending]) >= 0.005) & (np.abs(world.growth[trending]) <= 0.01))
    erratic = world.true_class == "erratic"
    assert np.all((world.size_k[erratic] >= 0.8) & (world.size_k[erratic] <= 2.5))
    assert world.history.shape == (50, cl.HISTORY_WEEKS)


def test_draws_have_the_true_means() -> None:
    world = cl.generate_world(25, seed=4)
    rng = np.random.default_rng(0)
    week = np.array([cl.HISTORY_WEEKS])
    draws = cl.sample_weeks(world, week, rng, copies=4000)[:, 0].reshape(4000, 25).mean(axis=0)
    mean, var = cl.true_moments(world, week)
    # 4,000 draws: the mean of each SKU within 5 standard errors
    assert np.all(np.abs(draws - mean[:, 0]) <= 5 * np.sqrt(var[:, 0] / 4000) + 1e-9)


def test_protection_mean_of_a_flat_world_is_rate_times_interval() -> None:
    world = cl.generate_world(10, seed=5)
    erratic = np.flatnonzero(world.true_class == "erratic")
    protection = np.full(10, 2.5)
    mu = cl.protection_means(world, protection, cl.HISTORY_WEEKS - 1, 3)
    # flat level: 2.5 weeks x base, whatever the week
    assert mu[erratic] == pytest.approx(np.repeat(2.5 * world.base[erratic, None], 3, axis=1))
    trending = np.flatnonzero(world.true_class == "trending")[0]
    growth, base = world.growth[trending], world.base[trending]
    t0 = cl.HISTORY_WEEKS   # an order at the run date covers weeks T, T + 1 and half of T + 2
    expected = base * ((1 + growth) ** t0 + (1 + growth) ** (t0 + 1) + 0.5 * (1 + growth) ** (t0 + 2))
    assert mu[trending, 0] == pytest.approx(expected)


@pytest.mark.slow
def test_the_script_runs_the_flow_and_the_closed_loop_at_tiny_size(prefect_harness: None, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tables = cl.main(["--skus", "25", "--replications", "3", "--weeks", "20", "--warmup", "5",
                      "--workdir", str(tmp_path), "--frontier"])
    shown = capsys.readouterr().out
    assert "### product vs textbook" in shown and "### zero_policies" in shown and "### frontier:" in shown
    # the frontier's offset-0 points are the product's and the textbook's own runs
    curves = tables["frontier_curves"].set_index(["policy", "offset", "group"])
    for policy in ("product", "textbook"):
        own = tables[f"{policy}_by_class"]
        assert curves.loc[(policy, 0.0)]["on_hand"].to_numpy() == pytest.approx(own["on_hand"].to_numpy())
    assert list(tables["frontier"].index) == [*sorted(cl.CLASSES), "all"]
    for name in ("product_by_class", "textbook_by_class"):
        table = tables[name]
        assert list(table.index) == sorted(cl.CLASSES) and table["skus"].sum() == 25
        rates = table[["cycle_service", "review_service", "fill_rate"]].to_numpy()
        assert np.all((rates[~np.isnan(rates)] >= 0) & (rates[~np.isnan(rates)] <= 1))
    assert (tmp_path / "safestock.duckdb").is_file() and (tmp_path / "input" / "sales.csv").is_file()


REAL_DATA_DIR = benchmark_module("real_data_adapter").REAL_DATA_DIR


@pytest.mark.skipif(not (REAL_DATA_DIR / "jewelry_weekly_long.csv").exists(), reason="real data not present")
def test_jewelry_adapter_accounts_for_every_row_and_files_weeks_on_mondays() -> None:
    import pandas as pd

    adapter = benchmark_module("real_data_adapter")
    tables, report = adapter.adapt_jewelry(REAL_DATA_DIR)
    rows_in = report.rows_in["jewelry_weekly_long.csv"]
    assert rows_in == len(tables["sales"]) + sum(report.dropped.values())
    assert len(tables["items"]) == 314 and tables["purchase_orders"].empty
    dates = pd.to_datetime(tables["sales"]["date"])
    assert (dates.dt.weekday == 0).all()
    as_of = pd.Timestamp(tables["inventory"]["as_of"].iloc[0])
    assert as_of.weekday() == 6 and as_of == dates.max() + pd.Timedelta(days=6)
    # set week 6 of 1999 starts 1999-01-01 + 35 days = Friday 02-05: filed under Monday 1999-02-01
    raw = pd.read_csv(REAL_DATA_DIR / "jewelry_weekly_long.csv")
    units = raw[(raw["sku"] == "jewelry_1") & (raw["year"] == 1999) & (raw["week"] == 6)]["units"].item()
    sales = tables["sales"]
    assert sales[(sales["sku"] == "jewelry_1") & (dates == pd.Timestamp("1999-02-01"))]["quantity"].item() == units
