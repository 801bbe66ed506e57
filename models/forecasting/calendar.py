"""Moving-date retail events on the weekly grid: which week is which offset from which event.

A fixed week-of-year seasonal profile puts a holiday whose date moves (Easter, Mother's Day,
Thanksgiving) or whose weekday moves (Christmas, Valentine's Day) in the wrong week in some
years. Here each event is a date rule per year plus the weeks around it that it moves
(``weeks_before`` / ``weeks_after``), and :func:`event_weeks` labels every column of the weekly
grid with the (event, offset) it is, or none. The effects themselves are estimated from the
data (:mod:`.events`): holiday regressors with lead and lag terms in the sense of FPP3 7.4
("dummy variables" for holidays; Easter as a moving holiday) and Hyndman & Athanasopoulos'
weekly-data advice (FPP3 12.1: moving holidays handled by dummy variables, not the period).

Pure functions; dates are numpy ``datetime64[D]``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from dateutil.easter import easter

DateRule = Callable[[int], dt.date]


def fixed_date(month: int, day: int) -> DateRule:
    """The same calendar date every year (Christmas: ``fixed_date(12, 25)``)."""
    return lambda year: dt.date(year, month, day)


def nth_weekday(month: int, weekday: int, n: int) -> DateRule:
    """The ``n``-th ``weekday`` (Monday = 0 … Sunday = 6) of ``month`` (US Mother's Day:
    second Sunday of May, ``nth_weekday(5, 6, 2)``); ``n = -1`` is the last one (US Memorial
    Day: ``nth_weekday(5, 0, -1)``)."""
    def rule(year: int) -> dt.date:
        if n < 0:
            last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            return last - dt.timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    return rule


def easter_offset(days: int = 0) -> DateRule:
    """Western Easter Sunday plus ``days`` (dateutil's computus; Good Friday: ``-2``)."""
    return lambda year: easter(year) + dt.timedelta(days=days)


def shifted(rule: DateRule, days: int) -> DateRule:
    """``rule``'s date plus ``days`` (US Black Friday: the 4th Thursday of November + 1)."""
    return rule if days == 0 else (lambda year: rule(year) + dt.timedelta(days=days))


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(?:(?P<month>\d{1,2})-(?P<day>\d{1,2})|(?P<easter>easter)"
                   r"|(?P<nth_month>\d{1,2})/(?P<weekday>[a-z]{3})/(?P<n>-1|[1-5]))(?P<shift>[+-]\d{1,3})?$")
RULE_FORMS: str = ('"MM-DD" (e.g. "12-25"), "easter" or "MM/<mon..sun>/N" (N = 1..5 or -1 for the last; '
                   '"05/sun/2" = 2nd Sunday of May), each optionally + or - days ("easter-21", "11/thu/4+1")')


def parse_date_rule(text: str) -> DateRule:
    """A date rule from its text form, :data:`RULE_FORMS`; ``ValueError`` naming the text and the
    forms when it is not one of them (or names a date that not every year has)."""
    match = _RULE.match(str(text).strip().lower())
    if match is None:
        raise ValueError(f"date rule {text!r} is not one of {RULE_FORMS}")
    shift = int(match["shift"] or 0)
    if match["easter"]:
        return easter_offset(shift)
    if match["month"]:
        month, day = int(match["month"]), int(match["day"])
        try:
            dt.date(2023, month, day)             # a non-leap year: 29 February is refused
        except ValueError:
            raise ValueError(f"date rule {text!r}: {month:02d}-{day:02d} is not a date every year has") from None
        return shifted(fixed_date(month, day), shift)
    month = int(match["nth_month"])
    if not 1 <= month <= 12 or match["weekday"] not in WEEKDAYS:
        raise ValueError(f"date rule {text!r}: month must be 01-12 and the weekday one of {', '.join(WEEKDAYS)}")
    n = int(match["n"])
    rule = nth_weekday(month, WEEKDAYS.index(match["weekday"]), n)
    if n == 5:
        for year in range(2000, 2028):           # a 5th weekday exists only in some months and years
            if rule(year).month != month:
                raise ValueError(f"date rule {text!r}: not every year has a 5th {match['weekday']} in that month")
    return shifted(rule, shift)


@dataclass(frozen=True)
class Event:
    """A dated event and the weeks it moves: ``weeks_before`` weeks before the week containing its
    date, that week, and ``weeks_after`` weeks after it."""

    name: str
    date: DateRule
    weeks_before: int
    weeks_after: int

    @property
    def offsets(self) -> range:
        return range(-self.weeks_before, self.weeks_after + 1)


# Order is priority: where two events' windows overlap, the earlier event labels the week.
US_RETAIL_EVENTS: tuple[Event, ...] = (
    Event("christmas", fixed_date(12, 25), 5, 4),        # from Thanksgiving week to late January
    Event("valentines_day", fixed_date(2, 14), 2, 1),
    Event("mothers_day", nth_weekday(5, 6, 2), 2, 1),
    Event("easter", easter_offset(0), 2, 1),
    Event("fathers_day", nth_weekday(6, 6, 3), 2, 1),
)
EVENT_CALENDARS: dict[str, tuple[Event, ...]] = {"us_retail": US_RETAIL_EVENTS, "none": ()}


@dataclass(frozen=True)
class EventWeeks:
    """``key[t]``: index into ``labels`` of the (event, offset) week t is, or -1 (a plain week)."""

    key: np.ndarray
    labels: tuple[str, ...]


def event_weeks(week_starts: np.ndarray, events: tuple[Event, ...]) -> EventWeeks:
    """Label each week of the grid ``week_starts`` (ascending ``datetime64[D]`` starts; a date
    belongs to the last week starting on or before it) with its (event, offset).
    Events dated just outside the grid still label the weeks of their window inside it.

    An event's week is the week containing its date in each year the grid touches; offsets run
    from ``-weeks_before`` to ``+weeks_after``. Labels are ``"<name><offset:+d>"`` (e.g.
    ``christmas-2``) and keep the calendar's order, so the same key means the same thing in any
    grid built from the same calendar.
    """
    starts = np.asarray(week_starts, dtype="datetime64[D]")
    key = np.full(starts.size, -1, dtype=np.int64)
    labels = tuple(f"{event.name}{offset:+d}" for event in events for offset in event.offsets)
    if not starts.size or not events:
        return EventWeeks(key=key, labels=labels)
    end = starts[-1] + np.timedelta64(7, "D")
    first_year = int(str(starts[0])[:4]) - 1
    last_year = int(str(starts[-1])[:4]) + 1
    label = 0
    for event in events:
        dates = np.array([np.datetime64(event.date(year), "D") for year in range(first_year, last_year + 1)])
        inside = (dates >= starts[0]) & (dates < end)       # outside the grid: 7-day weeks
        weeks = np.where(inside, np.searchsorted(starts, dates, side="right") - 1,
                         (dates - starts[0]).astype(np.int64) // 7)
        for offset in event.offsets:
            columns = weeks + offset
            columns = columns[(columns >= 0) & (columns < starts.size)]
            key[columns[key[columns] < 0]] = label
            label += 1
    return EventWeeks(key=key, labels=labels)
