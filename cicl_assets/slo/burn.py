"""Multi-window, multi-burn-rate SLO evaluation over per-minute event counts.

Pure: numpy in, dicts out. Every ratio is computed from event counts summed over a window
(bad / total), never by averaging per-minute ratios, so a quiet minute weighs what it holds.
A burn rate is the window's bad share divided by the error budget share (1 - target): 1 spends
the budget exactly over the budget window, 14.4 spends 2% of a 30-day budget in one hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

# Windows the SRE workbook's table uses for a 30-day budget, in minutes.
WINDOWS: dict[str, int] = {
    "5m": 5,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "6h": 360,
    "1d": 1440,
    "3d": 4320,
}

ALERT_PAGE = "page"
ALERT_TICKET = "ticket"
ALERT_NONE = "none"
ALERT_INSUFFICIENT = "insufficient_data"
SEVERITY_ORDER = (ALERT_PAGE, ALERT_TICKET)


def parse_duration_minutes(text: str | int) -> int:
    """'5m', '1h', '3d', '2w' or a bare number of seconds -> whole minutes."""
    if isinstance(text, int):
        if text % 60:
            raise ValueError(f"window of {text} s is not a whole number of minutes")
        return text // 60
    value = str(text).strip().lower()
    units = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080}
    if value and value[-1] in units and value[:-1].replace(".", "", 1).isdigit():
        minutes = float(value[:-1]) * units[value[-1]]
    elif value.isdigit():
        minutes = int(value) / 60
    else:
        raise ValueError(f"cannot read {text!r} as a duration (use e.g. 5m, 1h, 3d)")
    if minutes <= 0 or minutes != int(minutes):
        raise ValueError(f"duration {text!r} is not a positive whole number of minutes")
    return int(minutes)


def window_label(minutes: int) -> str:
    for label, value in WINDOWS.items():
        if value == minutes:
            return label
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


@dataclass(frozen=True)
class AlertRule:
    """Alert with ``severity`` when both windows burn strictly faster than ``burn_rate``."""

    severity: str
    long_window: str
    short_window: str
    burn_rate: float

    @property
    def label(self) -> str:
        if self.long_window == self.short_window:
            return self.long_window
        return f"{self.long_window}/{self.short_window}"


# The SRE workbook's multi-window, multi-burn-rate table for a 30-day budget.
WORKBOOK_RULES = (
    AlertRule(ALERT_PAGE, "1h", "5m", 14.4),
    AlertRule(ALERT_PAGE, "6h", "30m", 6.0),
    AlertRule(ALERT_TICKET, "1d", "2h", 3.0),
    AlertRule(ALERT_TICKET, "3d", "6h", 1.0),
)
DEFAULT_MIN_EVENTS = 10


@dataclass(frozen=True)
class AlertPolicy:
    """Burn-rate alert rules and the minimum events a window needs to be judged at all."""

    name: str = "sre-workbook-30d"
    rules: tuple[AlertRule, ...] = WORKBOOK_RULES
    min_events: int = DEFAULT_MIN_EVENTS
    min_events_by_window: dict[str, int] = field(default_factory=dict)

    def min_for(self, window: str) -> int:
        return self.min_events_by_window.get(window, self.min_events)

    @property
    def windows(self) -> list[str]:
        names = set(WINDOWS)
        for rule in self.rules:
            names.update((rule.long_window, rule.short_window))
        return sorted(names, key=parse_duration_minutes)


@dataclass(frozen=True)
class MinuteCounts:
    """Dense per-minute good/total counts for one SLO, from ``start`` (a whole minute) on."""

    start: datetime
    good: np.ndarray
    total: np.ndarray

    @classmethod
    def from_buckets(
        cls,
        minutes: list[datetime],
        good: list[int],
        total: list[int],
        start: datetime,
        end: datetime,
    ) -> MinuteCounts:
        """Scatter sparse (minute, good, total) buckets into a dense array over [start, end)."""
        offsets = np.array(
            [int((m - start).total_seconds() // 60) for m in minutes], dtype=np.int64
        )
        return cls.from_offsets(offsets, good, total, start, end)

    @classmethod
    def from_offsets(
        cls,
        offsets: np.ndarray,
        good: np.ndarray | list[int],
        total: np.ndarray | list[int],
        start: datetime,
        end: datetime,
    ) -> MinuteCounts:
        """``from_buckets`` with each bucket given as its minute's offset from ``start``."""
        size = int((end - start).total_seconds() // 60)
        good_arr = np.zeros(size, dtype=np.int64)
        total_arr = np.zeros(size, dtype=np.int64)
        if len(offsets):
            offsets = np.asarray(offsets, dtype=np.int64)
            keep = (offsets >= 0) & (offsets < size)
            np.add.at(good_arr, offsets[keep], np.asarray(good, dtype=np.int64)[keep])
            np.add.at(total_arr, offsets[keep], np.asarray(total, dtype=np.int64)[keep])
        return cls(start, good_arr, total_arr)


def _count(value: np.generic) -> int | float:
    """An event count: whole for events and time slices, fractional for RatioTimeslices."""
    number = float(value)
    return int(number) if number.is_integer() else round(number, 9)


def _window_sums(cumulative: np.ndarray, ends: np.ndarray, minutes: int) -> np.ndarray:
    starts = np.maximum(ends - minutes, 0)
    return cumulative[ends] - cumulative[starts]


def evaluate(
    counts: MinuteCounts,
    evaluation_times: list[datetime],
    target: float,
    policy: AlertPolicy,
    budget_window_minutes: int = 30 * 1440,
    data_start: datetime | None = None,
    budget_starts: list[datetime] | None = None,
) -> list[dict]:
    """One record per evaluation time: budget-window SLI and error budget, burn rate and events
    per window, and the alert the policy raises. An evaluation time is an exclusive end: the
    minute starting at ``t`` is not in windows evaluated at ``t``.

    ``data_start`` is the first minute of data when ``counts`` begin later (a slice of a longer
    history): a window is only judged once it does not reach back before it. ``budget_starts``
    (one per evaluation time) starts each budget window at a calendar period's start instead of
    ``budget_window_minutes`` back. Counts may be fractional (RatioTimeslices)."""
    if not 0 < target < 1:
        raise ValueError(f"target {target} must be between 0 and 1 (exclusive)")
    budget_share = 1.0 - target
    cum_good = np.concatenate([[0], np.cumsum(counts.good)])
    cum_total = np.concatenate([[0], np.cumsum(counts.total)])
    size = len(counts.total)
    ends = np.array(
        [
            min(max(int((t - counts.start).total_seconds() // 60), 0), size)
            for t in evaluation_times
        ],
        dtype=np.int64,
    )
    since_data = ends
    if data_start is not None:
        since_data = np.array(
            [int((t - data_start).total_seconds() // 60) for t in evaluation_times], dtype=np.int64
        )
    windows = policy.windows
    per_window: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # Parsed once: the loop below reads them for every evaluation time.
    minutes_of = {name: parse_duration_minutes(name) for name in windows}
    for name in windows:
        minutes = minutes_of[name]
        total = _window_sums(cum_total, ends, minutes)
        bad = total - _window_sums(cum_good, ends, minutes)
        per_window[name] = (bad, total)
    if budget_starts is None:
        budget_total = _window_sums(cum_total, ends, budget_window_minutes)
        budget_bad = budget_total - _window_sums(cum_good, ends, budget_window_minutes)
    else:
        starts = np.array(
            [
                min(max(int((b - counts.start).total_seconds() // 60), 0), size)
                for b in budget_starts
            ],
            dtype=np.int64,
        )
        starts = np.minimum(starts, ends)
        budget_total = cum_total[ends] - cum_total[starts]
        budget_bad = budget_total - (cum_good[ends] - cum_good[starts])

    records = []
    for i, t in enumerate(evaluation_times):
        total_i = _count(budget_total[i])
        bad_i = _count(budget_bad[i])
        allowed = budget_share * total_i
        record: dict = {
            "evaluation_time": t,
            "good_events": total_i - bad_i,
            "bad_events": bad_i,
            "total_events": total_i,
            "sli": (total_i - bad_i) / total_i if total_i else None,
            "error_budget_events": allowed if total_i else None,
            "error_budget_consumed_events": bad_i if total_i else None,
            "error_budget_remaining_events": allowed - bad_i if total_i else None,
            "error_budget_consumed": bad_i / allowed if total_i else None,
            "error_budget_remaining": 1.0 - bad_i / allowed if total_i else None,
        }
        rates: dict[str, float | None] = {}
        sufficient: dict[str, bool] = {}
        for name in windows:
            bad, total = per_window[name]
            n = _count(total[i])
            # Rounded so a rate equal to a threshold on paper compares equal in floats too.
            rates[name] = round((float(bad[i]) / n) / budget_share, 9) if n else None
            # A window reaching back before the first minute of data is not yet that window.
            covered = since_data[i] >= minutes_of[name]
            sufficient[name] = covered and n > 0 and n >= policy.min_for(name)
            record[f"events_{name}"] = n
            record[f"bad_{name}"] = _count(bad[i])
        record["burn_rates"] = rates
        alert, alert_window = decide_alert(rates, sufficient, policy.rules)
        record["alert"] = alert
        record["alert_window"] = alert_window
        record["insufficient_windows"] = [w for w in windows if not sufficient[w]]
        records.append(record)
    return records


def decide_alert(
    rates: dict[str, float | None], sufficient: dict[str, bool], rules: tuple[AlertRule, ...]
) -> tuple[str, str | None]:
    """The most severe firing rule, else ``none`` or ``insufficient_data``.

    A rule fires when both its windows are sufficient (enough events, fully covered by data) and
    both burn rates are strictly above its threshold. With no rule firing, the answer is
    ``none`` only when every severity had at least one rule it could judge: thin data is
    ``insufficient_data``, never healthy.
    """
    fired: dict[str, str] = {}
    judged: set[str] = set()
    for rule in rules:
        windows = (rule.long_window, rule.short_window)
        if not all(sufficient.get(w, False) for w in windows):
            continue
        judged.add(rule.severity)
        if all((rates[w] or 0.0) > rule.burn_rate for w in windows):
            fired.setdefault(rule.severity, rule.label)
    for severity in SEVERITY_ORDER:
        if severity in fired:
            return severity, fired[severity]
    for severity, label in fired.items():
        return severity, label
    if {r.severity for r in rules} <= judged:
        return ALERT_NONE, None
    return ALERT_INSUFFICIENT, None


def evaluation_times(
    first_minute: datetime,
    last_minute: datetime,
    step_minutes: int = 5,
    lookback_hours: float | None = None,
) -> list[datetime]:
    """Whole multiples of ``step_minutes`` after the first minute of data up to just past the
    last one (the data's own clock), optionally only the last ``lookback_hours``."""
    end = last_minute + timedelta(minutes=1)
    begin = first_minute + timedelta(minutes=1)
    if lookback_hours is not None:
        begin = max(begin, end - timedelta(hours=lookback_hours) + timedelta(minutes=1))
    epoch = datetime(1970, 1, 1, tzinfo=first_minute.tzinfo)
    step = timedelta(minutes=step_minutes)
    k = -(-(begin - epoch) // step)  # ceil
    t = epoch + k * step
    times = []
    while t <= end:
        times.append(t)
        t += step
    if not times or times[-1] != end:
        times.append(end)
    return times
