"""Formats a user can send, and look-alikes recognised only to be refused or skipped by name."""

from __future__ import annotations

import pytest

from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.formats import FileFormat, detect_format
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing.zone import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


def _format(name: str, marker: bytes, look_alikes: tuple[FileFormat, ...] = ()) -> FileFormat:
    return FileFormat(
        name, lambda sniff: sniff.contains(marker), lambda d, s: iter(()), look_alikes
    )


NOT_A = _format("not-a", b"a")
A = _format("a", b"a-ok", look_alikes=(NOT_A,))
B = _format("b", b"b")


# (content, the format detect_format picks among (A, B))
DETECTED = [
    (b"a-ok", "a"),
    (b"a, b", "b"),  # a look-alike of A comes after every format
    (b"a only", "not-a"),
    (b"nothing", None),
]


@pytest.mark.parametrize(("content", "expected"), DETECTED)
def test_look_alikes_are_tried_after_every_format(content, expected):
    found = detect_format((A, B), Sniff.of(content))
    assert (found.name if found else None) == expected


# (stream, the formats an unrecognised file's reject names)
EXPECTED = [
    (OTEL_STREAM, "otlp-json, otlp-logs-json, otlp-logs-protobuf, otlp-protobuf"),
    (
        DEPLOYMENTS_STREAM,
        "cicl.deployment/v1, github-deployment_status, github-deployment, gitlab-deployment, "
        "cloudbuild-build, github-push, gitlab-push",
    ),
]


@pytest.mark.parametrize(("stream", "names"), EXPECTED)
def test_an_unrecognised_file_is_told_only_the_formats_a_user_can_send(stream, names, tmp_path):
    (tmp_path / "landing" / stream.prefix).mkdir(parents=True)
    (tmp_path / "landing" / stream.prefix / "x.json").write_text('{"message": "collector started"}')
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    ingest_stream(stream, LandingZone(uri=str(tmp_path / "landing")), warehouse)
    [reject] = warehouse.query("SELECT error FROM ingest_rejects").to_pylist()
    assert reject["error"] == (
        f"{stream.prefix}/x.json: unknown: unrecognised format (expected one of: {names}); "
        """starts '{"message": "collector started"}'"""
    )


# (stream, content, the look-alike that recognises it)
LOOK_ALIKES = [
    (OTEL_STREAM, b'{"resourceMetrics": []}', "not-otlp-traces"),
    (OTEL_STREAM, b'{"data": [{"spans": [{"operationName": "x"}]}]}', "not-otlp-traces"),
    (DEPLOYMENTS_STREAM, b'{"action": "completed", "workflow_run": {"id": 1}}',
     "ci-webhook-without-deployment"),
    (DEPLOYMENTS_STREAM, b'{"object_kind": "pipeline", "object_attributes": {}}',
     "ci-webhook-without-deployment"),
]  # fmt: skip


@pytest.mark.parametrize(("stream", "content", "name"), LOOK_ALIKES)
def test_look_alikes_are_still_recognised_by_name(stream, content, name):
    assert detect_format(stream.formats, Sniff.of(content)).name == name
