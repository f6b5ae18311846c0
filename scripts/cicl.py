"""Command line for the batch path: `run` materializes what the landing zone feeds, once.

python scripts/cicl.py run       # the landing_batch job, the SLO, routing and regression day
                                 # runs, the breach sensor's runs, the failure modes and flaky
                                 # tests of those days, then the improvement candidates
python scripts/cicl.py backfill --from 2026-11-02 --to 2026-11-05
                                 # recount, re-evaluate, score providers and look for
                                 # regressions on those days (one run per job)
python scripts/cicl.py summary   # rows per table and rejects, from the warehouse
python scripts/cicl.py candidates                  # open candidates, approvals so far
python scripts/cicl.py review ID --approve|--reject --reviewer NAME --justification TEXT
                                 # decide a candidate through candidate_review (docs/review.md)
python scripts/cicl.py release   # ship the approved candidates: branch, manifest, check result
python scripts/cicl.py outcomes  # measure released candidates deployed to production
python scripts/cicl.py audit-reset --reason "..." [--actor NAME]
                                 # start a new audit chain from audit_events as it is now
python scripts/cicl.py keygen --out DIR [--valid-from TIME]
                                 # a new signing key and the trust file entry for it
python scripts/cicl.py verify-evidence BUNDLE --key PUB [--warehouse]
                                 # verify an evidence bundle offline (and against the warehouse)
python scripts/cicl.py compliance-report --from 2026-10-01 --to 2026-10-31 [--out FILE]
                                 # the auditor's HTML report of those days (to the outbox, or FILE)

Runs log at INFO (Dagster's engine events are DEBUG and stay out); each breach reviewed gets one
line naming its cause.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg

from cicl_assets.audit.notary import ChainError, reset_chain
from cicl_assets.ingest.runner import start_workers
from cicl_assets.instance import open_instance
from cicl_assets.learning.breach import BREACH_REPORT_ASSET
from cicl_assets.learning.routing.groups import load_policy as load_routing_policy
from cicl_assets.partitions import day_ranges, range_tags, run_ranges
from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text
from cicl_assets.slo.minute_counts import data_days, lookback_days
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.lease import LeaseBusy, writer_lease
from sensors.batch_plan import (
    BatchPlan,
    candidates_due,
    plan_landing_batch,
    record_finished,
    record_started,
)
from sensors.batch_progress import BatchProgress, pending_days
from sensors.in_process import LaunchedRun, run_sensor_once
from sensors.slo_breach import SLO_BREACH_SENSOR, start_cursor
from sensors.slo_partitions import (
    latest_storage_id,
    run_day_ranges,
    status_days,
    touched_days,
)

REGRESSION_JOB = "cl_regression_days"
CANDIDATES_JOB = "refresh_candidates"
# The delivery evaluations whose findings candidates rest on (runbooks, test quarantine).
DELIVERY_FINDINGS = ("failure_modes", "flaky_tests")
INFO_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
REJECTS_SHOWN = 20


def summary(warehouse: Warehouse) -> str:
    counts = warehouse.table_row_counts()
    width = max((len(n) for n in counts), default=10)
    lines = ["", f"{warehouse.dialect} {warehouse.target}", "table".ljust(width) + "        rows"]
    lines += [f"{name.ljust(width)}  {rows:>10,}" for name, rows in counts.items()]
    rejects = counts.get("ingest_rejects", 0)
    if rejects:
        shown = warehouse.query(
            f"SELECT error FROM ingest_rejects ORDER BY source_file LIMIT {REJECTS_SHOWN}"
        ).to_pylist()
        lines += ["", f"rejects ({rejects}):"] + [f"  {r['error']}" for r in shown]
        if rejects > REJECTS_SHOWN:
            lines.append(f"  ... and {rejects - REJECTS_SHOWN} more in ingest_rejects")
    return "\n".join(lines)


def landing_line(result: dg.ExecuteInProcessResult | None, plan: BatchPlan) -> str:
    """What the ingest steps did with the landing files they listed; a stream that got no step
    had every file unchanged in the plan's listing."""
    per_step: dict[str, Any] = {}
    for event in result.all_events if result is not None else []:
        if event.is_step_materialization:
            metadata = event.event_specific_data.materialization.metadata
            if "files_seen" in metadata:  # one stream's report, on each asset it writes
                per_step.setdefault(event.step_key, metadata)

    unlisted = sum(f.listed for f in plan.unselected_streams().values())

    def total(key: str) -> int:
        return sum(int(m[key].value) for m in per_step.values() if key in m)

    seen, unread = total("files_seen") + unlisted, total("files_skipped_unread") + unlisted
    return (
        f"landing files: {seen:,} listed, {seen - unread:,} read "
        f"({total('files_ingested'):,} ingested, {total('files_rejected'):,} rejected), "
        f"{unread:,} unchanged and not read"
    )


def breach_line(run: LaunchedRun) -> str:
    """One line for a cl_evaluation run: its breach, outcome and the cause its report names."""
    head = f"{run.run_key}: run {run.run_id[:8]}"
    if not run.success:
        failures = [e for e in run.result.all_events if e.is_step_failure]
        why = failures[0].step_failure_data.error.message.strip() if failures else "see its logs"
        return f"{head} FAILED: {why.splitlines()[0]}"
    # A review spanning several days materializes one report partition per day.
    reports = run.result.asset_materializations_for_node(BREACH_REPORT_ASSET)
    causes = dict.fromkeys(m.metadata["cause"].value for m in reports if "cause" in m.metadata)
    return f"{head}: {'; '.join(causes) or 'no report written'}"


def refresh_slo_days(
    defs: dg.Definitions, instance: dg.DagsterInstance, touched: list[date]
) -> tuple[list[dg.ExecuteInProcessResult], list[date]]:
    """Recount the touched days, then evaluate them and the days whose windows reach them;
    returns the runs and the slo_status days evaluated."""
    runs = run_day_ranges(defs, instance, "slo_counts_by_day", touched, INFO_LOGS)
    if not all(r.success for r in runs):
        return runs, []
    resources = defs.resources
    warehouse = resources["warehouse"]
    specs = load_spec_dir(resources["cicl_config"].path / "slos").slos
    days = status_days(touched, data_days(warehouse), lookback_days(specs))
    return runs + run_day_ranges(defs, instance, "slo_status_by_day", days, INFO_LOGS), days


def refresh_routing_days(
    defs: dg.Definitions, instance: dg.DagsterInstance, touched: list[date]
) -> list[dg.ExecuteInProcessResult]:
    """Scorecards and routing proposals of the touched days and of the later days whose
    baselines reach them, up to the data's last day."""
    warehouse = defs.resources["warehouse"]
    baseline = load_routing_policy(defs.resources["cicl_config"].path).baseline_days
    days = status_days(touched, data_days(warehouse) or sorted(touched), baseline)
    return run_day_ranges(defs, instance, "routing_by_day", days, INFO_LOGS)


def review_breaches(
    defs: dg.Definitions, instance: dg.DagsterInstance, status_before: int | None
) -> list[LaunchedRun]:
    """The daemon's own breach sensor decides on the slo_status days materialized since
    ``status_before``; its runs execute here."""
    return run_sensor_once(
        defs, instance, SLO_BREACH_SENSOR, INFO_LOGS, start_cursor(status_before)
    )


def refresh_delivery_findings(
    defs: dg.Definitions, instance: dg.DagsterInstance, days: list[date]
) -> list[dg.ExecuteInProcessResult]:
    """Failure modes and flaky tests of ``days``: one run per range of consecutive days, at
    most a month (each asset loops over its range's days)."""
    job = defs.resolve_job_def("delivery_daily")
    keys = [dg.AssetKey(k) for k in DELIVERY_FINDINGS]
    return [
        job.execute_in_process(
            instance=instance,
            asset_selection=keys,
            run_config=INFO_LOGS,
            tags={**range_tags(first, last), "cicl/reason": "days to refresh"},
            raise_on_error=False,
        )
        for first, last in run_ranges(days)
    ]


def refresh_candidates(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> list[dg.ExecuteInProcessResult]:
    """Improvement candidates from the findings as they now are (nothing without a platform
    repository); no run when neither the findings nor the repository's HEAD changed since."""
    config = defs.resources["cicl_config"].process_config_and_initialize()

    def head() -> str | None:
        repo = config.platform_repo()
        return repo.head() if repo is not None else None

    if candidates_due(defs, instance, head) is None:
        return []
    job = defs.resolve_job_def(CANDIDATES_JOB)
    return [job.execute_in_process(instance=instance, run_config=INFO_LOGS, raise_on_error=False)]


def candidates_lines(warehouse: Warehouse) -> list[str]:
    """One line per open candidate: kind, file, title."""
    if not warehouse.table_exists("improvement_candidates"):
        return []
    rows = warehouse.query(
        "SELECT candidate_id, kind, target_file, title FROM improvement_candidates "
        "WHERE status = 'open' ORDER BY kind, target_file"
    ).to_pylist()
    lines = [f"\nimprovement candidates open: {len(rows)}"]
    lines += [
        f"  {r['candidate_id'][:12]} {r['kind']:<17} {r['target_file']}: {r['title']}" for r in rows
    ]
    return lines


def _failed(results: list[dg.ExecuteInProcessResult]) -> list[str]:
    """Steps that failed on an error; a step stopped by its own failing blocking check did its
    work and reported a verdict (``failing_gates``), so it is not among them."""
    return [
        e.step_key
        for r in results
        for e in r.all_events
        if e.is_step_failure
        and e.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError"
    ]


def failing_gates(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per blocking check that failed: a verdict about the data (a production deploy
    that went out failing its gate), not a fault of the run."""
    lines = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        check = event.event_specific_data
        if check.blocking and not check.passed:
            lines.append(f"  {check.check_name} FAILED: {check.description or 'see its metadata'}")
    return lines


def _ranges(days: list[date]) -> str:
    return ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in day_ranges(days)) or "none"


def _report(
    warehouse: Warehouse,
    days: list[date],
    reviewed: list[LaunchedRun],
    regression_days: list[date] | None = None,
    candidates: bool = False,
) -> None:
    print(summary(warehouse))
    print(f"\nslo_status days evaluated: {_ranges(days)}")
    print(f"regression days evaluated: {_ranges(regression_days or [])}")
    for line in candidates_lines(warehouse) if candidates else []:
        print(line)
    print(f"\nSLO breaches reviewed ({SLO_BREACH_SENSOR}): {len(reviewed)}")
    for launched in reviewed:
        print(f"  {breach_line(launched)}")


def run() -> int:
    """The ingest job; one run per range of days its new spans touch (minute counts, then
    slo_status for those days and the days whose windows reach them, then the regressions of
    those days); the breach sensor."""
    import definitions

    instance = open_instance()
    defs = definitions.defs
    warehouse = defs.resources["warehouse"]
    began = time.monotonic()
    code = _with_writer_lease(warehouse, lambda: _held(warehouse, _run, defs, instance))
    # On stderr with the run's logs: stdout ends with the breach lines people read.
    print(f"work after start-up: {time.monotonic() - began:.2f} s", file=sys.stderr)
    return code


def _with_writer_lease(warehouse, work) -> int:
    # These runs bypass Dagster's run queue: the warehouse's writer lease keeps a second
    # `make run` from writing at the same time (it waits, then gives up saying why).
    try:
        with writer_lease(warehouse, log=lambda line: print(line, file=sys.stderr)):
            return work()
    except LeaseBusy as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 75  # EX_TEMPFAIL: nothing was written; run again later


def _held(warehouse: Warehouse, work, defs, instance, *args) -> int:
    # The warehouse stays open across the runs' many calls instead of being opened by each.
    with warehouse.held():
        return work(defs, instance, warehouse, *args)


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, warehouse) -> int:
    # From where the last run that finished its day runs and reviews left off, not from this
    # run's start: a run killed after its ingest leaves its days to this one.
    resources = defs.resources
    plan = plan_landing_batch(
        defs, instance, warehouse, resources["landing"], resources["cicl_config"]
    )
    progress = BatchProgress.load(instance)
    result = None
    if plan.selection:
        run_id = str(uuid.uuid4())
        progress = progress.started(run_id)
        progress.save(instance)
        record_started(instance, plan)
        for stream in plan.selected_streams():
            start_workers(stream.spec)
        result = defs.resolve_job_def("landing_batch").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=INFO_LOGS,
            run_id=run_id,
            asset_selection=None if plan.full else sorted(plan.selection),
            tags={"cicl/reason": "; ".join(plan.reasons)[:1000]},
        )
    print(landing_line(result, plan))
    gates = failing_gates(result) if result is not None else []
    print(f"gates failing: {len(gates)}")
    for line in gates:
        print(line)
    if result is not None and _failed([result]):
        _report(warehouse, [], [])
        print(f"\nlanding_batch failed in: {', '.join(_failed([result]))}", file=sys.stderr)
        return 1
    if result is not None:
        record_finished(instance, plan)
    touched, spans_newest = touched_days(instance, progress.spans_after)
    touched = sorted(set(touched) | set(pending_days(warehouse, progress)))
    derived, days = refresh_slo_days(defs, instance, touched)
    if not _failed(derived):
        derived += refresh_routing_days(defs, instance, touched)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, REGRESSION_JOB, touched, INFO_LOGS)
    if not _failed(derived):
        derived += refresh_delivery_findings(defs, instance, touched)
    if _failed(derived):
        _report(warehouse, days, [], [], candidates=True)
        print(f"\nday runs failed in: {', '.join(_failed(derived))}", file=sys.stderr)
        return 1
    progress = progress.refreshed(spans_newest)
    progress.save(instance)
    status_newest = latest_storage_id(instance, "slo_status")
    reviewed = review_breaches(defs, instance, progress.status_after)
    if all(r.success for r in reviewed):
        progress.reviewed(status_newest).save(instance)
    # Candidates are regenerated from the warehouse's state as a whole, so a killed run's
    # are simply made again by the next.
    refreshed = refresh_candidates(defs, instance)
    _report(warehouse, days, reviewed, touched, candidates=True)
    if _failed(refreshed):
        print(f"\ncandidates failed in: {', '.join(_failed(refreshed))}", file=sys.stderr)
        return 1
    return 0 if all(r.success for r in reviewed) else 1


def backfill(first: date, last: date) -> int:
    """Recount and re-evaluate the days first..last and look for their regressions (one run
    per job for the whole range), then review the breaches they show."""
    import definitions

    instance = open_instance()
    defs = definitions.defs
    warehouse = defs.resources["warehouse"]
    return _with_writer_lease(
        warehouse, lambda: _held(warehouse, _backfill, defs, instance, first, last)
    )


def _backfill(defs, instance, warehouse, first: date, last: date) -> int:
    status_before = latest_storage_id(instance, "slo_status")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    derived = run_day_ranges(defs, instance, "slo_counts_by_day", days, INFO_LOGS)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, "slo_status_by_day", days, INFO_LOGS)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, "routing_by_day", days, INFO_LOGS)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, REGRESSION_JOB, days, INFO_LOGS)
    reviewed = review_breaches(defs, instance, status_before) if not _failed(derived) else []
    done = [] if _failed(derived) else days
    _report(warehouse, done, reviewed, done)
    if _failed(derived):
        print(f"\nbackfill failed in: {', '.join(_failed(derived))}", file=sys.stderr)
        return 1
    return 0 if all(r.success for r in reviewed) else 1


def audit_reset(reason: str, actor: str) -> int:
    """Close the warehouse's current audit chain and start a new one from the table as it is:
    a signed genesis in the outbox and an ``audit_chain_reset`` event as its first append."""
    import definitions

    resources = definitions.defs.resources
    warehouse = resources["warehouse"].process_config_and_initialize()
    cicl_config = resources["cicl_config"].process_config_and_initialize()
    notary = cicl_config.chain_notary(warehouse)
    try:
        genesis = reset_chain(warehouse, notary, reason, actor)
    except ChainError as exc:
        print(f"audit-reset refused: {exc}", file=sys.stderr)
        return 1
    closed = genesis.previous_chain_id or "none"
    print(
        f"new chain {genesis.chain_id} for {notary.location.location} starts at seq "
        f"{genesis.starts_at[0]} (closes chain {closed}); published in {notary.where}"
    )
    return 0


def keygen(out: Path, valid_from: datetime) -> int:
    """Write a new ed25519 signing key (mode 0600) and a trust file listing its public half."""
    signer = Ed25519Signer.generate()
    out.mkdir(parents=True, exist_ok=True)
    key_path, trust_path = out / "cicl-signing.key.pem", out / "trust.yaml"
    for path in (key_path, trust_path):
        if path.exists():
            print(f"{path} exists; keygen never replaces a key", file=sys.stderr)
            return 1
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(signer.private_key_pem())
    trust_path.write_text(trust_file_text([trust_entry(signer.public_key(), valid_from)]))
    print(
        f"{signer.key_id}: private key {key_path} (store it as CICL_SIGNING_KEY), trust {trust_path}"
    )
    return 0


def verify_evidence(bundle: Path, key_path: Path, with_warehouse: bool) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from cicl_assets.compliance.verify import verify_bundle

    key = serialization.load_pem_public_key(key_path.read_bytes())
    if not isinstance(key, ed25519.Ed25519PublicKey):
        print(f"{key_path}: not an ed25519 public key in PEM", file=sys.stderr)
        return 2
    lookup = None
    if with_warehouse:
        import definitions

        warehouse = definitions.defs.resources["warehouse"]

        def lookup(deployment_id: str) -> dict | None:
            rows = warehouse.query(
                "SELECT image_digest, verdict FROM deployment_evidence WHERE deployment_id = @id",
                {"id": deployment_id},
            ).to_pylist()
            return rows[0] if rows else None

    problems = verify_bundle(bundle.read_bytes(), key, lookup)
    for problem in problems:
        print(f"{bundle}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{bundle}: verified")
    return 1 if problems else 0


def compliance_report(first: date, last: date, out: Path | None) -> int:
    """Render the report of the days first..last; publish it in the outbox, or write ``out``."""
    import definitions
    from cicl_assets.compliance.report_assets import (
        REPORTS_BRANCH,
        REPORTS_FOLDER,
        day_bounds,
        publish_report,
        render_period,
    )
    from cicl_assets.outbox import open_outbox

    resources = definitions.defs.resources
    warehouse = resources["warehouse"].process_config_and_initialize()
    cicl_config = resources["cicl_config"].process_config_and_initialize()
    start, end = day_bounds(first, last)
    data, page = render_period(
        warehouse, cicl_config, start, end, f"Compliance report {first} to {last} (cicl)"
    )
    if out is not None:
        out.write_text(page, encoding="utf-8")
        where = str(out)
    else:
        store = open_outbox(cicl_config.outbox_uri, git_branch=REPORTS_BRANCH)
        where = publish_report(store, f"{REPORTS_FOLDER}/{first}_{last}", page.encode()).location
    print(where)
    for name, value in data.figures().items():
        print(f"  {name}: {value}")
    return 0


def review_command(args: argparse.Namespace) -> int:
    import definitions
    from scripts.review_commands import candidates, review

    defs = definitions.defs
    if args.command == "candidates":
        return candidates(defs)
    instance = open_instance()
    return _with_writer_lease(
        defs.resources["warehouse"],
        lambda: review(
            defs, instance, args.candidate, args.decision, args.reviewer, args.justification
        ),
    )


def release_command(command: str) -> int:
    import definitions
    from scripts.release_commands import outcomes, release

    defs = definitions.defs
    instance = open_instance()
    work = release if command == "release" else outcomes
    return _with_writer_lease(defs.resources["warehouse"], lambda: work(defs, instance))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cicl")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="materialize what the landing zone feeds, then a summary")
    commands.add_parser("summary", help="rows per table and rejects")
    back = commands.add_parser("backfill", help="recount and re-evaluate a range of data days")
    back.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    back.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    reset = commands.add_parser("audit-reset", help="start a new audit chain (signed, published)")
    reset.add_argument("--reason", required=True, help="why the chain restarts (recorded)")
    reset.add_argument(
        "--actor", default=pwd.getpwuid(os.getuid()).pw_name, help="who decided (recorded)"
    )
    gen = commands.add_parser("keygen", help="a new signing key and its trust file entry")
    gen.add_argument("--out", type=Path, required=True, help="folder for the key and trust file")
    gen.add_argument(
        "--valid-from", type=_time, default=None, help="when the key starts signing (default now)"
    )
    check = commands.add_parser("verify-evidence", help="verify an evidence bundle offline")
    check.add_argument("bundle", type=Path)
    check.add_argument("--key", type=Path, required=True, help="cicl's public key (PEM)")
    check.add_argument(
        "--warehouse", action="store_true", help="also check it against deployment_evidence"
    )
    report = commands.add_parser("compliance-report", help="the auditor's HTML report of days")
    report.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    report.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    report.add_argument("--out", type=Path, default=None, help="write here, not to the outbox")
    commands.add_parser("candidates", help="open improvement candidates and their approvals")
    decide = commands.add_parser("review", help="approve or reject an improvement candidate")
    decide.add_argument("candidate", help="the candidate's id (or its first characters)")
    verdict = decide.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", dest="decision", action="store_const", const="approve")
    verdict.add_argument("--reject", dest="decision", action="store_const", const="reject")
    decide.add_argument("--reviewer", required=True, help="your name in config/reviewers.yaml")
    decide.add_argument("--justification", required=True, help="why (recorded)")
    commands.add_parser("release", help="ship the approved candidates to the platform repo")
    commands.add_parser("outcomes", help="measure released candidates deployed to production")
    args = parser.parse_args(argv)
    if args.command in ("release", "outcomes"):
        return release_command(args.command)
    if args.command in ("review", "candidates"):
        return review_command(args)
    if args.command == "compliance-report":
        if args.last < args.first:
            parser.error("--to is before --from")
        return compliance_report(args.first, args.last, args.out)
    if args.command == "verify-evidence":
        return verify_evidence(args.bundle, args.key, args.warehouse)
    if args.command == "run":
        return run()
    if args.command == "backfill":
        if args.last < args.first:
            parser.error("--to is before --from")
        return backfill(args.first, args.last)
    if args.command == "audit-reset":
        return audit_reset(args.reason, args.actor)
    if args.command == "keygen":
        return keygen(args.out, args.valid_from or datetime.now(UTC))
    import definitions

    print(summary(definitions.defs.resources["warehouse"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
