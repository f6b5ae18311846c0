"""Whole SLO specs as their projects publish them: every objective imported, with its target,
window, budgeting method and alerting; foreign indicators listed as not evaluable."""

from pathlib import Path

import pytest

from cicl_assets.slo.specs import parse_specs

SPECS = Path(__file__).parents[2] / "fixtures" / "slo_specs"
WORKBOOK = ["page 1h/5m", "page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"]
GENERATOR_DEFAULT = ["page 1h", "page 12h"]
CANNOT_QUERY = "map it to spans or to external counts with an SliMapping in config/slos"


def _row(o):
    return (
        o.source_format,
        o.name,
        o.slo_name,
        o.objective,
        o.service,
        o.target,
        o.window,
        o.budgeting_method,
        o.time_slice_minutes,
        o.time_slice_target,
        [f"{r.severity} {r.label}" for r in o.policy.rules],
        o.evaluable,
    )


# (file, expected objectives, a phrase each reason holds)
CASES = [
    (
        "openslo-v1/occurences-slo.yaml",
        [
            (
                "openslo/v1",
                "search-slo",
                "search-slo",
                "Good experience",
                "web-shop",
                0.99,
                "14d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            )
        ],
        "metricSource type 'Any' is a query cicl cannot run",
    ),
    (
        "openslo-v1/timeslices-slo.yaml",
        [
            (
                "openslo/v1",
                "service-availability/Internal objective",
                "service-availability",
                "Internal objective",
                "web-availability",
                0.995,
                "1 minute calendar",
                "Timeslices",
                1,
                0.99,
                WORKBOOK,
                False,
            ),
            (
                "openslo/v1",
                "service-availability/SLA",
                "service-availability",
                "SLA",
                "web-availability",
                0.99,
                "1 minute calendar",
                "Timeslices",
                1,
                0.99,
                WORKBOOK,
                False,
            ),
        ],
        "metricSource type 'Any'",
    ),
    (
        "openslo-v1/ratio-timeslices.yaml",
        [
            (
                "openslo/v1",
                "main-page",
                "main-page",
                "Good",
                "web-shop",
                0.99,
                "14d",
                "RatioTimeslices",
                1,
                None,
                WORKBOOK,
                False,
            )
        ],
        "neither ratioMetric nor thresholdMetric (found ratioMethic)",
    ),
    (
        "openslo-v1alpha/openslo-getting-started.yml",
        [
            (
                "openslo/v1alpha",
                "sloth-slo-my-service",
                "sloth-slo-my-service",
                "",
                "my-service",
                0.999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            )
        ],
        "metricSource type 'prometheus' is a query cicl cannot run",
    ),
    (
        "sloth/getting-started.yml",
        [
            (
                "prometheus/v1",
                "myservice-requests-availability",
                "myservice-requests-availability",
                "",
                "myservice",
                0.999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            )
        ],
        "the SLI is Prometheus queries (sli.events)",
    ),
    (
        "sloth/no-alerts.yml",
        [
            (
                "prometheus/v1",
                "myapp-http-availability",
                "myapp-http-availability",
                "",
                "myapp",
                0.9999,
                "30d",
                "Occurrences",
                None,
                None,
                [],
                False,
            )
        ],
        "Prometheus queries",
    ),
    (
        "sloth/home-wifi.yml",
        [
            (
                "prometheus/v1",
                "home-wifi-good-wifi-client-satisfaction",
                "home-wifi-good-wifi-client-satisfaction",
                "",
                "home-wifi",
                0.95,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            ),
            (
                "prometheus/v1",
                "home-wifi-risk-wifi-client-satisfaction",
                "home-wifi-risk-wifi-client-satisfaction",
                "",
                "home-wifi",
                0.999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            ),
        ],
        "Prometheus queries",
    ),
    (
        "sloth-crd/k8s-getting-started.yml",
        [
            (
                "sloth.slok.dev/v1",
                "myservice-requests-availability",
                "myservice-requests-availability",
                "",
                "myservice",
                0.999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            )
        ],
        "Prometheus queries",
    ),
    (
        "sloth-crd/k8s-multifile.yml",
        [
            (
                "sloth.slok.dev/v1",
                "myservice-requests-availability",
                "myservice-requests-availability",
                "",
                "myservice",
                0.999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            ),
            (
                "sloth.slok.dev/v1",
                "myservice2-requests-availability",
                "myservice2-requests-availability",
                "",
                "myservice2",
                0.9999,
                "30d",
                "Occurrences",
                None,
                None,
                WORKBOOK,
                False,
            ),
        ],
        "Prometheus queries",
    ),
    (
        "slo-generator/slo_gae_app_availability.yaml",
        [
            (
                "sre.google.com/v2",
                "gae-app-availability",
                "gae-app-availability",
                "",
                "gae",
                0.95,
                "28d",
                "Occurrences",
                None,
                None,
                GENERATOR_DEFAULT,
                False,
            )
        ],
        "backend 'cloud_monitoring' (method 'good_bad_ratio')",
    ),
    (
        "slo-generator/slo_gae_app_latency.yaml",
        [
            (
                "sre.google.com/v2",
                "gae-app-latency724ms",
                "gae-app-latency724ms",
                "",
                "gae",
                0.999,
                "28d",
                "Occurrences",
                None,
                None,
                GENERATOR_DEFAULT,
                False,
            )
        ],
        "backend 'cloud_monitoring' (method 'distribution_cut')",
    ),
]


@pytest.mark.parametrize(("path", "expected", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_public_specs_import_every_objective(path, expected, phrase):
    specs = parse_specs({path: (SPECS / path).read_text()})
    assert specs.rejects == []
    assert [_row(o) for o in specs.objectives] == expected
    for objective in specs.objectives:
        assert phrase in objective.reason and CANNOT_QUERY in objective.reason
        assert objective.source_file == path


def test_every_vendored_spec_has_provenance():
    provenance = (SPECS / "PROVENANCE.md").read_text()
    files = sorted(str(p.relative_to(SPECS)) for p in SPECS.rglob("*.y*ml"))
    assert files == sorted(c[0] for c in CASES)
    for name in files:
        assert f"| {name} |" in provenance


MAPPINGS = """
apiVersion: cicl.io/v1
kind: SliMapping
metadata: {name: imported}
spec:
  mappings:
    - slo: myservice-requests-availability
      spans: {service: flow-gateway, span_kind: SERVER, kind: availability}
    - slo: gae-app-latency724ms
      external: true
      kind: latency
"""


def test_a_mapping_makes_imported_objectives_evaluable_through_spans_or_external_counts():
    files = {
        "sloth.yml": (SPECS / "sloth/getting-started.yml").read_text(),
        "gae.yaml": (SPECS / "slo-generator/slo_gae_app_latency.yaml").read_text(),
        "mappings.yaml": MAPPINGS,
    }
    specs = parse_specs(files)
    assert specs.rejects == []
    by_name = {o.name: o for o in specs.slos}
    sloth = by_name["myservice-requests-availability"]
    assert (sloth.sli_source, sloth.sli_kind) == ("spans", "availability")
    assert dict(sloth.span_filter.equals) == {"service_name": "flow-gateway", "span_kind": "SERVER"}
    gae = by_name["gae-app-latency724ms"]
    assert (gae.sli_source, gae.sli_kind, gae.span_filter) == ("external", "latency", None)
    assert gae.report_key == "gae/app/latency724ms"
    assert gae.describe_sli() == "external counts (landing slo/)"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("- slo: no-such-slo\n      external: true", "names no objective of any spec read"),
        (
            "- slo: myservice-requests-availability\n      spans: {flavour: x}",
            "unknown metricSource.spec keys ['flavour']",
        ),
        ("- slo: myservice-requests-availability\n      note: neither", "needs spans"),
    ],
)
def test_bad_mappings_are_refused_and_leave_the_objective_unevaluated(mapping, message):
    text = "apiVersion: cicl.io/v1\nkind: SliMapping\nspec:\n  mappings:\n    " + mapping + "\n"
    specs = parse_specs(
        {"sloth.yml": (SPECS / "sloth/getting-started.yml").read_text(), "m.yaml": text}
    )
    assert specs.slos == []
    [reject] = specs.rejects
    assert message in reject.reason


SEVERAL = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout}
spec:
  service: flow-gateway
  budgetingMethod: Timeslices
  indicator:
    metadata: {name: checkout-requests}
    spec:
      ratioMetric:
        good: {metricSource: {type: otel_spans, spec: {kind: availability}}}
        total: {metricSource: {type: otel_spans, spec: {service: flow-gateway}}}
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {startTime: "2026-01-01 00:00:00", timeZone: Europe/Berlin}
  objectives:
    - displayName: strict
      target: 0.999
      timeSliceTarget: 0.95
      timeSliceWindow: 5m
    - displayName: loose
      targetPercent: 99
      timeSliceTarget: 0.9
      timeSliceWindow: 1m
"""


def test_several_objectives_on_spans_with_a_calendar_month_and_timeslices():
    specs = parse_specs({"checkout.yaml": SEVERAL})
    assert specs.rejects == []
    got = [
        (o.name, o.objective, o.target, o.window, o.time_slice_minutes, o.time_slice_target)
        for o in specs.slos
    ]
    assert got == [
        ("checkout/strict", "strict", 0.999, "1 month calendar", 5, 0.95),
        ("checkout/loose", "loose", 0.99, "1 month calendar", 1, 0.9),
    ]
    assert specs.slos[0].calendar.time_zone == "Europe/Berlin"
    assert specs.slos[0].window_minutes == 31 * 1440


@pytest.mark.parametrize(
    ("change", "message", "refused"),
    [
        ("budgetingMethod: Timeslices", "budgetingMethod 'Sometimes' is not one of", True),
        ("      timeSliceTarget: 0.95\n", "Timeslices needs timeSliceTarget", True),
        ("isRolling: false", "a rolling month has no fixed length", False),
        ("timeZone: Europe/Berlin", "timeZone 'Mars/Olympus' is not an IANA time zone", True),
    ],
)
def test_malformed_specs_are_refused_and_odd_windows_listed(change, message, refused):
    replacement = {
        "budgetingMethod: Timeslices": "budgetingMethod: Sometimes",
        "      timeSliceTarget: 0.95\n": "",
        "isRolling: false": "isRolling: true",
        "timeZone: Europe/Berlin": "timeZone: Mars/Olympus",
    }[change]
    specs = parse_specs({"checkout.yaml": SEVERAL.replace(change, replacement, 1)})
    if refused:
        assert specs.objectives == []
        [reject] = specs.rejects
        assert message in reject.reason
    else:
        assert specs.rejects == [] and specs.slos == []
        assert all(message in o.reason for o in specs.objectives)


def test_not_an_slo_spec_is_refused_with_what_was_expected():
    specs = parse_specs({"values.yaml": "replicaCount: 2\nimage: {tag: latest}\n"})
    [reject] = specs.rejects
    assert "not an SLO spec (expected apiVersion openslo/v1, openslo/v1alpha" in reject.reason
