"""`cicl.py release` and `cicl.py outcomes`: the release and its measurement from a shell.

Each executes its job (release_improvements, measure_outcomes) in this process against the
DAGSTER_HOME instance, as `run` does: the same assets, checks and records as the UI's runs.
"""

from __future__ import annotations

import sys

import dagster as dg

from cicl_assets.release.tables import VERDICTS
from jobs.candidates import OUTCOMES_JOB, RELEASE_JOB

INFO_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, reason: str):
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        run_config=INFO_LOGS,
        tags={"cicl/reason": reason},
        raise_on_error=False,
    )


def _error(result: dg.ExecuteInProcessResult, what: str) -> int:
    failures = [e for e in result.all_events if e.is_step_failure]
    data = failures[0].step_failure_data if failures else None
    why = data.error.message.strip() if data is not None and data.error else "see its logs"
    print(f"{what} failed (run {result.run_id}): {why}", file=sys.stderr)
    return 2


def release(defs: dg.Definitions, instance: dg.DagsterInstance) -> int:
    """Ship the approved candidates; prints the branch, the manifest and the check's verdict.
    Exit 1 when the blocking check fails (the branch must not be deployed), 0 otherwise,
    including when nothing awaits release."""
    result = _run(defs, instance, RELEASE_JOB, "scripts/cicl.py release")
    events = result.asset_materializations_for_node("improvement_release")
    if not events:
        return _error(result, "release")
    meta = {k: v.value for k, v in events[0].metadata.items()}
    for line in str(meta.get("skipped_candidates", "")).splitlines()[2:]:
        print(f"skipped {line.removeprefix('- ')}")
    if not meta.get("released"):
        print(f"nothing released: {meta.get('not_released')}")
    else:
        print(
            f"release {meta['release_id']}: {meta['released']} candidates on branch "
            f"{meta['branch']} ({meta['release_commit']}, base {meta['base_commit']})"
        )
        print(f"manifest: {meta['manifest']} (manifest id {meta['release_id']})")
    checks = result.get_asset_check_evaluations()
    for check in checks:
        verdict = "passed" if check.passed else "FAILED"
        print(f"check {check.check_name} {verdict}: {check.description or ''}".rstrip(": "))
    return 1 if any(not c.passed for c in checks) else 0


def outcomes(defs: dg.Definitions, instance: dg.DagsterInstance) -> int:
    """Measure the released candidates deployed to production; one line per outcome."""
    result = _run(defs, instance, OUTCOMES_JOB, "scripts/cicl.py outcomes")
    events = result.asset_materializations_for_node("candidate_outcomes")
    if not result.success or not events:
        return _error(result, "outcomes")
    meta = {k: v.value for k, v in events[0].metadata.items()}
    counts = ", ".join(f"{meta[f'verdict/{v}']} {v}" for v in VERDICTS)
    print(
        f"outcomes measured: {meta['measured']} ({counts}); releases not yet in production: "
        f"{meta['releases_not_yet_deployed']}"
    )
    warehouse = defs.resources["warehouse"]
    if meta["measured"]:
        ids = sorted(k.removeprefix("outcome/") for k in meta if k.startswith("outcome/"))
        rows = warehouse.query(
            "SELECT candidate_id, verdict, target_file, reason FROM candidate_outcomes "
            "WHERE measured_at >= (SELECT MAX(measured_at) FROM candidate_outcomes) "
            "ORDER BY target_file, candidate_id"
        ).to_pylist()
        for r in rows:
            if r["candidate_id"][:12] in ids:
                print(f"{r['candidate_id'][:12]}  {r['verdict']:<12} {r['target_file']}")
                print(f"    {r['reason']}")
    return 0
