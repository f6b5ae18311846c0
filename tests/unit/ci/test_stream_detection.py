import json

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
