"""One bad file never breaks a step: each poison file seen in the otel/ folder ends as one
ingest_rejects row with a message a person can act on, the good file of the same run lands and
is recorded, and the next run adds nothing."""

import os
import threading
from pathlib import Path

import pytest

from cicl_assets.ingest.runner import IngestReport, ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.crashing_stream import CRASHING_STREAM
from tests.unit.telemetry.otlp_requests import every_kind_request


def otlp_line(span_id: str = "b7ad6b7169203331", name: bytes = b"invoice-triage") -> bytes:
    """One OTLP/JSON line in the canonical shape the Arrow fast path reads."""
    return (
        b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
        b'{"stringValue":"workflow-runtime"}}]},"scopeSpans":[{"scope":{"name":"runtime"},'
        b'"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"' + span_id.encode()
        + b'","name":"' + name + b'","kind":2,"startTimeUnixNano":"1762300800123456789",'
        b'"endTimeUnixNano":"1762300802623456789","attributes":[{"key":"workflow.name",'
        b'"value":{"stringValue":"invoice-triage"}}],"status":{"code":1}}]}]}]}\n'
    )  # fmt: skip


NAME_AT = otlp_line().index(b"invoice-triage")
TEXT = (
    "text must be UTF-8 (re-encode the file, e.g. iconv -f latin1 -t utf-8, or fix what wrote it)"
)
ONLY_REGULAR = "only regular files are read: put the file itself there, not a link or pipe"
NO_TIMES = every_kind_request()  # a span with neither time: it used to land at 1970-01-01
NO_TIMES.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano = 0
NO_TIMES.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = 0


def make_poison(otel: Path, kind: str) -> tuple[str, str]:
    """Put one poison entry in otel/; returns its listed path and the reject's message."""
    if kind == "deep nesting":
        (otel / "deep.json").write_bytes(
            b'{"resourceSpans":' + b"[" * 20_000 + b"]" * 20_000 + b"}\n"
        )
        return "otel/deep.json", (
            "otel/deep.json: otlp-json: JSON nested more than 512 levels deep (arrays and objects "
            "inside each other); refused before parsing, as nesting that deep crashes JSON "
            "parsers: flatten the document or fix what wrote it"
        )
    if kind == "invalid UTF-8":
        bad = otlp_line("00f067aa0ba902b7", b"\xff\xfeinvoice")
        (otel / "latin.json").write_bytes(bad)
        return "otel/latin.json", (
            f"otel/latin.json: otlp-json: invalid UTF-8 at line 1, column {NAME_AT + 1} "
            f"(byte {NAME_AT}): bytes 0xff 0xfe; {TEXT}"
        )
    if kind == "dot-dot name":
        (otel / "..\\evil.json").write_bytes(otlp_line("00f067aa0ba902b7"))
        return "otel/..\\\\evil.json", (
            "otel/..\\\\evil.json: not read: landing path 'otel/..\\\\evil.json' escapes the "
            "landing root (a '\\' counts as a separator); rename the file"
        )
    if kind in ("dangling symlink", "symlink loop", "symlink to a good file"):
        target = {
            "dangling symlink": otel.parent / "nowhere.json",
            "symlink loop": otel / "link.json",
            "symlink to a good file": otel / "good.json",
        }[kind]
        os.symlink(target, otel / "link.json")
        return "otel/link.json", f"otel/link.json: not read: a symbolic link; {ONLY_REGULAR}"
    if kind == "FIFO":
        os.mkfifo(otel / "pipe.json")
        return "otel/pipe.json", f"otel/pipe.json: not read: a named pipe (FIFO); {ONLY_REGULAR}"
    if kind == "span without times":
        (otel / "no-times.pb").write_bytes(NO_TIMES.SerializeToString())
        return "otel/no-times.pb", (
            "otel/no-times.pb: otlp-protobuf: resourceSpans[0].scopeSpans[0].spans[0]: span "
            "b7ad6b7169203331 has no start_time_unix_nano (missing or 0); every span needs a "
            "start and an end time: fix the instrumentation that sent it"
        )
    raise AssertionError(kind)


def ingest_within(seconds: float, *args, **kwargs) -> IngestReport:
    """ingest_stream, failing the test instead of hanging when it blocks."""
    box: dict = {}

    def run() -> None:
        try:
            box["report"] = ingest_stream(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"ingestion still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["report"]


POISON = [
    "deep nesting",
    "invalid UTF-8",
    "dot-dot name",
    "dangling symlink",
    "symlink loop",
    "symlink to a good file",
    "FIFO",
    "span without times",
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kind", POISON)
def test_a_poison_file_is_one_reject_and_the_good_file_lands(tmp_path, kind, workers):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    (otel / "good.json").write_bytes(otlp_line())
    path, message = make_poison(otel, kind)
    landing = LandingZone(uri=str(tmp_path / "landing"))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    first = ingest_within(120, OTEL_STREAM, landing, warehouse, run_id="r1", workers=workers)
    assert (first.files_seen, first.files_ingested, first.files_rejected) == (2, 1, 1)
    spans = warehouse.query("SELECT span_id, span_name, source_file FROM otel_spans").to_pylist()
    assert spans == [
        {
            "span_id": "b7ad6b7169203331",
            "span_name": "invoice-triage",
            "source_file": "otel/good.json",
        }
    ]
    rejects = warehouse.query("SELECT source_file, error, run_id FROM ingest_rejects").to_pylist()
    assert rejects == [{"source_file": path, "error": message, "run_id": "r1"}]
    recorded = warehouse.query("SELECT source_file, status FROM ingested_files ORDER BY 1")
    assert sorted(recorded.to_pylist(), key=str) == sorted(
        [
            {"source_file": "otel/good.json", "status": "ingested"},
            {"source_file": path, "status": "rejected"},
        ],
        key=str,
    )

    again = ingest_within(120, OTEL_STREAM, landing, warehouse, run_id="r2", workers=workers)
    assert (again.files_ingested, again.files_rejected, again.files_skipped) == (0, 0, 2)
    assert warehouse.row_count("otel_spans") == 1
    assert warehouse.row_count("ingest_rejects") == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_name_of_undecodable_bytes_is_stored_escaped_and_recorded(tmp_path, workers):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    (otel / "good.json").write_bytes(otlp_line())
    with open(os.fsencode(otel) + b"/\xff\xfe.json", "wb"):
        pass  # empty: rejected
    with open(os.fsencode(otel) + b"/caf\xe9.json", "wb") as handle:  # latin-1 name, good spans
        handle.write(otlp_line("00f067aa0ba902b7"))
    landing = LandingZone(uri=str(tmp_path / "landing"))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    first = ingest_stream(OTEL_STREAM, landing, warehouse, workers=workers)
    assert (first.files_ingested, first.files_rejected) == (2, 1)
    assert warehouse.query("SELECT error FROM ingest_rejects").column("error").to_pylist() == [
        "otel/\\xff\\xfe.json: unknown: the file is empty (0 bytes of content)"
    ]
    files = warehouse.query("SELECT source_file, status FROM ingested_files ORDER BY 1")
    assert files.to_pylist() == [
        {"source_file": "otel/\\xff\\xfe.json", "status": "rejected"},
        {"source_file": "otel/caf\\xe9.json", "status": "ingested"},
        {"source_file": "otel/good.json", "status": "ingested"},
    ]
    spans = warehouse.query("SELECT source_file FROM otel_spans ORDER BY 1")
    assert spans.column("source_file").to_pylist() == ["otel/caf\\xe9.json", "otel/good.json"]

    again = ingest_stream(OTEL_STREAM, landing, warehouse, workers=workers)
    assert (again.files_ingested, again.files_rejected, again.files_skipped) == (0, 0, 3)


def test_a_file_that_vanishes_after_listing_is_rejected_and_tried_again(tmp_path, monkeypatch):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    (otel / "good.json").write_bytes(otlp_line())
    (otel / "gone.json").write_bytes(otlp_line("00f067aa0ba902b7"))
    listed = LandingZone.list

    def list_then_delete(self, prefix=""):
        objects = list(listed(self, prefix))
        (otel / "gone.json").unlink(missing_ok=True)
        return iter(objects)

    landing = LandingZone(uri=str(tmp_path / "landing"))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    monkeypatch.setattr(LandingZone, "list", list_then_delete)
    first = ingest_stream(OTEL_STREAM, landing, warehouse)
    assert (first.files_ingested, first.files_rejected) == (1, 1)
    assert [o.error for o in first.rejects] == [
        "otel/gone.json: cannot read (it vanished after it was listed); tried again next run"
    ]
    # nothing recorded for it: when it comes back, it is read
    monkeypatch.setattr(LandingZone, "list", listed)
    (otel / "gone.json").write_bytes(otlp_line("00f067aa0ba902b7"))
    again = ingest_stream(OTEL_STREAM, landing, warehouse)
    assert (again.files_ingested, again.files_rejected) == (1, 0)
    assert warehouse.row_count("otel_spans") == 2


CRASHED = (
    "while working on this file; the rest of the batch went on, and the file is read again only "
    "once it changes"
)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crashed_or_killed_parser_costs_its_file_only(tmp_path, workers):
    folder = tmp_path / "landing" / "crashing"
    folder.mkdir(parents=True)
    for name, content in [
        ("1.txt", b"1"),
        ("abort.txt", b"crash:abort"),
        ("exit.txt", b"crash:exit"),
        ("kill.txt", b"crash:kill"),
        ("m.txt", b"2"),
        ("memory.txt", b"crash:memory"),
        ("segfault.txt", b"crash:segfault"),
        ("z.txt", b"3"),
    ]:
        (folder / name).write_bytes(content)
    landing = LandingZone(uri=str(tmp_path / "landing"))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    first = ingest_stream(CRASHING_STREAM, landing, warehouse, workers=workers)
    assert (first.files_seen, first.files_ingested, first.files_rejected) == (8, 3, 5)
    assert warehouse.query("SELECT a FROM sample_rows ORDER BY a").column("a").to_pylist() == [
        1,
        2,
        3,
    ]
    errors = warehouse.query("SELECT error FROM ingest_rejects ORDER BY 1").column("error")
    prefix = "crashing/{}: crash-or-number: parser crashed: the parser process"
    assert errors.to_pylist() == [
        f"{prefix.format('abort.txt')} was killed by SIGABRT (signal 6) {CRASHED}",
        f"{prefix.format('exit.txt')} exited with status 3 {CRASHED}",
        f"{prefix.format('kill.txt')} was killed by SIGKILL (signal 9) while working on this "
        "file (often the out-of-memory killer: the file may need more memory than it has); the "
        "rest of the batch went on, and the file is read again only once it changes",
        "crashing/memory.txt: crash-or-number: ran out of memory parsing the file: split it, or "
        "give ingestion more memory",
        f"{prefix.format('segfault.txt')} was killed by SIGSEGV (signal 11) {CRASHED}",
    ]

    again = ingest_stream(CRASHING_STREAM, landing, warehouse, workers=workers)
    assert (again.files_ingested, again.files_rejected, again.files_skipped) == (0, 0, 8)
    assert warehouse.row_count("ingest_rejects") == 5
