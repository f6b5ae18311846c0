"""The `ci` ingest stream: every file under ci/<pipeline_run_id>/, recognised by content."""

from cicl_assets.ci import attestations, coverage, findings, junit, runs, sbom
from cicl_assets.ingest.runner import StreamSpec

# Order matters only where two detectors could both claim a file: the more specific first.
_MODULES = (runs, junit, coverage, sbom, findings, attestations)

CI_TABLES = tuple(t for m in _MODULES for t in m.TABLES)
CI_STREAM = StreamSpec(
    name="ci",
    prefix="ci",
    formats=tuple(f for m in _MODULES for f in m.FORMATS),
    tables=CI_TABLES,
)
