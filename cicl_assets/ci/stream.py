"""The `ci` ingest stream: every file under ci/<pipeline_run_id>/, recognised by content."""

from cicl_assets.ci import attestations, coverage, findings, junit, runs, sbom
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
