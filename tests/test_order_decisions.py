"""Approved orders come back (issue 18, item 2): the buyer's decisions on a run's order files are
stored (`safestock approve`), approved lines count as on order until the ERP's purchase-order file
shows them, rejected lines are not recommended again."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from safestock.models.inventory import LeadTimes, build_planning_inputs
from safestock.models.inventory.decisions import (
    mark_rejected,
    pending_approvals,
    recent_rejections,
    with_approved_orders,
)
from safestock.pipelines.cli import app
from safestock.pipelines.flow import weekly_run
from safestock.pipelines.inputs import InputValidationError
from safestock.pipelines.inputs.approvals import read_approval_file
from typer.testing import CliRunner

FAST_CONFIG = "policy_backtest_weeks = 0\nhorizon_weeks = 26\n"


def _query(db: Path, text: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(text, params or []).df()


class _TableRows(HTMLParser):
    """The text of each body row's cells of the table with id ``table_id``."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


def _report_rows(path: Path, table_id: str) -> list[list[str]]:
    parser = _TableRows(table_id)
    parser.feed(path.read_text(encoding="utf-8"))
    return [row for row in parser.rows if row]


def _decision(**values: object) -> dict[str, object]:
    row = {"run_id": "r1", "as_of": pd.Timestamp("2026-03-01"), "line_key": "S1/A", "sku": "A", "supplier_id": "S1",
           "decision": "approved", "quantity": 40.0, "user": "ana", "decided_at": pd.Timestamp("2026-03-02 09:00"),
           "expected_arrival": pd.Timestamp("2026-03-20"), "po_reference": None}
    return {**row, **values}


def _po(**values: object) -> dict[str, object]:
    row = {"po_id": "PO9", "sku": "A", "supplier_id": "S1", "quantity": 40.0, "order_date": pd.Timestamp("2026-03-04"),
           "expected_date": pd.Timestamp("2026-03-20"), "received_date": pd.NaT, "received_quantity": np.nan,
           "status": "open"}
    return {**row, **values}


# --- the pure steps, by hand ---------------------------------------------------------------------

def test_an_approved_line_is_pending_until_a_po_in_the_window_or_with_its_reference_shows_it() -> None:
    decisions = pd.DataFrame([_decision(), _decision(line_key="S1/B", sku="B", quantity=10.0, po_reference="PO-77")])
    nothing = pd.DataFrame([_po(sku="Z")])
    assert list(pending_approvals(decisions, nothing, 28)["sku"]) == ["A", "B"]
    # same sku, supplier, quantity, ordered 3 days after the run: shows A; B shown by its reference only
    shown = pd.DataFrame([_po(), _po(po_id="PO-77", sku="B", quantity=12.0)])
    assert pending_approvals(decisions, shown, 28).empty
    # another quantity, another supplier, before the run, or after the window: not A's order
    for other in (_po(quantity=41.0), _po(supplier_id="S2"), _po(order_date=pd.Timestamp("2026-02-28")),
                  _po(order_date=pd.Timestamp("2026-03-30"))):
        assert list(pending_approvals(decisions, pd.DataFrame([other]), 28)["sku"]) == ["A", "B"], other
    assert list(pending_approvals(decisions, pd.DataFrame([_po(order_date=pd.Timestamp("2026-03-29"))]), 28)["sku"]) \
        == ["B"]  # day 28 is in the window


def test_pending_approvals_are_appended_to_the_open_orders() -> None:
    items = pd.DataFrame({"sku": ["A", "B"], "supplier_id": ["S1", "S1"], "unit_cost": [1.0, 2.0],
                          "pack_size": [1.0, 1.0], "moq": [0.0, 0.0], "service_level": [np.nan, np.nan],
                          "status": ["active", "active"]})
    suppliers = pd.DataFrame({"supplier_id": ["S1"], "review_period_days": [7], "min_order_value": [0.0]})
    lead = LeadTimes(per_sku=pd.DataFrame({"sku": ["A", "B"], "supplier_id": ["S1", "S1"],
                                           "lead_time_weeks_mean": [2.0, 2.0], "lead_time_weeks_sd": [0.0, 0.0],
                                           "lead_time_weeks_p90": [2.0, 2.0]}),
                     per_supplier=pd.DataFrame({"supplier_id": ["S1"], "mean_days_late": [0.0]}))
    planning = build_planning_inputs(np.array(["A", "B"]), items, suppliers, lead,
                                     as_of=pd.Timestamp("2026-03-08"))
    pending = pd.DataFrame([_decision(sku="B", quantity=25.0), _decision(sku="GONE")])
    extended = with_approved_orders(planning, pending)
    assert list(extended.open_order_row) == [1] and list(extended.open_order_quantity) == [25.0]
    assert extended.open_order_arrival[0] == np.datetime64("2026-03-20")
    assert len(planning.open_order_row) == 0  # the step is pure


def test_a_recent_rejection_marks_the_line_rejected_and_an_old_one_is_forgotten() -> None:
    decisions = pd.DataFrame([_decision(decision="rejected", user="bo"),
                              _decision(decision="rejected", sku="B", line_key="S1/B",
                                        as_of=pd.Timestamp("2026-01-25"))])
    orders = pd.DataFrame({"sku": ["A", "B", "C"], "supplier_id": ["S1", "S1", "S1"], "order_quantity": [5.0, 6, 7],
                           "reason": ["below s", "below s", "below s"], "status": ["recommended"] * 3})
    # as_of 2026-03-22 with 4 weeks memory: A (21 days ago) is remembered, B (56 days) is not
    marked = mark_rejected(orders, recent_rejections(decisions, pd.Timestamp("2026-03-22"), 4))
    assert list(marked["status"]) == ["rejected", "recommended", "recommended"]
    assert marked["reason"].iloc[0] == "rejected by bo on 2026-03-02 (run r1); below s"
    assert list(orders["status"]) == ["recommended"] * 3
    # a run before the rejected run's date (a backfill) does not see it
    assert recent_rejections(decisions, pd.Timestamp("2026-02-20"), 4)["sku"].tolist() == ["B"]  # 26 days


# --- the file the buyer hands back ---------------------------------------------------------------

def _run_lines() -> pd.DataFrame:
    return pd.DataFrame({"run_id": ["r1", "r1"], "sku": ["A", "B"], "supplier_id": ["S1", "S1"],
                         "order_quantity": [40.0, 10.0], "expected_arrival": pd.to_datetime(["2026-03-20"] * 2)})


def test_the_approval_file_names_file_line_and_column_of_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "S1.csv"
    path.write_text("supplier_id,sku,order_quantity,run_id,approve\n"
                    "S1,A,-5,r1,yes\n"       # line 2: negative quantity
                    "S1,NOPE,3,r1,no\n"      # line 3: unknown sku
                    "S1,B,10,r0,yes\n"       # line 4: another run's line
                    "S1,B,10,r1,maybe\n")    # line 5: not a decision (and B twice)
    with pytest.raises(InputValidationError) as caught:
        read_approval_file(path, _run_lines(), "r1")
    text = str(caught.value)
    assert "S1.csv, line 2, column 'order_quantity': approved quantity '-5' is not a number > 0" in text
    assert "S1.csv, line 3, column 'sku': unknown sku 'NOPE': not an order line of run 'r1'" in text
    assert "S1.csv, line 4, column 'run_id': line of run 'r0', not of run 'r1' being decided" in text
    assert "S1.csv, line 5, column 'approve': 'maybe' is not a decision" in text
    assert "S1.csv, line 5, column 'sku': sku 'B' appears twice" in text


def test_the_approval_file_gives_approved_quantities_and_skips_undecided_lines(tmp_path: Path) -> None:
    path = tmp_path / "S1.csv"
    path.write_text("supplier_id,sku,order_quantity,run_id,approve,po_reference\n"
                    "S1,A,30,r1,Yes,PO-1\nS1,B,10,r1,\n")
    decisions = read_approval_file(path, _run_lines())
    assert decisions[["line_key", "decision", "quantity", "recommended_quantity", "po_reference"]].to_dict("records") \
        == [{"line_key": "S1/A", "decision": "approved", "quantity": 30.0, "recommended_quantity": 40.0,
             "po_reference": "PO-1"}]


def test_decision_settings_are_read_and_a_negative_one_is_refused(tmp_path: Path) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    config = tmp_path / "safestock.toml"
    config.write_text("rejected_memory_weeks = 6\napproval_match_days = 14\n")
    loaded = load_config(config)
    assert (loaded.rejected_memory_weeks, loaded.approval_match_days) == (6, 14)
    config.write_text("rejected_memory_weeks = -1\n")
    with pytest.raises(ConfigError, match="rejected_memory_weeks must be a whole number >= 0, not -1"):
        load_config(config)


def test_approve_stores_nothing_when_a_file_is_invalid(tmp_path: Path) -> None:
    """Two files, the second with an unknown sku: exit 2, the message names file, line and column,
    and the first file's valid decisions are not stored either."""
    from safestock.pipelines import storage

    db = tmp_path / "s.duckdb"
    with storage.connect(db) as con:
        con.execute("insert into runs (run_id, as_of, started_at, status) values "
                    "('r1', date '2026-03-01', timestamp '2026-03-01 06:00', 'succeeded')")
        con.execute("insert into purchase_recommendations (run_id, supplier_id, sku, order_quantity, reason, status, "
                    "expected_arrival) values ('r1', 'S1', 'A', 40, 'below s', 'recommended', date '2026-03-20'), "
                    "('r1', 'S2', 'B', 10, 'below s', 'recommended', date '2026-03-20')")
    good, bad = tmp_path / "S1.csv", tmp_path / "S2.csv"
    good.write_text("supplier_id,sku,order_quantity,run_id,approve\nS1,A,40,r1,yes\n")
    bad.write_text("supplier_id,sku,order_quantity,run_id,approve\nS2,B,10,r1,yes\nS2,C,5,r1,no\n")
    result = CliRunner().invoke(app, ["approve", "--db", str(db), str(good), str(bad)])
    assert result.exit_code == 2
    assert "S2.csv, line 3, column 'sku': unknown sku 'C'" in " ".join(result.output.split())
    assert _query(db, "select count(*) as n from order_decisions")["n"].iloc[0] == 0
    result = CliRunner().invoke(app, ["approve", "--db", str(db), "--user", "ana", str(good)])
    assert result.exit_code == 0, result.output
    stored = _query(db, "select run_id, line_key, decision, quantity, user, as_of from order_decisions")
    assert stored.astype(str).to_dict("records") == [{"run_id": "r1", "line_key": "S1/A", "decision": "approved",
                                                      "quantity": "40.0", "user": "ana", "as_of": "2026-03-01"}]


# --- the three-week scenario ---------------------------------------------------------------------

@pytest.mark.slow
def test_three_weeks_approved_lines_count_once_and_rejected_lines_stay_rejected(
        prefect_harness: None, demo_input: Path, tmp_path: Path) -> None:
    config = tmp_path / "safestock.toml"
    config.write_text(FAST_CONFIG)
    db, reports = tmp_path / "s.duckdb", tmp_path / "reports"
    week1 = weekly_run(input_dir=demo_input, db_path=db, reports_dir=reports, config_path=config)
    lines1 = _query(db, "select * from purchase_recommendations where run_id = ? and status = 'recommended'",
                    [week1.run_id])
    supplier = lines1["supplier_id"].value_counts().index[0]  # the supplier with most lines
    order_file = next((reports / "orders" / f"{week1.as_of:%Y-%m-%d}").glob("*.csv"))
    order_file = [p for p in order_file.parent.glob("*.csv")
                  if pd.read_csv(p, dtype=str)["supplier_id"].iloc[0] == supplier][0]
    edited = pd.read_csv(order_file, dtype=str, keep_default_na=False)
    assert "approve" in edited.columns and (edited["approve"] == "").all()
    assert len(edited) >= 3
    approved_sku, rejected_sku = edited["sku"].iloc[0], edited["sku"].iloc[1]  # the third line stays undecided
    edited.loc[0, "approve"], edited.loc[1, "approve"] = "yes", "no"
    edited.to_csv(order_file, index=False)
    approved_quantity = float(edited.loc[0, "order_quantity"])

    result = CliRunner().invoke(app, ["approve", "--db", str(db), "--run-id", week1.run_id, "--user", "buyer1",
                                      "--reports", str(reports), str(order_file)])
    assert result.exit_code == 0, result.output
    assert "Stored 2 decision(s) by buyer1: 1 approved, 1 rejected" in result.output
    # the re-rendered week-1 buyer report: recommended vs approved, rejected and undecided lines of the supplier
    (row,) = [r for r in _report_rows(reports / f"buyer_{week1.as_of:%Y-%m-%d}.html", "decisions-table")
              if r[0].endswith(supplier)]
    recommended_units = pd.to_numeric(edited["order_quantity"]).sum()
    assert [int(v.replace(",", "")) for v in row[1:]] == [
        len(edited), round(recommended_units), 1, round(approved_quantity), 1, len(edited) - 2, 0]

    # week 2: a week later, the same ERP files (the approved PO not in them)
    week2 = weekly_run(input_dir=demo_input, db_path=db, reports_dir=reports, config_path=config,
                       as_of=(pd.Timestamp(week1.as_of) + pd.Timedelta(days=7)).date())
    risk = _query(db, "select run_id, sku, on_order from backorder_risk where sku = ? and run_id in (?, ?)",
                  [approved_sku, week1.run_id, week2.run_id]).set_index("run_id")["on_order"]
    assert risk[week2.run_id] - risk[week1.run_id] == pytest.approx(approved_quantity)  # counted as on order
    lines2 = _query(db, "select * from purchase_recommendations where run_id = ?", [week2.run_id]).set_index("sku")
    assert approved_sku not in lines2.index or lines2.loc[approved_sku, "order_quantity"] < approved_quantity
    assert lines2.loc[rejected_sku, "status"] == "rejected"
    assert lines2.loc[rejected_sku, "reason"].startswith(f"rejected by buyer1 on ")
    assert set(lines2.index[lines2["status"] == "rejected"]) == {rejected_sku}  # undecided lines are not remembered
    file2 = pd.concat([pd.read_csv(p, dtype=str) for p in (reports / "orders" / f"{week2.as_of:%Y-%m-%d}").glob("*.csv")])
    assert rejected_sku not in set(file2["sku"])
    (row2,) = [r for r in _report_rows(reports / f"buyer_{week2.as_of:%Y-%m-%d}.html", "decisions-table")
               if r[0].endswith(supplier)]
    assert row2[-1] == "1"  # the rejected line, shown as rejected earlier

    # week 3: the ERP file now holds the PO -> counted once
    erp = tmp_path / "erp_week3"
    shutil.copytree(demo_input, erp)
    po = pd.read_csv(erp / "purchase_orders.csv", dtype=str, keep_default_na=False)
    placed = {column: "" for column in po.columns}
    placed.update(po_id="PO-APPROVED-1", sku=approved_sku, supplier_id=supplier, quantity=str(int(approved_quantity)),
                  order_date=f"{pd.Timestamp(week1.as_of) + pd.Timedelta(days=2):%Y-%m-%d}",
                  expected_date=f"{pd.Timestamp(lines1.set_index('sku').loc[approved_sku, 'expected_arrival']):%Y-%m-%d}",
                  status="open")
    pd.concat([po, pd.DataFrame([placed])]).to_csv(erp / "purchase_orders.csv", index=False)
    week3 = weekly_run(input_dir=erp, db_path=db, reports_dir=reports, config_path=config,
                       as_of=(pd.Timestamp(week1.as_of) + pd.Timedelta(days=14)).date())
    on_order3 = _query(db, "select on_order from backorder_risk where run_id = ? and sku = ?",
                       [week3.run_id, approved_sku])["on_order"].iloc[0]
    assert on_order3 - risk[week1.run_id] == pytest.approx(approved_quantity)  # once, not twice
