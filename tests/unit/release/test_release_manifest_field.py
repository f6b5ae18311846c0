"""cicl.deployment/v1 carries the manifest id of the cicl release it deploys, optionally."""

from __future__ import annotations

import json

import pytest

from cicl_assets.deployments.native import parse_native
from cicl_assets.deployments.summary import merge_deployments
from cicl_assets.ingest.content import ParseError

RECORD = {
    "kind": "cicl.deployment/v1",
    "deployment_id": "dep-prod-0101",
    "environment": "production",
    "service": "platform-config",
    "status": "succeeded",
    "started_at": "2026-11-07T10:00:00Z",
}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"release_manifest": "3f9c2a7d51e08b64"}, "3f9c2a7d51e08b64"),
        ({"release_manifest": None}, None),
        ({}, None),
    ],
)
def test_the_manifest_id_reaches_the_deployment(extra, expected):
    [(table, rows)] = list(parse_native(json.dumps({**RECORD, **extra}).encode(), "d.json"))
    assert table == "deployment_events"
    assert rows[0]["release_manifest"] == expected
    [deployment] = merge_deployments([{**rows[0], "source_file": "d.json"}])
    assert deployment["release_manifest"] == expected


def test_a_manifest_id_that_is_not_text_is_refused_saying_so():
    data = json.dumps({**RECORD, "release_manifest": 42}).encode()
    with pytest.raises(ParseError, match="release_manifest: must be a string"):
        list(parse_native(data, "d.json"))
