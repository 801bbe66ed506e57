"""Inferred stock-outs without a stock history (issue 16.2): rule by hand, loader, precision, bias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.models.stockout_inference import infer_stockout_days, zero_sales_probability
from safestock.pipelines.config import ConfigError, load_config
from safestock.pipelines.inputs import load_inputs

from tests.benchmark_scripts import benchmark_module

UNIFORM = np.full(7, 1 / 7)


def test_zero_sales_probability_takes_the_larger_of_the_two_models() -> None:
    # Poisson mean 5: e^-5 = 0.006738; NB size 1, mean 5: 1 / 6 = 0.1667; lumpy orders of
    # 5 units: e^-1 = 0.3679 (the largest wins).
    assert zero_sales_probability(np.array([5.0]), np.array([np.inf]))[0] == pytest.approx(np.exp(-5))
    assert zero_sales_probability(np.array([5.0]), np.array([1.0]))[0] == pytest.approx(1 / 6)
    assert zero_sales_probability(np.array([5.0]), np.array([1.0]), 5.0)[0] == pytest.approx(np.exp(-1))


def test_a_long_zero_run_ending_with_a_receipt_is_flagged_and_nothing_else() -> None:
    # 10 weeks at 2 units a day (uniform weekdays: 14 a week, Poisson as in-stock weeks have no
    # spread, 2 units per selling day). SKU 0: days 30-43 without sales, receipt on day 44:
    # P0 = max(e^-28, e^-(28 / 2)) = e^-14 < 1 % -> days 30..43 flagged (weeks 4, 5, 6 get
    # 5, 7 and 2 days: in-stock shares 2/7, 0 and 5/7).
    # SKU 1: the same run but no receipt -> nothing. SKU 2: 2 days without sales before a
    # receipt: P0 = e^-(4 / 2) = 0.135 -> nothing. SKU 3: the run ends with a receipt but sales
    # never come back (demand gone) -> nothing. SKU 4: a new item's first receipt -> nothing.
    sales = np.full((5, 70), 2.0)
    receipts = np.zeros((5, 70), dtype=bool)
    sales[0, 30:44] = 0
    receipts[0, 44] = True
    sales[1, 30:44] = 0
    sales[2, 30:32] = 0
    receipts[2, 32] = True
    sales[3, 30:] = 0
    receipts[3, 44] = True
    sales[4, :20] = 0
    receipts[4, 19] = True
    result = infer_stockout_days(sales, receipts, UNIFORM, first_weekday=0)
    assert np.flatnonzero(result.out_of_stock[0]).tolist() == list(range(30, 44))
    assert not result.out_of_stock[1:].any()
    assert result.weekly_out_of_stock_days[0].tolist() == [0, 0, 0, 0, 5, 7, 2, 0, 0, 0]
    assert result.weekly_in_stock_share[0, 4:7] == pytest.approx([2 / 7, 0.0, 5 / 7])
    assert (result.weekly_in_stock_share[1:] == 1).all()


def _folder(tmp_path: Path, receipt: bool = True) -> Path:
    """Lost items A, B and backorder item C selling 4 a day for 13 weeks; A and C sell nothing
    on 2026-10-05..18; every SKU receives stock on 2026-10-19."""
    (tmp_path / "suppliers.csv").write_text("supplier_id,name,lead_time_days\nS1,Sup,7\n")
    (tmp_path / "items.csv").write_text("sku,supplier_id,unit_cost,pack_size,moq,unmet_demand\n"
                                        "A,S1,1,1,0,lost\nB,S1,1,1,0,lost\nC,S1,1,1,0,backorder\n")
    (tmp_path / "inventory.csv").write_text("sku,on_hand,as_of\nA,5,2026-11-15\nB,5,2026-11-15\nC,5,2026-11-15\n")
    out = set(pd.date_range("2026-10-05", "2026-10-18"))
    rows = [f"{day:%Y-%m-%d},{sku},4\n" for day in pd.date_range("2026-08-17", "2026-11-15") for sku in "ABC"
            if not (sku in "AC" and day in out)]
    (tmp_path / "sales.csv").write_text("date,sku,quantity\n" + "".join(rows))
    lines = "".join(f"P{sku},{sku},S1,50,2026-10-01,2026-10-19,2026-10-19,50\n" for sku in "ABC") if receipt else ""
    (tmp_path / "purchase_orders.csv").write_text(
        "po_id,sku,supplier_id,quantity,order_date,expected_date,received_date,received_quantity\n" + lines)
    return tmp_path


def test_loader_marks_inferred_weeks_of_lost_items_and_says_so(tmp_path: Path) -> None:
    inputs = load_inputs(_folder(tmp_path), max_sales_age_days=None)
    weekly = inputs.stock_weekly
    # Only A: B sold throughout, C is a backorder item (its sales already hold the demand).
    assert weekly[["sku", "week", "in_stock_share", "out_of_stock_days", "stockout_source"]].values.tolist() == [
        ["A", pd.Timestamp("2026-10-05"), 0.0, 7, "inferred"],
        ["A", pd.Timestamp("2026-10-12"), 0.0, 7, "inferred"]]
    notes = [note for note in inputs.notes if "inferred stock-outs" in note.message]
    assert len(notes) == 1 and notes[0].file == "sales.csv" and notes[0].rows == 2
    assert notes[0].message.startswith("2 sku-week(s) of 1 of 2 lost-sales sku(s) without stock_history")
    # Switched off, or no receipt to end the run: nothing is inferred.
    assert load_inputs(tmp_path, max_sales_age_days=None, infer_stockouts=False).stock_weekly is None
    assert load_inputs(_folder(tmp_path, receipt=False), max_sales_age_days=None).stock_weekly is None


def test_a_sku_with_stock_history_is_not_inferred(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "stock_history.csv").write_text("sku,date,on_hand\nA,2026-11-02,9\n")
    weekly = load_inputs(folder, max_sales_age_days=None).stock_weekly
    assert weekly["stockout_source"].tolist() == ["stock_history"]
    assert weekly["sku"].tolist() == ["A"]


def test_infer_stockouts_config_switch(tmp_path: Path) -> None:
    assert load_config(None).inputs.infer_stockouts is True
    path = tmp_path / "c.toml"
    path.write_text("[inputs]\ninfer_stockouts = false\n")
    assert load_config(path).inputs.infer_stockouts is False
    path.write_text("[inputs]\ninfer_stockouts = \"no\"\n")
    with pytest.raises(ConfigError, match="infer_stockouts must be true or false"):
        load_config(path)


def test_inference_is_precise_and_reduces_the_bias_on_simulated_stockouts() -> None:
    # benchmarks/censored_demand.py: known shelf, receipts in purchase_orders, no stock_history.
    # Measured (150 SKUs, seed 1): bias -34.1 % from sales, -18.8 % with inferred stock-outs,
    # -0.0 % with the stock history; inferred weeks 100.0 % truly out of stock (1,483 weeks),
    # 0.00 % of the weeks fully in stock flagged; 37.6 % of the weeks >= 3 days out found.
    benchmark = benchmark_module("censored_demand")
    figures = benchmark.measure(benchmark.simulate_lost_sales(n_skus=150, weeks=104, seed=1))
    assert figures["inferred_weeks"] > 500
    assert figures["inferred_precision"] >= 0.95
    assert figures["flagged_share_of_in_stock_weeks"] < 0.01
    assert figures["bias_sales"] < figures["bias_inferred"] - 0.05
    assert figures["bias_inferred"] < 0.03


def test_skus_that_never_stocked_out_are_almost_never_flagged() -> None:
    # Reorder points covering 1.6-2.5 x the lead-time demand: no SKU runs out. Measured: 0 of
    # 15,600 SKU-weeks flagged (seed 2).
    benchmark = benchmark_module("censored_demand")
    world = benchmark.simulate_lost_sales(n_skus=150, weeks=104, seed=2, cover_range=(1.6, 2.5))
    figures = benchmark.measure(world, forecast=False)
    assert figures["never_out_skus"] == 150
    assert figures["flagged_share_never_out"] < 0.01


def _stock_folder(tmp_path: Path, stock_rows: list[str], header: str = "sku,date,on_hand,stockout_hours") -> Path:
    """Items A, B (lost); sales Mon-Fri 4 a day over the 3 weeks to 2026-11-15; as_of 2026-11-18;
    the given stock_history rows."""
    (tmp_path / "suppliers.csv").write_text("supplier_id,name,lead_time_days\nS1,Sup,7\n")
    (tmp_path / "items.csv").write_text("sku,supplier_id,unit_cost,pack_size,moq,unmet_demand\n"
                                        "A,S1,1,1,0,lost\nB,S1,1,1,0,lost\n")
    (tmp_path / "inventory.csv").write_text("sku,on_hand,as_of\nA,5,2026-11-18\nB,5,2026-11-18\n")
    (tmp_path / "purchase_orders.csv").write_text(
        "po_id,sku,supplier_id,quantity,order_date,expected_date,received_date,received_quantity\n")
    (tmp_path / "sales.csv").write_text("date,sku,quantity\n" + "".join(
        f"{day:%Y-%m-%d},{sku},4\n" for day in pd.date_range("2026-10-26", "2026-11-15") for sku in "AB"
        if day.weekday() < 5))
    (tmp_path / "stock_history.csv").write_text(header + "\n" + "".join(row + "\n" for row in stock_rows))
    return tmp_path


def test_stock_history_fast_path_gives_the_staged_paths_weekly_shares(tmp_path: Path, monkeypatch) -> None:
    # Week of 2026-11-02 (weekdays weigh 1/5 each, weekend 0): A sells out on Tue (1/2 day), is
    # empty all Wed and Thu, 6 stockout hours on Fri (1/4): share = 1 - (0.5 + 1 + 1 + 0.25) / 5
    # = 0.45; B ends Mon and Tue at 0 but has no row on Sun: Mon counts nothing, Tue a whole day
    # (1 - 1/5 = 0.8). The week of 2026-11-16 is incomplete at as_of (Wed): left out.
    import safestock.pipelines.inputs.load as load_module

    rows = ["A,2026-11-01,3,", "A,2026-11-02,2,", "A,2026-11-03,0,", "A,2026-11-04,0,", "A,2026-11-05,0,",
            "A,2026-11-06,7,6", "A,2026-11-09,5,", "B,2026-11-02,0,", "B,2026-11-03,0,", "B,2026-11-17,0,"]
    fast = load_inputs(_stock_folder(tmp_path, rows), max_sales_age_days=None).stock_weekly
    assert fast[["sku", "week", "in_stock_share", "out_of_stock_days"]].values.tolist() == [
        ["A", pd.Timestamp("2026-10-26"), 1.0, 0], ["A", pd.Timestamp("2026-11-02"), pytest.approx(0.45), 4],
        ["A", pd.Timestamp("2026-11-09"), 1.0, 0], ["B", pd.Timestamp("2026-11-02"), pytest.approx(0.8), 1]]
    monkeypatch.setattr(load_module, "stock_history_fast",
                        lambda con, spec, path, issues, items, source=None:
                        load_module.stage(con, spec, path, issues, source))
    staged = load_inputs(tmp_path, max_sales_age_days=None).stock_weekly
    pd.testing.assert_frame_equal(fast.sort_values(["sku", "week"]).reset_index(drop=True),
                                  staged.sort_values(["sku", "week"]).reset_index(drop=True), check_dtype=False)


_STOCK_ROWS = ["A,2026-11-01,3,", "A,2026-11-02,2,", "A,2026-11-03,0,", "A,2026-11-04,0,", "A,2026-11-05,0,",
               "A,2026-11-06,7,6", "A,2026-11-09,5,", "B,2026-11-02,0,", "B,2026-11-03,0,", "B,2026-11-17,0,"]


def _as_parquet(folder: Path, frame: pd.DataFrame) -> None:
    """stock_history.csv replaced by stock_history.parquet holding ``frame`` (its dtypes as given;
    NaN is NULL but in on_hand, where it stays a NaN value)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "stock_history.csv").unlink(missing_ok=True)
    pq.write_table(pa.table({name: pa.array(frame[name].to_numpy(), from_pandas=name != "on_hand")
                             for name in frame.columns}), folder / "stock_history.parquet")


def _typed_stock(rows: list[str]) -> pd.DataFrame:
    """The CSV rows as a typed frame: text sku, date, integer on_hand, float stockout_hours."""
    frame = pd.DataFrame([row.split(",") for row in rows], columns=["sku", "date", "on_hand", "stockout_hours"])
    return frame.assign(date=pd.to_datetime(frame["date"]).dt.date, on_hand=frame["on_hand"].astype("int32"),
                        stockout_hours=pd.to_numeric(frame["stockout_hours"]).astype("float64"))


def test_typed_parquet_stock_history_is_checked_natively_and_gives_the_same_shares(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    # the fast-path case above as a Parquet file with native column types: checked on the native
    # values (sql/load_stock_history_native.sql), no text cast; the same weekly shares as the CSV
    import safestock.pipelines.inputs.stock_fast as stock_fast

    (tmp_path / "csv").mkdir()
    (tmp_path / "parquet").mkdir()
    csv_weekly = load_inputs(_stock_folder(tmp_path / "csv", _STOCK_ROWS), max_sales_age_days=None).stock_weekly
    folder = _stock_folder(tmp_path / "parquet", _STOCK_ROWS)
    _as_parquet(folder, _typed_stock(_STOCK_ROWS))
    used: list[bool] = []
    original = stock_fast.native_scan
    monkeypatch.setattr(stock_fast, "native_scan", lambda *args: used.append(original(*args) is not None)
                        or original(*args))
    parquet_weekly = load_inputs(folder, max_sales_age_days=None).stock_weekly
    assert used == [True]
    pd.testing.assert_frame_equal(parquet_weekly.reset_index(drop=True), csv_weekly.reset_index(drop=True),
                                  check_dtype=False)
    assert parquet_weekly.loc[parquet_weekly["sku"] == "A", "in_stock_share"].tolist() == pytest.approx(
        [1.0, 0.45, 1.0])
    # text columns in the Parquet file: the text checks, as before
    _as_parquet(folder, _typed_stock(_STOCK_ROWS).astype(str).replace("nan", ""))
    used.clear()
    text_weekly = load_inputs(folder, max_sales_age_days=None).stock_weekly
    assert used == [False]
    pd.testing.assert_frame_equal(text_weekly.reset_index(drop=True), csv_weekly.reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.parametrize("row, column, message", [
    (2, "on_hand", "must be >= 0"),               # a negative on_hand
    (5, "stockout_hours", "must be <= 24"),       # 30 stockout hours
    (3, "on_hand", "expected a finite number"),   # NaN on_hand (float column)
    (4, "date", "date outside the supported range"),
])
def test_typed_parquet_stock_history_with_a_bad_value_reports_file_row_and_column(
        tmp_path: Path, row: int, column: str, message: str) -> None:
    from safestock.pipelines.inputs import InputValidationError

    frame = _typed_stock(_STOCK_ROWS)
    frame["on_hand"] = frame["on_hand"].astype("float64")
    if column == "date":
        frame.loc[row, column] = pd.Timestamp("1899-12-31").date()
    else:
        frame.loc[row, column] = {"must be >= 0": -1.0, "must be <= 24": 30.0}.get(message, float("nan"))
    folder = _stock_folder(tmp_path, _STOCK_ROWS)
    _as_parquet(folder, frame)
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder, max_sales_age_days=None)
    text = str(caught.value)
    assert f"stock_history.parquet, row {row + 2}, column '{column}'" in text and message in text


def test_typed_parquet_stock_history_with_padded_skus_is_staged_and_loads(tmp_path: Path) -> None:
    # a padded sku matches no item natively: the staged path trims it, as for any table
    frame = _typed_stock(_STOCK_ROWS)
    frame["sku"] = " " + frame["sku"] + " "
    folder = _stock_folder(tmp_path, _STOCK_ROWS)
    _as_parquet(folder, frame)
    weekly = load_inputs(folder, max_sales_age_days=None).stock_weekly
    assert weekly.loc[weekly["sku"] == "A", "in_stock_share"].tolist() == pytest.approx([1.0, 0.45, 1.0])


def test_stock_history_fast_path_reports_bad_rows_like_the_staged_path(tmp_path: Path) -> None:
    from safestock.pipelines.inputs import InputValidationError

    folder = _stock_folder(tmp_path, ["A,2026-11-02,1,", "A,2026-11-02,4,", "C,2026-11-03,1,"])
    with pytest.raises(InputValidationError) as caught:  # unknown sku -> staged -> every issue
        load_inputs(folder, max_sales_age_days=None)
    text = str(caught.value)
    assert "stock_history.csv, line 4, column 'sku'" in text and "unknown sku 'C'" in text
    assert "stock_history.csv, line 3, column 'sku / date'" in text and "duplicate" in text
    _stock_folder(tmp_path, ["A,2026-11-02,1,", "B,2026-11-02,1,", "A,2026-11-02,4,"])
    with pytest.raises(InputValidationError) as caught:  # only a duplicate: found on the grid
        load_inputs(folder, max_sales_age_days=None)
    assert "stock_history.csv, line 4, column 'sku / date'" in str(caught.value)
    assert "first on line 2" in str(caught.value)
