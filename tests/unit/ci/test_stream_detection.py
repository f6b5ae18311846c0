import json

import pytest

from cicl_assets.ci.stream import CI_STREAM
from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.formats import detect_format


def test_a_statement_embedding_a_github_event_is_read_as_an_attestation():
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "runtime", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "internalParameters": {
                    "github": {"event_payload": {"sender": {"login": "x"}, "repository": {}}}
                },
            }
        },
    }
    fmt = detect_format(CI_STREAM.formats, Sniff.of(json.dumps(statement).encode()))
    assert fmt is not None
    assert fmt.name == "in-toto-statement"


# Tools that write their keys sorted (cyclonedx-py, bandit's SARIF) put the identifying key after
# the large value: the format is found from the whole document once the head names none.
_PADDING = [{"name": f"pkg-{i}", "version": "1.0.0", "note": "x" * 64} for i in range(2000)]
LATE_KEYS = [
    (
        "cyclonedx-json",
        {"components": _PADDING, "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1},
    ),
    (
        "sarif",
        {
            "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": _PADDING}],
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        },
    ),
    ("spdx-json", {"packages": _PADDING, "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}),
]


@pytest.mark.parametrize(("expected", "doc"), LATE_KEYS, ids=[c[0] for c in LATE_KEYS])
def test_a_document_whose_identifying_key_comes_after_the_head_is_recognised(expected, doc):
    data = json.dumps(doc).encode()
    assert len(data) > 2 * 65536
    assert detect_format(CI_STREAM.formats, Sniff(Sniff.of(data).head)) is None  # head alone
    fmt = detect_format(CI_STREAM.formats, Sniff.of(data))
    assert fmt is not None
    assert fmt.name == expected


def test_a_large_file_its_head_identifies_is_not_parsed_whole():
    report = {
        "SchemaVersion": 2,
        "ArtifactName": "img",
        "ArtifactType": "container_image",
        "Results": [{"Target": "img", "Vulnerabilities": _PADDING}],
    }
    sniff = Sniff.of(json.dumps(report).encode())
    fmt = detect_format(CI_STREAM.formats, sniff)
    assert fmt is not None
    assert fmt.name == "trivy-json"
    assert sniff.memo == {}  # the whole document was never parsed for detection


def test_a_large_unrecognised_document_is_still_refused():
    data = json.dumps({"items": _PADDING, "kind": "Inventory"}).encode()
    assert detect_format(CI_STREAM.formats, Sniff.of(data)) is None
    truncated = data[: len(data) // 2]  # not JSON as a whole: the head is all there is
    assert detect_format(CI_STREAM.formats, Sniff.of(truncated)) is None
