"""One reader per value kind, shared by every stream: timestamps, integers, numbers, durations
and content digests, as landing files spell them.

Lenient readers (``parse_*``) return None for an absent or unreadable value, so one odd field
does not cost a file its other rows. Strict readers raise ``ParseError`` naming the field and
quoting the value: ``checked_*`` for optional fields (absent is None, unreadable raises),
``require_*`` for required ones (absent raises too). ``field`` is how the message names the
value, location included (``"line 3: started_at"``).

Timestamps are always an aware UTC ``datetime`` or None.

- Text: RFC 3339 / ISO 8601, extended (``2026-11-03T09:12:00``) or basic
  (``20261103T091200``); ``T``, ``t`` or a space between date and time; seconds optional; a
  fraction of any length, cut to microseconds (Python keeps six digits, Go and Cloud Build
  write nine); a zone ``Z``, ``UTC``, ``GMT``, ``+HH:MM``, ``+HHMM`` or ``+HH``, a space before
  it allowed (``2016-08-12 15:23:28 UTC`` as GitLab writes, ``2021-04-28 21:50:00 +0200`` as
  git does). Text without a zone is UTC. A date alone is its midnight, UTC.
- Numbers, and text holding only a number, are epoch times whose unit the magnitude decides:
  below 1e11 seconds (up to year 5138), below 1e14 milliseconds (from 1973-03-03), below 1e17
  microseconds, else nanoseconds. Integers keep their exact value (cut to microseconds);
  floats round to the nearest microsecond.
- Placeholders are absent, not times: 0, negative epochs, any instant at or before
  1970-01-01T00:00:00Z (Go's zero time ``0001-01-01T00:00:00Z``, JavaScript's ``new Date(0)``)
  and all-zero dates (``0000-00-00 00:00:00``). Tools write them for "unknown"; a real event
  of 1970 never reaches a CI/CD landing zone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.redact import redact_text

SECONDS_BELOW = 10**11
MILLISECONDS_BELOW = 10**14
MICROSECONDS_BELOW = 10**17
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SHOWN_CHARS = 80

_TIME_TEXT = re.compile(
    r"(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"\s*(?P<z>[Zz]|(?i:UTC|GMT)|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_NON_FINITE_TEXT = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_TEXT = re.compile(rf"(?:{_DURATION_PART.pattern})+")
# (multiplier, divisor) to seconds: dividing keeps 450ms at exactly 0.45
_DURATION_UNITS = {
    "ns": (1, 10**9),
    "us": (1, 10**6),
    "µs": (1, 10**6),
    "μs": (1, 10**6),
    "ms": (1, 10**3),
    "s": (1, 1),
    "m": (60, 1),
    "h": (3600, 1),
}
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_SHA256_IN_TEXT = re.compile(r"sha256:([0-9a-fA-F]{64})")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_IMAGE_DIGEST = re.compile(r"@(sha256:[0-9a-fA-F]{64})")


class _Unreadable:
    """A present value that is no time at all (as opposed to absent or a placeholder)."""


_UNREADABLE = _Unreadable()


def shown(value: Any) -> str:
    """A value quoted for an error message, shortened so a huge field cannot flood it."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN_CHARS:
        # before the cut: a secret cut in half no longer matches its pattern
        text = redact_text(text)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return repr(text)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- timestamps -------------------------------------------------------------------------------


def _from_epoch(number: int | float) -> datetime | _Unreadable | None:
    if isinstance(number, float) and not math.isfinite(number):
        return _UNREADABLE
    if number <= 0:
        return None
    if number < SECONDS_BELOW:
        per_second = 1
    elif number < MILLISECONDS_BELOW:
        per_second = 10**3
    elif number < MICROSECONDS_BELOW:
        per_second = 10**6
    else:
        per_second = 10**9
    if isinstance(number, int):
        micros = number * 10**6 // per_second
    else:
        micros = round(number * 1e6 / per_second)
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return _UNREADABLE


def _from_text(text: str) -> datetime | _Unreadable | None:
    m = _TIME_TEXT.fullmatch(text)
    if not m:
        return _UNREADABLE
    if m["y"] == "0000" or m["mo"] == "00" or m["d"] == "00":
        return None
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            micro,
            tzinfo=UTC,
        )
    except ValueError:
        return _UNREADABLE
    zone = m["z"]
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset >= timedelta(hours=24):
            return _UNREADABLE
        try:
            moment = moment - offset if zone[0] == "+" else moment + offset
        except OverflowError:
            return _UNREADABLE
    return moment


def _read_time(value: Any) -> datetime | _Unreadable | None:
    if _absent(value):
        return None
    if isinstance(value, bool):
        return _UNREADABLE
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, int | float):
        return _from_epoch(value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            return _from_epoch(int(text) if _INTEGER_TEXT.fullmatch(text) else float(text))
        moment = _from_text(text)
    else:
        return _UNREADABLE
    if isinstance(moment, datetime) and moment <= EPOCH:
        return None
    return moment


def parse_time(value: Any) -> datetime | None:
    """A UTC time from any form in the module doc; None when absent, a placeholder or
    unreadable."""
    moment = _read_time(value)
    return moment if isinstance(moment, datetime) else None


def _not_a_time(field: str, value: Any) -> ParseError:
    return ParseError(
        f"{field} {shown(value)} is not a timestamp (expected RFC 3339 text such as "
        "2026-11-03T09:12:00Z, or epoch seconds or milliseconds)"
    )


def checked_time(value: Any, field: str) -> datetime | None:
    """An optional time: None when absent or a placeholder; unreadable text raises."""
    moment = _read_time(value)
    if isinstance(moment, _Unreadable):
        raise _not_a_time(field, value)
    return moment


def require_time(value: Any, field: str) -> datetime:
    """A required time: absent, placeholder and unreadable values all raise."""
    moment = checked_time(value, field)
    if moment is None:
        if _absent(value):
            raise ParseError(f"{field} is missing (a timestamp is required)")
        raise ParseError(
            f"{field} {shown(value)} is a placeholder, not a time (at or before 1970-01-01)"
        )
    return moment


# --- numbers ----------------------------------------------------------------------------------


def _number(value: Any) -> int | float | None:
    """An int or a finite float from a number or its text (``"1,234.5"``, ``" 7 "``)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace(",", "").replace("_", "")
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and bool(_NON_FINITE_TEXT.fullmatch(value.strip()))


def parse_float(value: Any) -> float | None:
    """A finite float; booleans, NaN, infinities and text that is no number are None."""
    number = _number(value)
    return None if number is None else float(number)


def parse_int(value: Any) -> int | None:
    """An integer from an int, an integral float or their text; a fraction is None."""
    number = _number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def checked_float(value: Any, field: str) -> float | None:
    """An optional number: None when absent or NaN/infinite (no finite value to keep);
    anything else that is no number raises."""
    if _absent(value):
        return None
    number = parse_float(value)
    if number is None and not _non_finite(value):
        raise ParseError(f"{field} {shown(value)} is not a number")
    return number


def checked_int(value: Any, field: str) -> int | None:
    if _absent(value):
        return None
    number = parse_int(value)
    if number is None:
        raise ParseError(f"{field} {shown(value)} is not a whole number")
    return number


def parse_seconds(value: Any) -> float | None:
    """A duration in seconds from a number of seconds or a Go duration (``660s``, ``1m12s``,
    ``1h2m3s``, ``450ms``); negative, unreadable or absent durations are None."""
    number = _number(value)
    if number is None and isinstance(value, str):
        text = value.strip()
        if _DURATION_TEXT.fullmatch(text):
            number = sum(
                float(amount) * _DURATION_UNITS[unit][0] / _DURATION_UNITS[unit][1]
                for amount, unit in _DURATION_PART.findall(text)
            )
    if number is None or number < 0:
        return None
    return float(number)


# --- digests ----------------------------------------------------------------------------------


def sha256_digest(value: Any) -> str | None:
    """``sha256:<lowercase hex>`` from a prefixed digest, a bare 64-hex digest, or any text that
    holds one (an image reference ``repo@sha256:...``, a package URL with ``%3A``)."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("%3A", ":").replace("%3a", ":")
    if not text:
        return None
    m = _SHA256_IN_TEXT.search(text)
    if m:
        return "sha256:" + m[1].lower()
    return "sha256:" + text.lower() if _HEX64.fullmatch(text) else None


def image_digest(reference: Any) -> str | None:
    """The ``sha256:`` digest an image reference or package URL pins with ``@``, if any."""
    if not isinstance(reference, str):
        return None
    m = _IMAGE_DIGEST.search(reference.replace("%3A", ":").replace("%3a", ":"))
    return m[1].lower() if m else None


def checked_digest(value: Any, field: str) -> str | None:
    """An optional ``sha256:<64 hex>`` field, lowercased; anything else raises."""
    if _absent(value):
        return None
    text = str(value).strip().lower()
    if not _SHA256.fullmatch(text):
        raise ParseError(f"{field} {shown(value)} is not sha256:<64 hex>")
    return text
