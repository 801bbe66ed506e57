"""Run configuration: the forecast engine's options, including the calendar of events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.forecasting.calendar import US_RETAIL_EVENTS
from pipelines.config import ConfigError, load_config


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
    path = tmp_path / "safestock.toml"
    path.write_text('[forecast]\nevent_calendar = "uk_retail"\n')
    with pytest.raises(ConfigError, match=r"safestock.toml \[forecast\]: event_calendar must be one of "
                                          r"\['none', 'us_retail'\], not 'uk_retail'"):
        load_config(path)
