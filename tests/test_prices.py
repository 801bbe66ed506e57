"""Optional selling prices (issue 17.4): `sales.unit_price` validated like every contract column,
aggregated to a quantity-weighted weekly price in DuckDB, put on the demand grid (forward-filled)
and used by the global model as relative price / promotion features without leakage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from safestock.models.forecasting import global_model as gm
from safestock.models.forecasting.candidates import backtest_cuts
from safestock.models.forecasting.prices import (
    PRICE_FEATURES,
    forward_fill,
    price_features,
    trailing_median,
    weekly_price_matrix,
)
from safestock.pipelines.inputs import InputValidationError, load_inputs
from safestock.pipelines.inputs import load as load_module
from safestock.pipelines.inputs import staging

from tests.test_load import write_folder

# as_of = 2026-01-14 (Wednesday): complete weeks are Mon 2025-12-29 and Mon 2026-01-05.
PRICED_SALES = """date,sku,quantity,unit_price
2025-12-29,007,3,2.00
2026-01-02,007,1,4.00
2026-01-03,007,-1,9.00
2025-12-30,008,0,5.00
2025-12-31,008,-2,7.00
2026-01-05,007,4,
2026-01-06,008,2,1.50
2026-01-12,007,9,1.00
"""


def test_weekly_price_is_the_quantity_weighted_mean_of_complete_weeks(tmp_path: Path) -> None:
    loaded = load_inputs(write_folder(tmp_path, {"sales.csv": PRICED_SALES}))
    prices = loaded.prices_weekly.set_index(["sku", "week"])["unit_price"]
    # 007, week of 2025-12-29: (3 x 2.00 + 1 x 4.00) / (3 + 1) = 2.50 (the return line is not a sale)
    assert prices[("007", pd.Timestamp("2025-12-29"))] == pytest.approx(2.5)
    # 008, same week: no positive quantity -> plain mean of its prices (5.00 + 7.00) / 2 = 6.00
    assert prices[("008", pd.Timestamp("2025-12-29"))] == pytest.approx(6.0)
    # 008, week of 2026-01-05: one line 2 x 1.50
    assert prices[("008", pd.Timestamp("2026-01-05"))] == pytest.approx(1.5)
    # 007's week of 2026-01-05 has no priced line (empty unit_price), 2026-01-12 is incomplete
    assert len(prices) == 3
    note = [n for n in loaded.notes if n.column == "unit_price"]
    assert len(note) == 1 and "3 weekly price(s) of 2 sku(s)" in note[0].message
    # demand is unchanged by the price column
    weekly = loaded.sales_weekly.set_index(["sku", "week"])["quantity"]
    assert weekly[("007", pd.Timestamp("2025-12-29"))] == 3 + 1 - 1


def test_staged_path_aggregates_prices_like_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_inputs(write_folder(tmp_path / "fast", {"sales.csv": PRICED_SALES})).prices_weekly
    monkeypatch.setattr(load_module, "sales_fast", staging.stage)
    staged = load_inputs(write_folder(tmp_path / "staged", {"sales.csv": PRICED_SALES})).prices_weekly
    pd.testing.assert_frame_equal(fast, staged)


def test_without_unit_price_there_are_no_prices(tmp_path: Path) -> None:
    loaded = load_inputs(write_folder(tmp_path))
    assert loaded.prices_weekly is None
    assert not [n for n in loaded.notes if n.column == "unit_price"]


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "expected a number, got 'abc'"),
    ("0", "must be > 0"),
    ("-3.5", "must be > 0"),
    ("1_000", "expected a number"),
])
def test_bad_unit_price_is_named_by_file_line_and_column(tmp_path: Path, value: str, message: str) -> None:
    sales = PRICED_SALES.replace("2026-01-06,008,2,1.50", f"2026-01-06,008,2,{value}")
    line = sales.splitlines().index(f"2026-01-06,008,2,{value}") + 1
    with pytest.raises(InputValidationError) as caught:
        load_inputs(write_folder(tmp_path, {"sales.csv": sales}))
    shown = [str(issue) for issue in caught.value.issues]
    assert len(shown) == 1, shown
    assert shown[0].startswith(f"sales.csv, line {line}, column 'unit_price': {message}"), shown


def test_bad_unit_price_in_parquet_names_the_row(tmp_path: Path) -> None:
    write_folder(tmp_path, {"sales.csv": None})
    frame = pd.read_csv(pd.io.common.StringIO(PRICED_SALES), dtype=str)
    frame.loc[6, "unit_price"] = "-1"
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    with pytest.raises(InputValidationError) as caught:
        load_inputs(tmp_path)
    assert [str(issue) for issue in caught.value.issues] == [
        "sales.parquet, row 8, column 'unit_price': must be > 0, got '-1'"]


def test_weekly_price_matrix_fills_forward_and_seeds_from_before_the_grid() -> None:
    weeks = pd.date_range("2026-01-05", periods=5, freq="7D").to_numpy()
    sku = np.array(["A", "A", "A", "B", "B", "X"], dtype=object)
    week = pd.to_datetime(["2025-12-22", "2025-12-29", "2026-01-19", "2026-01-12", "2026-02-02",
                           "2026-01-05"]).to_numpy()
    price = np.array([9.0, 8.0, 6.0, 3.0, 2.5, 1.0])
    grid = weekly_price_matrix(sku, week, price, np.array(["A", "B", "C"], dtype=object), weeks)
    nan = np.nan
    # A: 8.00 (its latest price before the grid) until 6.00 in the third week; B from its first
    # priced week; C never priced; X is not a SKU of the grid
    np.testing.assert_array_equal(grid, [[8.0, 8.0, 6.0, 6.0, 6.0],
                                         [nan, 3.0, 3.0, 3.0, 2.5],
                                         [nan, nan, nan, nan, nan]])
    np.testing.assert_array_equal(forward_fill(np.array([[nan, 2.0, nan, nan, 5.0, nan]])),
                                  [[nan, 2.0, 2.0, 2.0, 5.0, 5.0]])


def test_trailing_median_is_the_regular_price_before_the_origin() -> None:
    price = np.array([[10.0, 10.0, 7.0, 10.0, 12.0, 12.0, 12.0]])
    # weeks 0..3 before origin 4: sorted 7, 10, 10, 10 -> (10 + 10) / 2
    # weeks 2..5 before origin 6 (window 4): 7, 10, 12, 12 -> (10 + 12) / 2 = 11
    assert trailing_median(price, np.array([0, 0]), np.array([4, 6]), weeks=4).tolist() == [10.0, 11.0]
    assert np.isnan(trailing_median(np.full((1, 3), np.nan), np.array([0]), np.array([3]))[0])


def test_a_promotion_week_is_flagged_and_future_weeks_assume_the_regular_price() -> None:
    # 12 weeks at 10.00, a 25 % cut in week 12, back to 10.00, a planned-looking 5.00 in week 15
    price = np.array([[10.0] * 12 + [7.5, 10.0, 10.0, 5.0], [np.nan] * 16])
    sku = np.array([0, 0, 0, 0, 1])
    origin = np.array([12, 13, 14, 15, 14])
    target = np.array([12, 13, 14, 15, 14])
    got = price_features(price, sku, origin, target, known_before=15)
    assert PRICE_FEATURES == ("relative_price", "promotion", "relative_price_last")
    # regular price = median of the weeks before the origin = 10.00 in every row
    np.testing.assert_allclose(got[0], [0.75, 1.0, 1.0])    # the promotion week: 7.5 / 10
    np.testing.assert_allclose(got[1], [1.0, 0.0, 0.75])    # the week after: its last week was the cut
    np.testing.assert_allclose(got[2], [1.0, 0.0, 1.0])
    # week 15 is at/after known_before: its 5.00 is not read, the regular price is assumed
    np.testing.assert_allclose(got[3], [1.0, 0.0, 1.0])
    assert np.isnan(got[4]).all()                            # a SKU without prices: unknown


def test_price_features_read_no_price_at_or_after_the_origin() -> None:
    """Predicting from an origin (nothing known ahead: known_before = origin), a row's features do
    not change when every price at or after its origin does."""
    rng = np.random.default_rng(5)
    price = rng.uniform(5.0, 10.0, (6, 40))
    sku, origin = np.arange(6), np.array([14, 20, 25, 30, 35, 39])
    for step in (1, 5):
        target = np.minimum(origin + step - 1, 39)
        before = np.vstack([price_features(price, sku[[r]], origin[[r]], target[[r]], int(origin[r]))
                                  for r in range(6)])
        changed = price.copy()
        changed[np.arange(40)[None, :] >= origin[:, None]] = 0.01          # a deep cut from each origin on
        after = np.vstack([price_features(changed, sku[[r]], origin[[r]], target[[r]], int(origin[r]))
                                 for r in range(6)])
        np.testing.assert_array_equal(after, before)
        np.testing.assert_array_equal(before[:, 0], 1.0)   # future weeks: regular price, no promotion
        np.testing.assert_array_equal(before[:, 1], 0.0)


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gm, "TRAIN_ROWS", 6000)
    monkeypatch.setitem(gm.BOOSTING_PARAMS, "max_iter", 40)


def promotion_panel(seed: int, n: int = 100, weeks: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SKUs at a regular price with 20 % cuts in ~1 week of 8 that lift demand x 1.4."""
    rng = np.random.default_rng(seed)
    regular = rng.uniform(2.0, 30.0, (n, 1))
    promotion = rng.random((n, weeks)) < 0.125
    price = np.where(promotion, 0.8, 1.0) * regular
    y = rng.poisson(rng.uniform(5.0, 30.0, (n, 1)) * np.where(promotion, 1.4, 1.0)).astype(float)
    return y, rng.integers(0, 20, n), price


def test_global_model_with_prices_never_sees_demand_or_prices_at_or_after_an_origin(small_model: None) -> None:
    y, start, price = promotion_panel(0)
    n, weeks = y.shape
    cuts = backtest_cuts(weeks, 4, 13)
    before = gm.global_forecasts(y, start, cuts, 13, prices=price)
    rng = np.random.default_rng(9)
    for k in (0, cuts.size - 2):                       # the first and the last backtest origin
        demand, prices = y.copy(), price.copy()
        demand[:, cuts[k]:] = rng.poisson(200.0, (n, weeks - cuts[k]))
        prices[:, cuts[k]:] = rng.uniform(0.1, 100.0, (n, weeks - cuts[k]))   # other future prices
        after = gm.global_forecasts(demand, start, cuts, 13, prices=prices)
        np.testing.assert_array_equal(after.mean[:, :k + 1], before.mean[:, :k + 1])
        assert not np.allclose(after.mean[:, k + 1:], before.mean[:, k + 1:], equal_nan=True)


def test_global_model_learns_the_promotion_lift_from_the_price_feature(small_model: None) -> None:
    """Trained on the weeks before the last cut, the model with prices forecasts the regular-price
    demand (future weeks assume no promotion), while without prices it forecasts the average
    over promoted and regular weeks: (1 - 1/8) x 1 + 1/8 x 1.4 = 1.05 x the regular level."""
    y, start, price = promotion_panel(1, n=200, weeks=104)
    cuts = backtest_cuts(104, 4, 13)
    with_price = gm.global_forecasts(y, start, cuts, 13, prices=price)
    without = gm.global_forecasts(y, start, cuts, 13)
    ratio = np.nanmean(without.mean[:, -1]) / np.nanmean(with_price.mean[:, -1])
    assert 1.02 < ratio < 1.09
    assert with_price.valid[:, -1].all()


def test_demo_promotions_cut_prices_and_lift_demand_without_moving_the_default_demo() -> None:
    from safestock.pipelines.demo.data import generate_demo_data

    default = generate_demo_data(200, years=1.5, seed=11)
    priced = generate_demo_data(200, years=1.5, seed=11, promotion_share=0.4, trend_share=0.1)
    assert "unit_price" not in default["sales"].columns
    # items and suppliers are drawn before the simulation: the opt-in leaves them as they were
    pd.testing.assert_frame_equal(default["items"], priced["items"])
    pd.testing.assert_frame_equal(default["suppliers"], priced["suppliers"])
    truth = priced["demo_truth"].set_index("sku")
    assert (truth["promotion_weeks"] > 0).sum() == pytest.approx(80, abs=3)   # 40 % (a SKU may draw none)
    assert truth["persistent_trend"].sum() == 20
    sales = priced["sales"].assign(sku=lambda f: f["sku"].astype(str))
    sales["week"] = sales["date"] - pd.to_timedelta(sales["date"].dt.dayofweek, unit="D")
    weekly = sales.groupby(["sku", "week"]).agg(quantity=("quantity", "sum"), price=("unit_price", "max"))
    assert (sales.groupby(["sku", "week"])["unit_price"].nunique() == 1).all()   # one price per SKU-week
    regular = weekly.groupby(level="sku")["price"].transform("max")
    cut = 1 - weekly["price"] / regular
    promoted = cut > 0.005
    assert cut[promoted].between(0.09, 0.305).all()                  # 10-30 % (cents rounding)
    assert not promoted[~weekly.index.get_level_values("sku").isin(truth.index[truth["promotion_weeks"] > 0])].any()
    # demand lift x (1 + 2 cut): promoted weeks of promoted SKUs against their other weeks
    skus = truth.index[truth["promotion_weeks"] > 0]
    mine = weekly.index.get_level_values("sku").isin(skus)
    lift = weekly.loc[mine & promoted, "quantity"].sum() / promoted[mine].sum()
    base = weekly.loc[mine & ~promoted, "quantity"].sum() / (~promoted[mine]).sum()
    expected = 1 + 2 * cut[mine & promoted].mean()
    assert lift / base == pytest.approx(expected, rel=0.15)


def test_flow_passes_the_weekly_prices_to_the_global_model(prefect_harness: None, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import safestock.pipelines.flow as flow_module
    import safestock.pipelines.tasks.forecast as forecast_tasks
    from safestock.models.demand_matrix import build_demand_matrix, last_complete_week
    from safestock.pipelines.demo.data import generate_demo_data, write_demo_data

    tables = generate_demo_data(30, years=1.2, seed=5, promotion_share=0.5)
    write_demo_data(tables, tmp_path / "in")
    seen: list[np.ndarray | None] = []
    real_forecast = forecast_tasks.forecast_demand

    def recording_forecast(skus, history, *args, **kwargs):
        seen.append((np.asarray(skus), kwargs.get("prices")))
        return real_forecast(skus, history, *args, **kwargs)

    monkeypatch.setattr(forecast_tasks, "forecast_demand", recording_forecast)
    config = tmp_path / "safestock.toml"
    config.write_text("policy_backtest_weeks = 0\n[forecast]\nglobal_model = true\n")  # no replay: one engine call
    flow_module.weekly_run(input_dir=tmp_path / "in", db_path=tmp_path / "s.duckdb", reports_dir=tmp_path / "r",
                           config_path=config)
    skus, prices = seen[0]
    assert prices is not None and prices.shape[0] == skus.size
    # the last history week's price of each SKU is the price its sales lines carried that week
    sales = tables["sales"].assign(sku=lambda f: f["sku"].astype(str))
    last_week = sales["date"].max() - pd.Timedelta(days=6)
    that_week = sales[sales["date"] >= last_week].groupby("sku")["unit_price"].max()
    row = {sku: i for i, sku in enumerate(skus)}
    got = np.array([prices[row[sku], -1] for sku in that_week.index])
    np.testing.assert_allclose(got, that_week.to_numpy())
    # with the global model switched off the prices are not used, so not passed
    from safestock.pipelines.config import load_config
    from safestock.pipelines.inputs import load_inputs as load

    inputs = load(tmp_path / "in")
    demand = build_demand_matrix(inputs.sales_weekly, inputs.items["sku"].to_numpy(dtype=object),
                                 last_complete_week(inputs.as_of))
    off = tmp_path / "off.toml"
    off.write_text("[forecast]\nglobal_model = false\n")
    assert forecast_tasks.price_matrix(inputs, demand, load_config(off)) is None
    np.testing.assert_allclose(forecast_tasks.price_matrix(inputs, demand, load_config(config)), prices,
                               equal_nan=True)


def test_generate_command_writes_prices_on_request(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safestock.pipelines.cli import app

    result = CliRunner().invoke(app, ["generate", "--skus", "20", "--out", str(tmp_path / "p"), "--promotions", "0.5",
                                      "--trends", "0.1"])
    assert result.exit_code == 0, result.output
    sales = pd.read_csv(tmp_path / "p" / "sales.csv")
    assert "unit_price" in sales.columns and (sales["unit_price"] > 0).all()
    refused = CliRunner().invoke(app, ["generate", "--skus", "20", "--out", str(tmp_path / "q"), "--promotions", "2"])
    assert refused.exit_code != 0 and not (tmp_path / "q").exists()


def test_planned_prices_are_used_where_given_and_the_regular_price_elsewhere() -> None:
    # history of 12 weeks at 10.00; planned: week 12 at 7.50, week 13 not planned (NaN)
    price = np.array([[10.0] * 12 + [7.5, np.nan]])
    got = price_features(price, np.array([0, 0]), np.array([12, 12]), np.array([12, 13]), known_before=14)
    np.testing.assert_allclose(got, [[0.75, 1.0, 1.0], [1.0, 0.0, 1.0]])


def test_global_model_with_planned_prices_lifts_the_planned_promotion_weeks(small_model: None) -> None:
    """Trained on promotions (x 1.4 at a 20 % cut), given a plan with cuts in 3 of the 13 weeks
    ahead, the forecast of the planned weeks is about 1.4 x that of the regular ones."""
    y, start, price = promotion_panel(2, n=200, weeks=104)
    history, n = y[:, :91], y.shape[0]
    planned = np.full((n, 13), np.nan)
    planned[:, [2, 6, 7]] = 0.8 * price[:, :91].max(axis=1, keepdims=True)    # 20 % off the regular price
    cuts = backtest_cuts(91, 4, 13)
    result = gm.global_forecasts(history, start, cuts, 13, prices=np.concatenate([price[:, :91], planned], axis=1))
    final = result.mean[:, -1]
    promoted = np.zeros(13, dtype=bool)
    promoted[[2, 6, 7]] = True
    ratio = final[:, promoted].mean() / final[:, ~promoted].mean()
    assert 1.25 < ratio < 1.55
    with pytest.raises(ValueError, match="at least the 91 history weeks"):
        gm.global_forecasts(history, start, cuts, 13, prices=price[:, :90])
