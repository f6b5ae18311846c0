"""Turn column-wise span data (from either OTLP encoding) into an `otel_spans` Arrow table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cicl_assets.ingest.content import ParseError
from cicl_assets.telemetry.attributes import (
    INT,
    STR,
    AttrColumns,
    promote,
    quote,
    quote_repeated,
    render_objects,
)
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.tables import UTC_TS

SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS_CODES = ("UNSET", "OK", "ERROR")
# Spans per Arrow batch: large enough that per-batch costs vanish (~1 ms), small enough to keep
# a worker's memory flat (~10 MB per 1k spans while a batch is built; 16k -> 8k spans took a
# protobuf worker's peak from 324 to 271 MB at the same speed).
BATCH_SPANS = 8_192

SCHEMA = pa.schema([f for f in OTEL_SPANS.schema if f.name != "source_file"])

# promoted column -> attribute keys, the current semantic-convention name first
RESOURCE_STRINGS = {
    "service_name": ("service.name",),
    "service_version": ("service.version",),
    "deployment_environment": ("deployment.environment.name", "deployment.environment"),
}
SPAN_STRINGS = {
    "gen_ai_provider": ("gen_ai.provider.name", "gen_ai.system"),
    "gen_ai_model": ("gen_ai.request.model", "gen_ai.response.model"),
    "workflow_name": ("workflow.name",),
    "error_type": ("error.type",),
}
SPAN_INTS = {
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "http_status_code": ("http.response.status_code", "http.status_code"),
}


@dataclass
class EventColumns:
    owner: np.ndarray  # span row of each event
    name: pa.Array
    time_ns: pa.Array  # int64
    attrs: AttrColumns  # owner = event row


@dataclass
class LinkColumns:
    owner: np.ndarray  # span row of each link
    trace_id: pa.Array  # lowercase hex, checked
    span_id: pa.Array
    trace_state: pa.Array  # null when empty
    attrs: AttrColumns  # owner = link row


@dataclass
class SpanColumns:
    """One batch of spans, column-wise. Ids are lowercase hex strings, already checked."""

    trace_id: pa.Array
    span_id: pa.Array
    parent_span_id: pa.Array  # null for roots
    trace_state: pa.Array  # null when empty
    name: pa.Array
    kind: pa.Array  # int
    start_ns: pa.Array  # int64
    end_ns: pa.Array
    status_code: pa.Array  # int
    status_message: pa.Array  # null when empty
    resource_of: np.ndarray  # span row -> resource row
    scope_of: np.ndarray  # span row -> scope row
    resource_attrs: AttrColumns  # owner = resource row
    resource_count: int
    scope_name: pa.Array  # per scope row
    scope_version: pa.Array
    attrs: AttrColumns  # owner = span row
    events: EventColumns
    links: LinkColumns


def _enum_names(codes: pa.Array, names: tuple[str, ...]) -> pa.Array:
    arr = np.asarray(pc.fill_null(codes, 0).to_numpy(zero_copy_only=False), np.int64)
    valid = (arr >= 0) & (arr < len(names))
    return pc.take(pa.array(names), pa.array(np.where(valid, arr, 0), mask=~valid))


def _ns_to_ts(ns: pa.Array) -> pa.Array:
    return pc.divide(ns, 1000).cast(pa.int64()).view(UTC_TS) if len(ns) else pa.array([], UTC_TS)


def _events_json(events: EventColumns, n: int) -> pa.Array:
    m = len(events.owner)
    if m == 0:
        return pa.array(np.full(n, "[]", object), pa.string())
    objects = pc.binary_join_element_wise(
        '{"name":',
        quote_repeated(events.name),
        ',"time_unix_nano":',
        events.time_ns.cast(pa.string()),
        ',"attributes":',
        render_objects(events.attrs, m),
        "}",
        "",
    )
    return _wrap_list(objects, events.owner, n)


def _links_json(links: LinkColumns, n: int) -> pa.Array:
    m = len(links.owner)
    if m == 0:
        return pa.array(np.full(n, "[]", object), pa.string())
    state = pc.fill_null(
        pc.binary_join_element_wise(',"trace_state":', quote(links.trace_state), ""), ""
    )
    objects = pc.binary_join_element_wise(
        '{"trace_id":"',
        links.trace_id,
        '","span_id":"',
        links.span_id,
        '"',
        state,
        ',"attributes":',
        render_objects(links.attrs, m),
        "}",
        "",
    )
    return _wrap_list(objects, links.owner, n)


def _wrap_list(objects: pa.Array, owner: np.ndarray, n: int) -> pa.Array:
    counts = np.bincount(owner, minlength=n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), objects), ",")
    return pc.binary_join_element_wise("[", joined, "]", "")


JSON_COLUMNS = ("resource_attributes", "span_attributes", "events", "links")


def render_json(cols: SpanColumns) -> dict[str, pa.Array]:
    """The JSON text columns (resource_attributes per resource row, the others per span)."""
    n = len(cols.trace_id)
    return {
        "resource_attributes": render_objects(cols.resource_attrs, cols.resource_count),
        "span_attributes": render_objects(cols.attrs, n),
        "events": _events_json(cols.events, n),
        "links": _links_json(cols.links, n),
    }


# (spans, kind, keys) of each promoted column: spans 1 for span attributes, 0 for resource ones
PROMOTED = {
    **{name: (0, STR, keys) for name, keys in RESOURCE_STRINGS.items()},
    **{name: (1, STR, keys) for name, keys in SPAN_STRINGS.items()},
    **{name: (1, INT, keys) for name, keys in SPAN_INTS.items()},
}


def _promoted(
    cols: SpanColumns, name: str, n: int, picks: dict[str, np.ndarray] | None
) -> pa.Array:
    """A promoted column per owner; ``picks``: each owner's slot as attributes.promote finds it
    (-1 for none), when the compiled decoder found them."""
    spans, kind, keys = PROMOTED[name]
    attrs = cols.attrs if spans else cols.resource_attrs
    if picks is None:
        return promote(attrs, n, keys, kind)
    pick = picks[name]
    source, target = (attrs.s, pa.string()) if kind == STR else (attrs.i, pa.int64())
    return pc.take(source, pa.array(pick, mask=pick < 0)).cast(target)


def build_table(
    cols: SpanColumns,
    rendered: dict[str, pa.Array] | None = None,
    picks: dict[str, np.ndarray] | None = None,
) -> pa.Table:
    """The `otel_spans` rows of one batch (without source_file, which the runner adds).

    ``rendered``: the JSON_COLUMNS already rendered (by the compiled decoder), as render_json
    gives them; ``picks``: the promoted values' slots, as `_promoted` takes them."""
    n = len(cols.trace_id)
    text = render_json(cols) if rendered is None else rendered
    res_idx = pa.array(cols.resource_of)
    scope_idx = pa.array(cols.scope_of)
    rcount = cols.resource_count
    resource_cols = {
        name: pc.take(_promoted(cols, name, rcount, picks), res_idx) for name in RESOURCE_STRINGS
    }
    columns = {
        "trace_id": cols.trace_id,
        "span_id": cols.span_id,
        "parent_span_id": cols.parent_span_id,
        "trace_state": cols.trace_state,
        **resource_cols,
        "span_name": cols.name,
        "span_kind": _enum_names(cols.kind, SPAN_KINDS),
        "start_time": _ns_to_ts(cols.start_ns),
        "end_time": _ns_to_ts(cols.end_ns),
        "duration_ms": pc.divide(
            pc.subtract(cols.end_ns, cols.start_ns).cast(pa.float64()), 1_000_000.0
        ),
        "status_code": _enum_names(cols.status_code, STATUS_CODES),
        "status_message": cols.status_message,
        "scope_name": pc.take(cols.scope_name, scope_idx),
        "scope_version": pc.take(cols.scope_version, scope_idx),
        "resource_attributes": pc.take(text["resource_attributes"], res_idx),
        "span_attributes": text["span_attributes"],
        "events": text["events"],
        "links": text["links"],
    }
    for name in (*SPAN_STRINGS, *SPAN_INTS):
        columns[name] = _promoted(cols, name, n, picks)
    return pa.Table.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


def check_hex_ids(
    ids: pa.Array, digits: int, field: str, where: Callable[[int], str], nullable: bool = False
) -> pa.Array:
    """Lowercase hex ids; a malformed one raises ParseError naming where it is."""
    if nullable:
        ids = pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
    ok = pc.match_substring_regex(ids, f"^[0-9a-fA-F]{{{digits}}}$")
    ok = pc.fill_null(ok, nullable)
    if not pc.all(ok, min_count=0).as_py():
        bad = int(np.flatnonzero(~ok.to_numpy(zero_copy_only=False))[0])
        value = ids[bad].as_py()
        if value is None:
            raise ParseError(f"{where(bad)}: missing {field}")
        raise ParseError(
            f"{where(bad)}: invalid hex in {field} {value!r} (expected {digits} hex digits)"
        )
    return pc.ascii_lower(ids)


def check_times(
    start_ns: pa.Array,
    end_ns: pa.Array,
    span_ids: pa.Array,
    names: tuple[str, str],
    where: Callable[[int], str],
) -> None:
    """A span without a start or an end time (missing or 0) rejects its file: stored, it would
    sit at 1970-01-01 with a duration of decades."""
    for values, name in zip((start_ns, end_ns), names, strict=True):
        missing = pc.equal(pc.fill_null(values, 0), 0)
        if pc.any(missing, min_count=0).as_py():
            k = int(np.flatnonzero(missing.to_numpy(zero_copy_only=False))[0])
            count = pc.sum(missing).as_py()
            others = f" ({count:,} spans of this batch lack it)" if count > 1 else ""
            raise ParseError(
                f"{where(k)}: span {span_ids[k].as_py()} has no {name} (missing or 0){others}; "
                "every span needs a start and an end time: fix the instrumentation that sent it"
            )
