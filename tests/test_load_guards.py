"""Input guards of issues 19 and 20: an unterminated quote names its line (20.12); supplier durations
are capped in the contract (20.10); misspelled optional columns are refused, unknown ones noted
(19.3); stale sales history is refused (19.4); stale open POs, receipts before their order and
clamped service levels become data-quality warnings (20.8)."""

from __future__ import annotations

import datetime
import gzip
from pathlib import Path

import pytest
from safestock.pipelines.inputs import InputValidationError, ValidationIssue, load_inputs

from tests.test_load import VALID_FILES, with_line, write_folder


def issues_of(folder: Path, **options: object) -> list[ValidationIssue]:
    with pytest.raises(InputValidationError) as caught:
        load_inputs(folder, **options)
    return caught.value.issues


# ------------------------------------------------------------------ 20.12 unterminated quote

@pytest.mark.parametrize("file, line, text", [
    ("sales.csv", 5, '2026-01-05,"007,4'),          # the big table's fast path falls back to staging
    ("items.csv", 3, '008,S1,1,1,10,"Gadget, large,,'),
    ("purchase_orders.csv", 2, 'P1,007,S1,60,"2025-12-01,2025-12-15,2025-12-16,60'),
])
def test_unterminated_quote_names_the_line_where_it_opens(tmp_path: Path, file: str, line: int,
                                                          text: str) -> None:
    folder = write_folder(tmp_path, {file: with_line(file, line, text)})
    found = [str(issue) for issue in issues_of(folder) if issue.file == file]
    assert found and found[0].startswith(f"{file}, line {line}: malformed record (unterminated quote"), found


def test_unterminated_quote_in_a_gzip_csv_names_the_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"sales.csv": None})
    (folder / "sales.csv.gz").write_bytes(gzip.compress(
        with_line("sales.csv", 7, '2026-01-12,007,"9').encode()))
    assert [str(issue) for issue in issues_of(folder)] == [
        "sales.csv.gz, line 7: malformed record (unterminated quote: a quote opened on this line never "
        "closes): '2026-01-12,007,\"9\\n2026-01-20,008,1\\n'"]


# ------------------------------------------------------------------ 20.10 duration caps

def test_lead_time_and_review_period_are_capped_with_file_line_column(tmp_path: Path) -> None:
    suppliers = ("supplier_id,name,lead_time_days,review_period_days\n"
                 "S1,Acme,9e11,\n"
                 "S2,Beta,21,366\n")
    folder = write_folder(tmp_path, {"suppliers.csv": suppliers})
    assert [str(issue) for issue in issues_of(folder)] == [
        "suppliers.csv, line 2, column 'lead_time_days': must be <= 3650 days, got '9e11'",
        "suppliers.csv, line 3, column 'review_period_days': must be <= 365 days, got '366'",
    ]


def test_durations_at_the_caps_load(tmp_path: Path) -> None:
    suppliers = ("supplier_id,name,lead_time_days,review_period_days\n"
                 "S1,Acme,3650,365\n"
                 "S2,Beta,21,14\n")
    loaded = load_inputs(write_folder(tmp_path, {"suppliers.csv": suppliers}))
    assert loaded.suppliers.set_index("supplier_id").loc["S1"].tolist()[1:3] == [3650.0, 365.0]



# ------------------------------------------------------------------ 19.3 misspelled optional columns

MISSPELLED = {
    "inventory.csv": "sku,on_hand,as_of,back_orders\n007,10,2026-01-14,5\n008,0,2026-01-14,0\n100,5,2026-01-13,2\n",
    "items.csv": VALID_FILES["items.csv"].replace(",status\n", ",sttus\n", 1),
    "suppliers.csv": "supplier_id,name,lead_time_days,min_order_val\nS1,Acme,14,500\nS2,Beta,21,0\n",
}


def test_misspelled_optional_columns_are_errors_naming_file_column_and_the_intended_name(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, MISSPELLED)
    found = sorted(str(issue) for issue in issues_of(folder))
    assert found == [
        "inventory.csv, line 1, column 'back_orders': unknown column — did you mean 'backordered'? Its "
        "values are not read: without a 'backordered' column every row takes the default 0. Rename it, or "
        "set allow_extra_columns = true in the [inputs] table of the --config file to ignore it",
        "items.csv, line 1, column 'sttus': unknown column — did you mean 'status'? Its values are not "
        "read: without a 'status' column every row takes the default active. Rename it, or set "
        "allow_extra_columns = true in the [inputs] table of the --config file to ignore it",
        "suppliers.csv, line 1, column 'min_order_val': unknown column — did you mean 'min_order_value'? "
        "Its values are not read: without a 'min_order_value' column every row takes the default 0. "
        "Rename it, or set allow_extra_columns = true in the [inputs] table of the --config file to "
        "ignore it",
    ]


def test_the_structure_check_before_prefect_refuses_them_too(tmp_path: Path) -> None:
    from safestock.pipelines.inputs import check_input_structure

    folder = write_folder(tmp_path, MISSPELLED)
    with pytest.raises(InputValidationError) as caught:
        check_input_structure(folder)
    assert sorted((i.file, i.column) for i in caught.value.issues) == [
        ("inventory.csv", "back_orders"), ("items.csv", "sttus"), ("suppliers.csv", "min_order_val")]
    check_input_structure(folder, allow_extra_columns=True)  # allowed: no issue


def test_allowed_misspellings_and_unknown_columns_are_notes(tmp_path: Path) -> None:
    replace = {**MISSPELLED, "sales.csv": VALID_FILES["sales.csv"].replace("date,sku,quantity\n",
                                                                           "date,sku,quantity,channel\n", 1)}
    replace["sales.csv"] = "".join(line + (",web\n" if index else "\n") for index, line in
                                   enumerate(replace["sales.csv"].splitlines()))
    loaded = load_inputs(write_folder(tmp_path, replace), allow_extra_columns=True)
    notes = {(n.file, n.column): n for n in loaded.notes if "not part of the contract" in n.message}
    assert sorted(notes) == [("inventory.csv", "back_orders"), ("items.csv", "sttus"),
                             ("sales.csv", "channel"), ("suppliers.csv", "min_order_val")]
    assert (notes["sales.csv", "channel"].severity, notes["sales.csv", "channel"].rows) == ("info", 7)
    assert notes["sales.csv", "channel"].message == "column 'channel' is not part of the contract: ignored"
    backorders = notes["inventory.csv", "back_orders"]
    assert (backorders.severity, backorders.rows) == ("warning", 3)
    assert "did you mean 'backordered'?" in backorders.message
    assert loaded.inventory["backordered"].tolist() == [0.0, 0.0, 0.0]  # as the warning says


def test_a_different_column_beside_a_present_one_is_only_noted(tmp_path: Path) -> None:
    # 'statuses' is a near-miss of 'status', but the file has a status column: not a misspelling
    items = "".join(line + (",statuses\n" if index == 0 else ",x\n")
                    for index, line in enumerate(VALID_FILES["items.csv"].splitlines()))
    loaded = load_inputs(write_folder(tmp_path, {"items.csv": items}))
    assert [(n.column, n.severity) for n in loaded.notes if "not part of the contract" in n.message] == [
        ("statuses", "info")]


def test_a_misspelled_required_column_is_named_in_the_missing_column_issue(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"sales.csv": VALID_FILES["sales.csv"].replace("quantity", "quantty", 1)})
    assert [str(issue) for issue in issues_of(folder)] == [
        "sales.csv, column 'quantity': required column is missing (columns found: date, sku, quantty) — "
        "is 'quantty' a misspelling of it?"]


# ------------------------------------------------------------------ 19.4 stale sales history

def test_sales_ending_more_than_max_age_before_as_of_are_refused_with_the_dates(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)  # the last sales row is dated 2026-01-20
    assert [str(issue) for issue in issues_of(folder, as_of=datetime.date(2026, 2, 4), max_sales_age_days=14)] == [
        "sales.csv, column 'date': sales history ends 2026-01-20, 15 days before as_of 2026-02-04 (--as-of); "
        "more than max_sales_age_days = 14, and the weeks without sales would be planned as zero demand. "
        "Add the missing sales, plan as of an earlier date (--as-of 2026-01-20), or raise max_sales_age_days "
        "in the [inputs] table of the --config file"]
    assert load_inputs(folder, as_of=datetime.date(2026, 2, 3), max_sales_age_days=14)  # 14 days: accepted
    assert load_inputs(folder, as_of=datetime.date(2026, 2, 4), max_sales_age_days=15)  # the override
    assert load_inputs(folder, as_of=datetime.date(2026, 2, 4))  # not checked unless asked (the flow asks)


def test_inventory_dated_after_the_sales_names_the_snapshot_as_the_as_of(tmp_path: Path) -> None:
    inventory = VALID_FILES["inventory.csv"].replace("2026-01-14", "2026-02-05")
    folder = write_folder(tmp_path, {"inventory.csv": inventory})
    (issue,) = issues_of(folder, max_sales_age_days=14)  # the 2026-01-20 row is now history: 16 days
    assert str(issue).startswith("sales.csv, column 'date': sales history ends 2026-01-20, 16 days before "
                                 "as_of 2026-02-05 (the latest inventory.as_of); more than max_sales_age_days = 14")


def test_a_new_store_without_sales_is_not_stale(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"sales.csv": "date,sku,quantity\n"})
    loaded = load_inputs(folder, as_of=datetime.date(2030, 1, 1), max_sales_age_days=14)
    assert loaded.sales_weekly.empty


# ------------------------------------------------------------------ 20.8 plausibility warnings

def test_stale_open_pos_receipts_before_order_and_clamped_service_levels_are_warnings(tmp_path: Path) -> None:
    orders = (VALID_FILES["purchase_orders.csv"]
              + "P4,007,S1,50,2023-01-02,2023-02-01,,\n"           # open, expected ~3 years before as_of
              + "P5,008,S1,40,2024-06-03,2024-06-17,,\n"           # open, expected 576 days before
              + "P6,100,S2,10,2025-12-10,2025-12-20,2025-12-01,10\n")  # received before it was ordered
    items = VALID_FILES["items.csv"].replace("007,S1,2.5,6,0,Widget,0.95,", "007,S1,2.5,6,0,Widget,1e-9,")
    items = items.replace('"Gadget, large",,', '"Gadget, large",0.99999,')
    notes = load_inputs(write_folder(tmp_path, {"purchase_orders.csv": orders, "items.csv": items})).notes
    warnings = {(n.file, n.column): (n.line, n.rows, n.message) for n in notes if n.severity == "warning"
                and n.column in ("expected_date", "received_date", "service_level")}
    assert warnings == {
        ("purchase_orders.csv", "expected_date"): (5, 2, (
            "2 open purchase-order line(s) expected more than 365 days before as_of 2026-01-14 (oldest "
            "2023-02-01): counted as arriving in the first planning week, they hold back new orders for their "
            "SKUs; close or re-date them")),
        ("purchase_orders.csv", "received_date"): (7, 1, (
            "1 purchase-order line(s) received before their order_date: left out of the lead-time estimate")),
        ("items.csv", "service_level"): (2, 2, (
            "2 service_level value(s) outside the range the policy plans with, 0.5 to 0.9999 (lowest 1e-09, "
            "highest 0.99999): planned at the nearest bound")),
    }


def test_the_valid_folder_has_no_plausibility_warning(tmp_path: Path) -> None:
    notes = load_inputs(write_folder(tmp_path)).notes
    assert not [n for n in notes if n.column in ("expected_date", "received_date", "service_level")
                and n.severity == "warning"]


def test_the_service_level_range_is_the_one_the_policy_clips_to() -> None:
    import numpy as np
    from safestock.models.inventory import PolicyConfig
    from safestock.models.inventory.policy import service_levels
    from safestock.pipelines.inputs.plausibility import SERVICE_LEVEL_RANGE

    planned = service_levels(np.array([1e-9, 0.3, 0.99999, 0.9]), np.array(["A"] * 4), PolicyConfig())
    assert planned.tolist() == [SERVICE_LEVEL_RANGE[0], SERVICE_LEVEL_RANGE[0], SERVICE_LEVEL_RANGE[1], 0.9]


# ------------------------------------------------------------------ configuration ([inputs])

def test_inputs_configuration_defaults_and_overrides(tmp_path: Path) -> None:
    from safestock.pipelines.config import InputsConfig, load_config

    assert load_config(None).inputs == InputsConfig(allow_extra_columns=False, max_sales_age_days=14)
    path = tmp_path / "safestock.toml"
    path.write_text("[inputs]\nallow_extra_columns = true\nmax_sales_age_days = 60\n")
    assert load_config(path).inputs == InputsConfig(allow_extra_columns=True, max_sales_age_days=60)
    assert load_config(path).as_dict()["inputs"] == {"allow_extra_columns": True, "max_sales_age_days": 60,
                                                     "unmet_demand": "backorder", "infer_stockouts": True}


@pytest.mark.parametrize("text, message", [
    ("[inputs]\nmax_sales_age_days = -1\n", r"\[inputs\]: max_sales_age_days must be a whole number of days >= 0, not -1"),
    ("[inputs]\nmax_sales_age_days = 7.5\n", r"\[inputs\]: max_sales_age_days must be a whole number"),
    ("[inputs]\nallow_extra_columns = \"yes\"\n", r"\[inputs\]: allow_extra_columns must be true or false, not 'yes'"),
    ("[inputs]\nmax_sales_age = 3\n", r"\[inputs\]: unknown key\(s\) \['max_sales_age'\]"),
    ("inputs = 3\n", r"inputs must be a table"),
])
def test_invalid_inputs_configuration_is_refused(tmp_path: Path, text: str, message: str) -> None:
    from safestock.pipelines.config import ConfigError, load_config

    path = tmp_path / "safestock.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
