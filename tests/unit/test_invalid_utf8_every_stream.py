"""Invalid UTF-8 in a string value rejects its file in every stream, saying where the bytes are,
and the stream's good file of the same run lands. Replacing the bytes with U+FFFD would change
the data silently; a person re-encodes the file (or fixes what wrote it) and it lands whole."""

import json
from pathlib import Path

import pytest

from cicl_assets.audit.stream import AUDIT_STREAM
from cicl_assets.ci.stream import CI_STREAM
from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.infra.stream import INFRA_STREAM
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.slo.reports import SLO_STREAM
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.slo.test_slo_reports import EXPORTER_ROW
from tests.unit.telemetry.otlp_requests import every_kind_request

FIXTURES = Path(__file__).parents[1] / "fixtures"
TEXT = (
    "text must be UTF-8 (re-encode the file, e.g. iconv -f latin1 -t utf-8, or fix what wrote it)"
)


def named_span_request(name: str) -> bytes:
    request = every_kind_request()
    request.resource_spans[0].scope_spans[0].spans[0].name = name
    return request.SerializeToString()


CASES = [
    # stream, landing path, good content, where the bad copy gets its bytes, the format
    (OTEL_STREAM, "otel/spans.pb", named_span_request("NAMEHERE"), b"NAMEHERE", "otlp-protobuf"),
    (
        CI_STREAM,
        "ci/run-1/junit.xml",
        (FIXTURES / "junit" / "enricomi-pytest__junit.fail.xml").read_bytes(),
        b'name="',
        "junit-xml",
    ),
    (
        CI_STREAM,
        "ci/run-1/coverage.lcov",
        (FIXTURES / "coverage" / "coveragepy7__coverage.lcov").read_bytes(),
        b"SF:",
        "lcov",
    ),
    (
        INFRA_STREAM,
        "infra/production/drift-2026-11-03.json",
        (FIXTURES / "tofu-plans" / "cicl-drift-2026-11-03.json").read_bytes(),
        b'"workspace": "',
        "cicl.drift_check/v1",
    ),
    (
        INFRA_STREAM,
        "infra/production/apply-2026-11-04T0905Z.log",
        (FIXTURES / "tofu-plans" / "cicl-apply-2026-11-04T0905Z.log").read_bytes(),
        b"google_redis_instance.cache",
        "tofu-apply-log",
    ),
    (
        DEPLOYMENTS_STREAM,
        "deployments/2026-11.jsonl",
        (FIXTURES / "deployments" / "cicl-deployments-2026-11.jsonl").read_bytes(),
        b'"actor": "',
        "cicl.deployment/v1",
    ),
    (
        AUDIT_STREAM,
        "audit/github.json",
        (FIXTURES / "audit-logs" / "gogithub-extract__orgs_audit_log.json").read_bytes(),
        b'"actor": "',
        "github-audit-log",
    ),
    (
        SLO_STREAM,
        "slo/reports.jsonl",
        json.dumps(EXPORTER_ROW).encode() + b"\n",
        b'"slo_description": "',
        "slo-generator-report",
    ),
]
WHOLE_MESSAGES = {
    "otel/spans.pb": (
        "resourceSpans[0].scopeSpans[0].spans[0].name: bytes 0xff 0xfe: invalid UTF-8 in a "
        "string field (protobuf strings must be UTF-8; use a bytes value for binary data, or fix "
        "what wrote it)"
    ),
    "ci/run-1/junit.xml": "XML is not well-formed: not well-formed (invalid token) at line 3, "
    "column 49",
}


def where(data: bytes, offset: int) -> str:
    lines = data[:offset].split(b"\n")
    return f"line {len(lines)}, column {len(lines[-1]) + 1} (byte {offset:,})"


@pytest.mark.parametrize(
    ("stream", "path", "good", "needle", "fmt"), CASES, ids=[c[1] for c in CASES]
)
def test_invalid_utf8_rejects_the_file_and_the_good_one_lands(
    tmp_path, stream, path, good, needle, fmt
):
    assert needle in good
    if fmt == "otlp-protobuf":  # same length, or the framing breaks first
        bad = good.replace(needle, b"\xff\xfe" + needle[2:], 1)
    else:
        bad = good.replace(needle, needle + b"\xff\xfe", 1)
    target = tmp_path / "landing" / path
    target.parent.mkdir(parents=True)
    target.write_bytes(bad)
    target.with_name(f"good-{target.name}").write_bytes(good)
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    report = ingest_stream(stream, LandingZone(uri=str(tmp_path / "landing")), warehouse)

    assert (report.files_seen, report.files_ingested, report.files_rejected) == (2, 1, 1)
    expected = WHOLE_MESSAGES.get(path)
    if expected is None:
        offset = bad.index(b"\xff\xfe")
        expected = f"invalid UTF-8 at {where(bad, offset)}: bytes 0xff 0xfe; {TEXT}"
    assert [o.error for o in report.rejects] == [f"{path}: {fmt}: {expected}"]
    assert report.rows_written > 0
