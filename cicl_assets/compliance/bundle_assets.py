"""The evidence_bundles asset: a signed in-toto bundle per production deployment in the outbox,
a new numbered one whenever its evidence changes, each recorded in the audit chain."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import dagster as dg

from cicl_assets.audit.chain import chained_keys, record_action
from cicl_assets.compliance.bundles import BundleInput, bundle_bytes, content_digest, statements
from cicl_assets.compliance.context import findings_of, open_findings, slo_context
from cicl_assets.compliance.policy import GATES_FILE, load_bundles
from cicl_assets.compliance.tables import DEPLOYMENT_EVIDENCE
from cicl_assets.deployments.summary import FINISHED
from cicl_assets.outbox import CreateOnlyStore, open_outbox
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import utcnow

EVIDENCE_BRANCH = "cicl-evidence"
FOLDER = "evidence"


def bundle_folder(service: str, digest: str) -> str:
    return f"{FOLDER}/{service}/{digest.replace(':', '-')}"


def _first_predicate(data: bytes) -> dict[str, Any]:
    line = data.split(b"\n", 1)[0]
    return json.loads(base64.b64decode(json.loads(line)["payload"]))["predicate"]


@dataclass(frozen=True)
class Published:
    """A deployment's newest bundle in the outbox."""

    name: str
    content_digest: str
    sha256: str
    supersedes: str | None


def published(store: CreateOnlyStore, folder: str) -> tuple[int, dict[str, Published]]:
    """(highest bundle number, deployment_id -> its newest bundle) of the bundles in
    ``folder``."""
    numbered = []
    for name in store.list(folder):
        stem = name.rsplit("/", 1)[-1].removesuffix(".intoto.jsonl")
        if stem.isdigit():
            numbered.append((int(stem), name))
    latest: dict[str, Published] = {}
    for _, name in sorted(numbered):
        data = store.read(name)
        predicate = _first_predicate(data)
        latest[predicate["deployment"]["deployment_id"]] = Published(
            name,
            predicate["bundle"]["contentDigest"],
            hashlib.sha256(data).hexdigest(),
            predicate["bundle"].get("supersedes"),
        )
    return max((n for n, _ in numbered), default=0), latest


def _tests(warehouse: Warehouse, run_ids: list[str]) -> dict[str, dict[str, int]]:
    if not run_ids or not warehouse.table_exists("ci_test_cases"):
        return {}
    out: dict[str, dict[str, int]] = {}
    for r in warehouse.query(
        "SELECT pipeline_run_id, status, COUNT(*) AS n FROM ci_test_cases WHERE pipeline_run_id "
        f"IN {IN_ARRAY.format(param='ids')} GROUP BY pipeline_run_id, status",
        {"ids": sorted(set(run_ids))},
    ).to_pylist():
        out.setdefault(r["pipeline_run_id"], {})[r["status"]] = int(r["n"])
    return out


EVIDENCE_BUNDLES = "evidence_bundles"
BUNDLES_DESCRIPTION = (
    "One row per bundle (a file, not a table): a signed in-toto bundle per production "
    "deployment and change of its evidence, in the outbox under "
    "evidence/<service>/<digest>/<n>.intoto.jsonl; each bundle's sha256 is in the audit chain."
)


def chain_bundle(
    warehouse: Warehouse,
    notary: Any,
    row: dict[str, Any],
    name: str,
    sha: str,
    supersedes: str | None,
) -> None:
    """The bundle's ``evidence_bundle`` event in the audit chain, once per bundle."""
    record_action(
        warehouse,
        action="evidence_bundle",
        actor="cicl",
        resource=name,
        environment="production",
        image_digest=row["image_digest"],
        details={
            "deployment_id": row["deployment_id"],
            "sha256": sha,
            "supersedes": supersedes,
            "verdict": row["verdict"],
        },
        event_id=f"evidence_bundle:{name}",
        notary=notary,
    )


def cut_bundles(warehouse: Warehouse, cicl_config: CiclConfig) -> dg.MaterializeResult:
    """Cut the bundles whose evidence is new or changed."""
    signer = cicl_config.signer()
    if signer is None:
        return dg.MaterializeResult(
            asset_key=EVIDENCE_BUNDLES,
            metadata={"bundles_cut": 0, "not_cut": "no signing key (CICL_SIGNING_KEY)"},
        )
    warehouse.ensure_table(DEPLOYMENT_EVIDENCE)
    now, policy = utcnow(), load_bundles(cicl_config.path)
    rows = [
        r
        for r in warehouse.query(
            "SELECT * FROM deployment_evidence WHERE environment = 'production' "
            "ORDER BY started_at, deployment_id"
        ).to_pylist()
        if r["image_digest"]
        and r["status"] in FINISHED
        and r["finished_at"] is not None
        # Complete evidence is cut at once; evidence that may still arrive waits out the grace.
        and (r["verdict"] == "pass" or r["finished_at"] + policy.grace <= now)
    ]
    policy_digest = hashlib.sha256((cicl_config.path / GATES_FILE).read_bytes()).hexdigest()
    run_ids = [i for r in rows for i in json.loads(r["ci_runs"] or "[]")]
    tests, findings = _tests(warehouse, run_ids), open_findings(warehouse, run_ids)
    store = open_outbox(cicl_config.outbox_uri, git_branch=EVIDENCE_BRANCH)
    notary = cicl_config.chain_notary(warehouse)
    cut = []
    already: list[tuple[dict[str, Any], Published]] = []
    for row in rows:
        folder = bundle_folder(row["service"], row["image_digest"])
        highest, latest = published(store, folder)
        docs = statements(
            BundleInput(
                row,
                tests,
                policy_digest,
                tuple(findings_of(findings, json.loads(row["ci_runs"] or "[]"))),
                slo_context(warehouse, row, policy),
            )
        )
        previous = latest.get(row["deployment_id"])
        if previous is not None and previous.content_digest == content_digest(docs):
            already.append((row, previous))
            continue
        number = highest + 1
        supersedes = previous.sha256 if previous else None
        data = bundle_bytes(docs, signer, number, supersedes)
        name = f"{folder}/{number}.intoto.jsonl"
        store.create(name, data)
        chain_bundle(warehouse, notary, row, name, hashlib.sha256(data).hexdigest(), supersedes)
        cut.append(name)
    # A run killed between a bundle and its audit event left the event to this one.
    chained = chained_keys(warehouse, [f"evidence_bundle:{p.name}" for _, p in already])
    for row, p in already:
        if ("cicl", f"evidence_bundle:{p.name}") not in chained:
            chain_bundle(warehouse, notary, row, p.name, p.sha256, p.supersedes)
    return dg.MaterializeResult(
        asset_key=EVIDENCE_BUNDLES,
        metadata={
            "bundles_cut": len(cut),
            "production_deployments_bundled": len(rows),
            "cut": dg.MetadataValue.json(cut),
        },
    )
