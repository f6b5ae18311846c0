"""Budget windows and budgeting methods beyond a rolling window of event counts.

Calendar windows: the error budget at time t covers the calendar period t falls in (a month
from the anchor's day and hour in the anchor's time zone, a week, ...), not the last N days.

Timeslices (OpenSLO): the window is cut into slices of ``timeSliceWindow``; a slice holding
events is good when its good/total ratio reaches ``timeSliceTarget``, and the SLI is good slices
over slices. RatioTimeslices: the SLI is the mean of the slices' ratios. Both become per-minute
counts the burn-rate machinery reads unchanged: each complete slice counts once (total 1, good
1/0 or its ratio) at its last minute, so a window ending mid-slice holds only finished slices.
Slices without events are not counted (no data is not a good or a bad slice).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from cicl_assets.slo.burn import AlertPolicy, MinuteCounts, parse_duration_minutes
from cicl_assets.slo.spec_model import CalendarWindow, NotEvaluable, SpecError

FIXED_UNITS = {"minute": 1, "hour": 60, "day": 1440, "week": 10080}
MONTH_UNITS = {"month": 1, "quarter": 3, "year": 12}
# Longest period of a unit, in minutes: what a day's evaluation reads back for its budget.
LONGEST = {"month": 31 * 1440, "quarter": 92 * 1440, "year": 366 * 1440}
# OpenSLO v1 duration shorthand and v1alpha unit names.
SHORTHAND = {"m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "Q": "quarter"}
SHORTHAND["Y"] = "year"
V1ALPHA_UNITS = {
    "second": "second",
    "minute": "minute",
    "hour": "hour",
    "day": "day",
    "week": "week",
    "month": "month",
    "quarter": "quarter",
    "year": "year",
}


def _anchor_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    return str(value).strip().replace(" ", "T")


def _count_unit_of_duration(duration: Any, where: str) -> tuple[int, str]:
    text = str(duration).strip()
    if text[:-1].isdigit() and text[-1:] in SHORTHAND:
        return int(text[:-1]), SHORTHAND[text[-1]]
    raise SpecError(f"{where}: duration {duration!r} is not like 30d, 4w, 1M, 1Q or 1Y")


def time_window(window: dict[str, Any], where: str) -> tuple[int, CalendarWindow | None]:
    """(budget window in minutes, calendar or None) of one OpenSLO time window: v1's
    ``{duration, isRolling, calendar}`` or v1alpha's ``{count, unit, isRolling, calendar}``."""
    if "duration" in window:
        count, unit = _count_unit_of_duration(window["duration"], where)
    elif "count" in window and "unit" in window:
        unit = V1ALPHA_UNITS.get(str(window["unit"]).lower(), "")
        try:
            count = int(window["count"])
        except (TypeError, ValueError):
            raise SpecError(
                f"{where}: timeWindows count {window['count']!r} is no number"
            ) from None
        if not unit:
            raise SpecError(f"{where}: timeWindows unit {window['unit']!r} is not a time unit")
        if unit == "second":
            count, unit = count // 60, "minute"
    else:
        raise SpecError(f"{where}: a time window needs duration, or count and unit")
    if count <= 0:
        raise SpecError(f"{where}: a time window must be longer than zero")
    rolling = window.get("isRolling", "calendar" not in window)
    if rolling:
        if unit in MONTH_UNITS:
            raise NotEvaluable(
                f"{where}: a rolling {unit} has no fixed length; use days (e.g. 30d) or a "
                "calendar window"
            )
        return count * FIXED_UNITS[unit], None
    calendar = window.get("calendar") or {}
    zone = str(calendar.get("timeZone") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"{where}: calendar timeZone {zone!r} is not an IANA time zone") from None
    anchor = _anchor_text(calendar.get("startTime") or "1970-01-01T00:00:00")
    try:
        datetime.fromisoformat(anchor)
    except ValueError:
        raise SpecError(f"{where}: calendar startTime {anchor!r} is not a date-time") from None
    cal = CalendarWindow(count, unit, anchor, zone)
    return longest_minutes(cal), cal


def longest_minutes(cal: CalendarWindow) -> int:
    if cal.unit in MONTH_UNITS:
        return cal.count * LONGEST[cal.unit]
    return cal.count * FIXED_UNITS[cal.unit]


def _add_months(at: datetime, months: int) -> datetime:
    total = at.year * 12 + at.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    days_in = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return at.replace(year=year, month=month, day=min(at.day, days_in))


def period_start(cal: CalendarWindow, at: datetime) -> datetime:
    """Start (UTC) of the calendar period holding ``at``, periods counted from the anchor on
    the wall clock of the calendar's time zone."""
    zone = ZoneInfo(cal.time_zone)
    anchor = datetime.fromisoformat(cal.anchor).replace(tzinfo=None)
    local = at.astimezone(zone).replace(tzinfo=None)
    if cal.unit in FIXED_UNITS:
        step = timedelta(minutes=cal.count * FIXED_UNITS[cal.unit])
        start = anchor + ((local - anchor) // step) * step
    else:
        per = cal.count * MONTH_UNITS[cal.unit]
        months = (local.year - anchor.year) * 12 + local.month - anchor.month
        if _add_months(anchor, months) > local:
            months -= 1
        start = _add_months(anchor, (months // per) * per)
    return start.replace(tzinfo=zone).astimezone(UTC)


def budget_starts(cal: CalendarWindow | None, times: list[datetime]) -> list[datetime] | None:
    """The budget window's start for each evaluation time (exclusive end): the period holding
    the last minute before it. None for a rolling window."""
    if cal is None:
        return None
    return [period_start(cal, t - timedelta(minutes=1)) for t in times]


def time_slices(
    counts: MinuteCounts, slice_minutes: int, slice_target: float | None, ratio: bool
) -> MinuteCounts:
    """Per-minute slice counts (see the module doc) from per-minute event counts."""
    size = len(counts.total)
    epoch_minute = int((counts.start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() // 60)
    first = (-epoch_minute) % slice_minutes
    n = max((size - first) // slice_minutes, 0)
    good_out = np.zeros(size, dtype=np.float64 if ratio else np.int64)
    total_out = np.zeros(size, dtype=np.int64)
    if n:
        span = slice(first, first + n * slice_minutes)
        good = counts.good[span].reshape(n, slice_minutes).sum(axis=1)
        total = counts.total[span].reshape(n, slice_minutes).sum(axis=1)
        held = total > 0
        share = np.where(held, good / np.maximum(total, 1), 0.0)
        last = first + np.arange(n) * slice_minutes + slice_minutes - 1
        total_out[last] = held
        if ratio:
            good_out[last] = share
        else:
            good_out[last] = held & (np.round(share, 9) >= float(slice_target or 0.0))
    return MinuteCounts(counts.start, good_out, total_out)


def slice_policy(policy: AlertPolicy, slice_minutes: int) -> AlertPolicy:
    """The policy with each window's minimum events capped at the slices the window holds."""
    minimums = {}
    for window in policy.windows:
        fits = max(parse_duration_minutes(window) // slice_minutes, 1)
        minimums[window] = min(policy.min_for(window), fits)
    return replace(policy, min_events_by_window=minimums)
