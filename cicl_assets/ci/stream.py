"""The `ci` ingest stream: every file under ci/<pipeline_run_id>/, recognised by content."""

from dataclasses import replace

from cicl_assets.ci.attestations import formats as attestations
from cicl_assets.ci.attestations.signing import AttestationTrust
from cicl_assets.ci.coverage import formats as coverage
from cicl_assets.ci.findings import formats as findings
from cicl_assets.ci.junit import reports as junit
from cicl_assets.ci.runs import formats as runs
from cicl_assets.ci.sbom import formats as sbom
from cicl_assets.ingest.runner import StreamSpec

# Order matters where two detectors could claim a file: webhook payloads (runs) are recognised
# by loose keys that attestations embedding an event payload also carry, so they come last.
_MODULES = (junit, coverage, sbom, findings, attestations, runs)

CI_TABLES = tuple(t for m in _MODULES for t in m.TABLES)
CI_STREAM = StreamSpec(
    name="ci",
    prefix="ci",
    formats=tuple(f for m in _MODULES for f in m.FORMATS),
    tables=CI_TABLES,
)


def ci_stream(trust: AttestationTrust) -> StreamSpec:
    """CI_STREAM with attestation signatures checked against ``trust``."""
    bound = {f.name: f for f in attestations.attestation_formats(trust)}
    return replace(CI_STREAM, formats=tuple(bound.get(f.name, f) for f in CI_STREAM.formats))
