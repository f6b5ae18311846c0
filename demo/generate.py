"""Builds the demo landing zone: simulated traffic and the pipeline history around it."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from demo import landing_writer, story
from demo.audit_files import write_audit
from demo.ci_files import write_ci
from demo.ci_security import public_key_hint
from demo.deployment_files import write_deployments
from demo.history_plan import plan_history
from demo.infra_files import write_infra
from demo.otel_files import write_broken, write_traffic
from demo.push_files import write_pushes
from demo.slo_files import write_slo_reports
from demo.traffic_plan import DEFAULT_SPANS, plan_traffic

GENERATOR_VERSION = 5


@dataclass
class GenerationReport:
    skipped: bool
    seconds: float
    spans: int = 0
    files: list[landing_writer.WrittenFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def by_folder(self) -> dict[str, tuple[int, int]]:
        """Top-level folder -> (file count, bytes)."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for f in self.files:
            folder = f.path.split("/", 1)[0]
            totals[folder][0] += 1
            totals[folder][1] += f.size
        return {k: (v[0], v[1]) for k, v in sorted(totals.items())}


def generate(
    out: Path,
    seed: int = story.SEED,
    spans: int = DEFAULT_SPANS,
    force: bool = False,
    workers: int = 2,
    *,
    attestation_key: ec.EllipticCurvePrivateKey,
) -> GenerationReport:
    """Write the landing zone under ``out``, the pipeline's attestations signed with
    ``attestation_key``; skip when an identical generation is already there."""
    started = time.perf_counter()
    settings = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "spans": spans,
        "attestation_key": public_key_hint(attestation_key.public_key()),
    }
    out.mkdir(parents=True, exist_ok=True)
    if not force and landing_writer.manifest_is_current(out, settings):
        return GenerationReport(skipped=True, seconds=time.perf_counter() - started)
    plans = plan_traffic(seed, spans)
    files, span_count = write_traffic(out, plans, workers)
    files += write_broken(out, max(plans, key=lambda p: len(p.runs)))
    history = plan_history(seed)
    files += write_ci(out, history.runs, seed, attestation_key)
    files += write_deployments(out, history.deployments)
    files += write_pushes(out, history.runs)
    files += write_infra(out)
    files += write_audit(out, history, seed)
    files += write_slo_reports(out, seed)
    removed = landing_writer.finish(out, settings, files)
    return GenerationReport(
        skipped=False,
        seconds=time.perf_counter() - started,
        spans=span_count,
        files=files,
        removed=removed,
    )
