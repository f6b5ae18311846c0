"""Large protobuf requests are parsed piece by piece with the same rows and error paths."""

import pyarrow as pa
import pytest

from cicl_assets.ingest.content import ParseError
from cicl_assets.telemetry import otlp_proto_split
from cicl_assets.telemetry.otlp_proto import parse_protobuf
from cicl_assets.telemetry.otlp_proto_split import pieces
from tests.unit.telemetry.otlp_requests import every_kind_request


def _table(data: bytes) -> pa.Table:
    return pa.concat_tables([t for _, t in parse_protobuf(data, "otel/x.pb")])


@pytest.mark.parametrize("limit", [1, 200, 400, 10_000])
def test_pieces_give_the_rows_of_the_whole_request(monkeypatch, limit):
    data = every_kind_request().SerializeToString() * 3  # three requests, merged
    whole = _table(data)
    monkeypatch.setattr(otlp_proto_split, "PIECE_BYTES", limit)
    assert len(list(pieces(data))) > (6 if limit < 1000 else 0)
    assert _table(data).equals(whole)
    assert whole.num_rows == 12


def test_a_bad_span_in_a_split_scope_keeps_its_path(monkeypatch):
    req = every_kind_request()
    req.resource_spans[1].scope_spans[0].spans[0].span_id = b"\x01"
    req.resource_spans[0].scope_spans[0].spans.add().CopyFrom(
        req.resource_spans[0].scope_spans[0].spans[1]
    )
    req.resource_spans[0].scope_spans[0].spans[2].trace_id = b""
    monkeypatch.setattr(otlp_proto_split, "PIECE_BYTES", 1)
    with pytest.raises(ParseError, match=r"^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[2\]: "
                       r"invalid trace_id \(missing\)"):  # fmt: skip
        _table(req.SerializeToString())


@pytest.mark.parametrize("cut", [1, 3, 50, -1])
def test_truncated_framing_is_a_parse_error(monkeypatch, cut):
    data = every_kind_request().SerializeToString()
    monkeypatch.setattr(otlp_proto_split, "PIECE_BYTES", 100)
    with pytest.raises(ParseError, match="not a readable protobuf ExportTraceServiceRequest"):
        _table(data[:cut])
