"""SliMapping documents: where cicl finds the events of an imported SLO whose indicator it
cannot query (PromQL, Cloud Monitoring filters).

```yaml
apiVersion: cicl.io/v1
kind: SliMapping
metadata: {name: imported-slis}
spec:
  mappings:
    - slo: myservice-requests-availability   # slo_specs.slo_name
      objective: Internal objective          # optional: every objective of the SLO when left out
      spans: {service: flow-gateway, span_kind: SERVER, kind: availability}
    - slo: gae-app-availability
      external: true                         # counts landed under slo/ (docs/slo-specs.md)
```

``spans`` takes the same keys as an ``otel_spans`` metricSource: the platform's own traces stand
in for the metric. ``external`` evaluates counts some other system exports.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cicl_assets.slo.spec_model import (
    SLI_EXTERNAL,
    SLI_KINDS,
    SLI_SPANS,
    SloSpec,
    SpanFilter,
    SpecError,
    SpecReject,
)

API_VERSION = "cicl.io/v1"
KIND = "SliMapping"


def is_mapping(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == KIND


def _mapped(objective: SloSpec, entry: dict[str, Any], where: str) -> SloSpec:
    if entry.get("external"):
        kind = str(entry.get("kind", objective.sli_kind))
        if kind not in SLI_KINDS:
            raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
        return replace(
            objective,
            sli_source=SLI_EXTERNAL,
            sli_kind=kind,
            span_filter=None,
            threshold_ms=None,
            indicator_issue="",
        )
    spans = entry.get("spans")
    if not isinstance(spans, dict):
        raise SpecError(f"{where}: a mapping needs spans (a span filter) or external: true")
    kind = spans.get("kind", "availability")
    if kind not in SLI_KINDS:
        raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
    threshold = None
    if kind == "latency":
        try:
            threshold = float(spans["threshold_ms"])
        except (KeyError, TypeError, ValueError):
            raise SpecError(f"{where}: a latency mapping needs threshold_ms (a number)") from None
    return replace(
        objective,
        sli_source=SLI_SPANS,
        sli_kind=kind,
        span_filter=SpanFilter.from_spec(spans, where),
        threshold_ms=threshold,
        indicator_issue="",
    )


def apply_mappings(
    objectives: list[SloSpec], docs: list[tuple[str, dict[str, Any]]]
) -> tuple[list[SloSpec], list[SpecReject]]:
    """The objectives with every mapping applied; a mapping that names no objective, or maps
    one twice, is refused (a typo must not leave an SLO silently unevaluated)."""
    rejects: list[SpecReject] = []
    by_index: dict[int, tuple[dict[str, Any], str]] = {}
    for source_file, doc in docs:
        if doc.get("apiVersion") != API_VERSION:
            rejects.append(
                SpecReject(source_file, KIND, f"{source_file}: an SliMapping is {API_VERSION}")
            )
            continue
        entries = (doc.get("spec") or {}).get("mappings")
        if not isinstance(entries, list) or not entries:
            rejects.append(SpecReject(source_file, KIND, f"{source_file}: spec.mappings is empty"))
            continue
        for n, entry in enumerate(entries, 1):
            slo = str((entry or {}).get("slo", ""))
            objective = entry.get("objective") if isinstance(entry, dict) else None
            where = f"{source_file} mapping {n} ({slo or 'no slo'})"
            hits = [
                i
                for i, o in enumerate(objectives)
                if o.slo_name == slo and (objective is None or o.objective == str(objective))
            ]
            if not hits:
                rejects.append(
                    SpecReject(source_file, slo, f"{where}: names no objective of any spec read")
                )
                continue
            for i in hits:
                if i in by_index:
                    rejects.append(
                        SpecReject(
                            source_file,
                            slo,
                            f"{where}: {objectives[i].name} is already mapped by {by_index[i][1]}",
                        )
                    )
                    continue
                by_index[i] = (entry, where)
    out = list(objectives)
    for i, (entry, where) in by_index.items():
        try:
            out[i] = _mapped(objectives[i], entry, where)
        except SpecError as exc:
            rejects.append(
                SpecReject(where.split(" mapping ")[0], objectives[i].slo_name, str(exc))
            )
    return out, rejects
