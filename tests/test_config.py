"""Run configuration: the forecast engine's options, including the calendar of events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safestock.models.forecasting.calendar import US_RETAIL_EVENTS
from safestock.pipelines.config import ConfigError, load_config


def assert_refused(tmp_path: Path, text: str, message: str) -> None:
    """A safestock.toml holding ``text`` is refused with a ConfigError matching ``message``."""
    path = tmp_path / "safestock.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_default_engine_options_carry_the_us_retail_calendar_and_the_weeks() -> None:
    weeks = pd.date_range("2024-01-01", periods=3, freq="7D")
    options = load_config(None).forecast.engine_options(weeks)
    assert options["events"] == US_RETAIL_EVENTS
    assert options["week_starts"].dtype == np.dtype("datetime64[D]")
    assert [str(w) for w in options["week_starts"]] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert (options["season_length"], options["backtest_origins"], options["backtest_horizon"]) == (52, 4, 13)


def test_event_calendar_none_turns_events_off(tmp_path: Path) -> None:
    path = tmp_path / "safestock.toml"
    path.write_text('[forecast]\nevent_calendar = "none"\n')
    assert load_config(path).forecast.engine_options(None)["events"] == ()


def test_unknown_event_calendar_is_refused_naming_file_section_and_choices(tmp_path: Path) -> None:
    assert_refused(tmp_path, '[forecast]\nevent_calendar = "uk_retail"\n',
                   r"safestock.toml \[forecast\]: event_calendar must be one of \['none', 'us_retail'\], "
                   r"not 'uk_retail'")


def test_extra_events_join_the_calendar_with_their_dates(tmp_path: Path) -> None:
    path = tmp_path / "safestock.toml"
    path.write_text('[forecast]\nevent_calendar = "none"\n'
                    '[[forecast.extra_events]]\nname = "mothering_sunday"\ndate = "easter-21"\nweeks_before = 2\n'
                    '[[forecast.extra_events]]\nname = "memorial_day"\ndate = "05/mon/-1"\n')
    events = load_config(path).forecast.engine_options(None)["events"]
    assert [(e.name, e.weeks_before, e.weeks_after) for e in events] == [
        ("mothering_sunday", 2, 0), ("memorial_day", 1, 0)]
    assert str(events[0].date(2024)) == "2024-03-10"          # UK Mothering Sunday 2024
    assert str(events[1].date(2024)) == "2024-05-27"          # US Memorial Day 2024


@pytest.mark.parametrize(("entry", "message"), [
    ('name = "sale"\ndate = "31-12"', r"extra_events #2 \(sale\): date rule '31-12': 31-12 is not a date"),
    ('name = "sale"\ndate = "02-29"', r"extra_events #2 \(sale\): date rule '02-29': 02-29 is not a date every"),
    ('name = "sale"\ndate = "11/thu/4"\nweeks_before = 9', r"extra_events #2 \(sale\): weeks_before must be a whole "
                                                           r"number of weeks 0-8, not 9"),
    ('name = "christmas"\ndate = "12-24"', r"extra_events #2: name 'christmas' must be letters, digits and _, "
                                           r"and not repeat"),
    ('name = "sale"\nwhen = "12-24"', r"extra_events #2: needs keys 'name' and 'date'.*unknown key\(s\) \['when'\]"),
])
def test_a_bad_extra_event_is_refused_naming_file_entry_and_key(tmp_path: Path, entry: str, message: str) -> None:
    assert_refused(tmp_path, f'[[forecast.extra_events]]\nname = "ok"\ndate = "07-04"\n'
                             f'[[forecast.extra_events]]\n{entry}\n', r"safestock.toml \[forecast\] " + message)


def test_extra_events_that_are_not_tables_are_refused(tmp_path: Path) -> None:
    assert_refused(tmp_path, '[forecast]\nextra_events = ["12-24"]\n',
                   r"extra_events #1: must be a table \(\[\[forecast.extra_events\]\]\), not '12-24'")
    assert_refused(tmp_path, '[forecast]\nextra_events = "12-24"\n', "extra_events must be an array of tables")


def test_currency_defaults_to_none_and_takes_an_iso_code(tmp_path: Path) -> None:
    assert load_config(None).currency is None
    path = tmp_path / "safestock.toml"
    path.write_text('currency = "EUR"\n')
    assert load_config(path).currency == "EUR"
    assert load_config(path).as_dict()["currency"] == "EUR"      # stored with the run (runs.config)


@pytest.mark.parametrize("value", ['"eur"', '"€"', '"EURO"', "978"])
def test_a_currency_that_is_not_an_iso_code_is_refused(tmp_path: Path, value: str) -> None:
    assert_refused(tmp_path, f"currency = {value}\n",
                   r"safestock.toml: currency must be an ISO 4217 code of three upper-case letters")


def test_global_model_is_off_by_default_and_switched_on_by_the_forecast_section(tmp_path: Path) -> None:
    """[forecast] global_model (issue 17): off unless asked for; passed to forecast_demand."""
    import inspect

    from safestock.models.forecasting import forecast_demand

    assert load_config(None).forecast.engine_options(None)["global_model"] is False
    path = tmp_path / "safestock.toml"
    path.write_text("[forecast]\nglobal_model = true\n")
    options = load_config(path).forecast.engine_options(None)
    assert options["global_model"] is True
    assert set(options) <= set(inspect.signature(forecast_demand).parameters)
    assert_refused(tmp_path, '[forecast]\nglobal_model = "yes"\n',
                   r"safestock.toml \[forecast\]: global_model must be true or false, not 'yes'")
