import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import (
    checked_digest,
    checked_float,
    checked_int,
    checked_time,
    image_digest,
    parse_float,
    parse_int,
    parse_seconds,
    parse_time,
    require_time,
    sha256_digest,
)
from tests.unit.ci.corpus import parse_bytes


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


NOON = utc(2026, 11, 3, 9, 12)

TEXT_TIMES = [
    ("2026-11-03T09:12:00Z", NOON),
    ("2026-11-03T09:12:00z", NOON),
    ("2026-11-03t09:12:00Z", NOON),
    ("2026-11-03 09:12:00Z", NOON),
    ("2026-11-03T09:12:00", NOON),  # no zone: UTC
    ("2026-11-03T09:12", NOON),
    ("2026-11-03", utc(2026, 11, 3)),
    ("  2026-11-03T09:12:00Z\n", NOON),
    ("2026-11-03T09:12:00.5Z", utc(2026, 11, 3, 9, 12, 0, 500000)),
    ("2026-11-03T09:12:00.123Z", utc(2026, 11, 3, 9, 12, 0, 123000)),
    ("2026-11-03T09:12:00.123456Z", utc(2026, 11, 3, 9, 12, 0, 123456)),
    ("2026-11-03T09:12:00.1234567Z", utc(2026, 11, 3, 9, 12, 0, 123456)),
    ("2026-11-03T09:12:00.123456789Z", utc(2026, 11, 3, 9, 12, 0, 123456)),
    ("2026-11-03T09:12:00,5Z", utc(2026, 11, 3, 9, 12, 0, 500000)),
    ("2026-11-03T11:12:00+02:00", NOON),
    ("2026-11-03T11:12:00+0200", NOON),
    ("2026-11-03T11:12:00+02", NOON),
    ("2026-11-03T03:42:00-05:30", NOON),
    ("2026-11-03 11:12:00 +0200", NOON),  # git
    ("2026-11-03 09:12:00 UTC", NOON),  # GitLab, BigQuery exports
    ("2026-11-03T09:12:00 utc", NOON),
    ("2026-11-03T09:12:00 GMT", NOON),
    ("2026-11-03T00:30:00+01:00", utc(2026, 11, 2, 23, 30)),
    ("20261103T091200Z", NOON),
    ("20261103T0912Z", NOON),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_TIMES)
def test_text_times(text, expected):
    assert parse_time(text) == expected
    assert checked_time(text, "t") == expected
    assert require_time(text, "t") == expected


EPOCHS = [
    (1_700_000_000, utc(2023, 11, 14, 22, 13, 20)),
    (1_700_000_000.25, utc(2023, 11, 14, 22, 13, 20, 250000)),
    ("1700000000", utc(2023, 11, 14, 22, 13, 20)),
    ("1700000000.5", utc(2023, 11, 14, 22, 13, 20, 500000)),
    (1_700_000_000_123, utc(2023, 11, 14, 22, 13, 20, 123000)),
    ("1700000000123", utc(2023, 11, 14, 22, 13, 20, 123000)),
    (1_700_000_000_123_456, utc(2023, 11, 14, 22, 13, 20, 123456)),
    (1_700_000_000_123_456_789, utc(2023, 11, 14, 22, 13, 20, 123456)),
    ("1700000000123456789", utc(2023, 11, 14, 22, 13, 20, 123456)),
    (1, utc(1970, 1, 1, 0, 0, 1)),
    # unit boundaries: below 1e11 seconds, below 1e14 ms, below 1e17 us, else ns
    (10**11 - 1, utc(5138, 11, 16, 9, 46, 39)),
    (10**11, utc(1973, 3, 3, 9, 46, 40)),
    (10**14 - 1, utc(5138, 11, 16, 9, 46, 39, 999000)),
    (10**14, utc(1973, 3, 3, 9, 46, 40)),
    (10**17 - 1, utc(5138, 11, 16, 9, 46, 39, 999999)),
    (10**17, utc(1973, 3, 3, 9, 46, 40)),
    (10**20, utc(5138, 11, 16, 9, 46, 40)),
]


@pytest.mark.parametrize(("value", "expected"), EPOCHS)
def test_epoch_times_take_their_unit_from_their_magnitude(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 3, 9, 12), NOON),
        (datetime(2026, 11, 3, 11, 12, tzinfo=timezone(timedelta(hours=2))), NOON),
        (date(2026, 11, 3), utc(2026, 11, 3)),
    ],
)
def test_datetimes_become_utc(value, expected):
    moment = parse_time(value)
    assert moment == expected and moment.tzinfo is UTC


PLACEHOLDERS = [
    None,
    "",
    "   ",
    0,
    0.0,
    "0",
    "0.0",
    -1,
    "-1700000000",
    "0001-01-01T00:00:00Z",  # Go's zero time
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.000+00:00",
    "1969-12-31T23:59:59Z",
    "0000-00-00 00:00:00",
    datetime(1970, 1, 1, tzinfo=UTC),
]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_zero_and_placeholder_times_are_absent_never_1970(value):
    assert parse_time(value) is None
    assert checked_time(value, "t") is None


UNREADABLE = [
    "yesterday",
    "redacted",
    "timestamp:redacted",
    "NaN",
    "2026-13-01T00:00:00Z",
    "2026-02-30",
    "2026-11-03T25:00:00Z",
    "2026-11-03T09:12:00+25:00",
    "03/11/2026 09:12",
    True,
    False,
    [],
    {},
    float("nan"),
    float("inf"),
    10**21,  # nanoseconds past year 9999
]


@pytest.mark.parametrize("value", UNREADABLE)
def test_unreadable_times_are_none_leniently_and_raise_strictly(value):
    assert parse_time(value) is None
    with pytest.raises(ParseError, match="is not a timestamp"):
        checked_time(value, "t")


def test_strict_time_messages_name_the_field_and_quote_a_short_value():
    with pytest.raises(ParseError) as raised:
        checked_time("soon", "line 2: started_at")
    assert str(raised.value) == (
        "line 2: started_at 'soon' is not a timestamp (expected RFC 3339 text such as "
        "2026-11-03T09:12:00Z, or epoch seconds or milliseconds)"
    )
    with pytest.raises(ParseError) as raised:
        checked_time("x" * 500, "finished_at")
    assert str(raised.value).startswith("finished_at '" + "x" * 79 + "…' is not a timestamp")
    with pytest.raises(ParseError) as raised:
        require_time(None, "line 1: timestamp")
    assert str(raised.value) == "line 1: timestamp is missing (a timestamp is required)"
    with pytest.raises(ParseError) as raised:
        require_time(0, "timestamp")
    assert str(raised.value) == (
        "timestamp '0' is a placeholder, not a time (at or before 1970-01-01)"
    )


def test_epoch_milliseconds_read_the_same_in_a_run_record_and_a_scan_report():
    ms = 1_762_335_000_123
    run = {"kind": "cicl.ci_run/v1", "pipeline": "build", "status": "success", "started_at": ms}
    _, runs = parse_bytes(json.dumps(run).encode(), "ci/r-1/run.json")
    report = {"SchemaVersion": 2, "ArtifactName": "app", "CreatedAt": ms, "Results": []}
    _, scans = parse_bytes(json.dumps(report).encode(), "ci/r-1/trivy.json")
    expected = utc(2025, 11, 5, 9, 30, 0, 123000)
    assert runs["ci_runs"][0]["started_at"] == expected
    assert scans["ci_scans"][0]["scanned_at"] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        (7.0, 7),
        ("7", 7),
        (" 7 ", 7),
        ("+7", 7),
        ("-7", -7),
        ("7.0", 7),
        ("1e3", 1000),
        ("1,234", 1234),
        ("1_000", 1000),
        ("12345678901234567890123", 12345678901234567890123),
        (True, None),
        (False, None),
        (None, None),
        ("", None),
        (7.5, None),
        ("7.5", None),
        ("seven", None),
        ("0x1A", None),
        ("NaN", None),
        (float("inf"), None),
        ([7], None),
    ],
)
def test_integers(value, expected):
    assert parse_int(value) == expected
    assert type(parse_int(value)) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),
        (1, 1.0),
        ("0.5", 0.5),
        (" 2.5e-3 ", 0.0025),
        ("-3", -3.0),
        ("1,234.5", 1234.5),
        (True, None),
        (None, None),
        ("", None),
        ("NaN", None),
        ("-Infinity", None),
        (float("nan"), None),
        ("1.2.3", None),
        ("660s", None),
    ],
)
def test_floats(value, expected):
    assert parse_float(value) == expected
    assert type(parse_float(value)) is type(expected)


def test_strict_numbers():
    assert checked_int(None, "window") is None
    assert checked_int("", "window") is None
    assert checked_int("3600", "window") == 3600
    with pytest.raises(ParseError) as raised:
        checked_int("3600.5", "line 1: window")
    assert str(raised.value) == "line 1: window '3600.5' is not a whole number"
    assert checked_float("0.999", "goal") == 0.999
    assert checked_float("NaN", "goal") is None  # no finite value to keep, but a number
    assert checked_float(float("inf"), "goal") is None
    with pytest.raises(ParseError) as raised:
        checked_float("fast", "line 2: sli_measurement")
    assert str(raised.value) == "line 2: sli_measurement 'fast' is not a number"
    with pytest.raises(ParseError, match="'True' is not a number"):
        checked_float(True, "goal")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (3, 3.0),
        (1.5, 1.5),
        ("1.5", 1.5),
        ("1,234.5", 1234.5),
        ("660s", 660.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m12s", 72.0),
        ("1h2m3s", 3723.0),
        ("450ms", 0.45),
        ("500us", 0.0005),
        ("250µs", 0.00025),
        ("1000000ns", 0.001),
        ("0s", 0.0),
        (0, 0.0),
        (-1, None),
        ("-1s", None),
        ("1m-2s", None),
        ("1x", None),
        ("s", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_durations_in_seconds(value, seconds):
    assert parse_seconds(value) == seconds


HEX = "ab" * 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"sha256:{HEX}", f"sha256:{HEX}"),
        (f"sha256:{HEX.upper()}", f"sha256:{HEX}"),
        (HEX.upper(), f"sha256:{HEX}"),
        (f"  sha256:{HEX}\n", f"sha256:{HEX}"),
        (f"ghcr.io/o/app:1.2@sha256:{HEX}", f"sha256:{HEX}"),
        (f"pkg:oci/app@sha256%3A{HEX}?repository_url=ghcr.io/o", f"sha256:{HEX}"),
        ("sha256:redacted", None),
        ("sha256:xyz", None),
        (HEX[:-2], None),
        (f"md5:{HEX}", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_sha256_digests(value, expected):
    assert sha256_digest(value) == expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (f"ghcr.io/o/app@sha256:{HEX.upper()}", f"sha256:{HEX}"),
        (f"ghcr.io/o/app:1.2@sha256:{HEX}", f"sha256:{HEX}"),
        (f"pkg:oci/app@sha256%3a{HEX}", f"sha256:{HEX}"),
        ("ghcr.io/o/app:1.2", None),
        (f"sha256:{HEX}", None),  # a digest, not a reference that pins one
        (None, None),
        (42, None),
    ],
)
def test_image_digests(reference, expected):
    assert image_digest(reference) == expected


def test_checked_digests():
    assert checked_digest(f"sha256:{HEX.upper()}", "image_digest") == f"sha256:{HEX}"
    assert checked_digest(None, "image_digest") is None
    assert checked_digest("", "image_digest") is None
    for bad in ("sha256:xyz", HEX):
        with pytest.raises(ParseError) as raised:
            checked_digest(bad, "line 1: image_digest")
        assert str(raised.value) == f"line 1: image_digest {bad!r} is not sha256:<64 hex>"
