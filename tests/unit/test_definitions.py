"""The code location loads, and every asset carries what the UI and its users rely on."""

import json
import os
from pathlib import Path

import dagster as dg

import definitions

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def _asset_facts() -> dict[str, dict]:
    graph = definitions.defs.resolve_asset_graph()
    facts = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        facts[key.to_user_string()] = {
            "group": node.group_name,
            "owners": sorted(node.owners),
            "kinds": sorted(node.kinds),
            "partitioned": node.partitions_def is not None,
        }
    return facts


def test_definitions_load_and_every_job_and_sensor_resolves():
    dg.Definitions.validate_loadable(definitions.defs)
    repo = definitions.defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {"landing_batch"}
    assert {s.name for s in repo.sensor_defs} >= {"landing_arrivals_sensor"}


def test_every_asset_states_its_grain_and_has_group_owner_and_kind():
    graph = definitions.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.group_name and node.group_name != "default", name
        assert node.owners, f"{name} has no owner"
        assert node.kinds, f"{name} has no kinds"
        first_line = (node.description or "").strip().splitlines()[0] if node.description else ""
        assert first_line, f"{name} has no description"


def test_asset_keys_groups_owners_and_kinds_match_the_snapshot():
    """Renaming or regrouping an asset breaks analysts' bookmarks: it must be a deliberate change.

    Regenerate with `UPDATE_SNAPSHOT=1 make test` after such a change.
    """
    facts = _asset_facts()
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), f"{SNAPSHOT.name} is missing: run UPDATE_SNAPSHOT=1 make test"
    assert facts == json.loads(SNAPSHOT.read_text())
