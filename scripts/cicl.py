"""Command line for the batch path: `run` materializes what the landing zone feeds, once.

python scripts/cicl.py run       # the landing_batch job, the SLO and regression day runs,
                                 # the breach sensor's runs
python scripts/cicl.py backfill --from 2026-11-02 --to 2026-11-05
                                 # recount, re-evaluate and look for regressions on those
                                 # days (one run per job)
python scripts/cicl.py summary   # rows per table and rejects, from the warehouse
python scripts/cicl.py audit-reset --reason "..." [--actor NAME]
                                 # start a new audit chain from audit_events as it is now
python scripts/cicl.py keygen --out DIR [--valid-from TIME]
                                 # a new signing key and the trust file entry for it

Runs log at INFO (Dagster's engine events are DEBUG and stay out); each breach reviewed gets one
line naming its cause.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg

from cicl_assets.audit.notary import ChainError, reset_chain
from cicl_assets.learning.breach import BREACH_REPORT_ASSET
from cicl_assets.partitions import day_ranges
from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text
from cicl_assets.slo.minute_counts import data_days, lookback_days
from cicl_assets.slo.specs import load_spec_dir
from cicl_assets.warehouse.base import Warehouse
from sensors.in_process import LaunchedRun, run_sensor_once
from sensors.slo_breach import SLO_BREACH_SENSOR, start_cursor
from sensors.slo_partitions import latest_storage_id, run_day_ranges, status_days, touched_days

REGRESSION_JOB = "cl_regression_days"
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


def breach_line(run: LaunchedRun) -> str:
    """One line for a cl_evaluation run: its breach, outcome and the cause its report names."""
    head = f"{run.run_key}: run {run.run_id[:8]}"
    if not run.success:
        failures = [e for e in run.result.all_events if e.is_step_failure]
        why = failures[0].step_failure_data.error.message.strip() if failures else "see its logs"
        return f"{head} FAILED: {why.splitlines()[0]}"
    [materialization] = run.result.asset_materializations_for_node(BREACH_REPORT_ASSET)
    return f"{head}: {materialization.metadata['cause'].value}"


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


def review_breaches(
    defs: dg.Definitions, instance: dg.DagsterInstance, status_before: int | None
) -> list[LaunchedRun]:
    """The daemon's own breach sensor decides on the slo_status days materialized since
    ``status_before``; its runs execute here."""
    return run_sensor_once(
        defs, instance, SLO_BREACH_SENSOR, INFO_LOGS, start_cursor(status_before)
    )


def _failed(results: list[dg.ExecuteInProcessResult]) -> list[str]:
    return [e.step_key for r in results for e in r.all_events if e.is_step_failure]


def _ranges(days: list[date]) -> str:
    return ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in day_ranges(days)) or "none"


def _report(
    warehouse: Warehouse,
    days: list[date],
    reviewed: list[LaunchedRun],
    regression_days: list[date] | None = None,
) -> None:
    print(summary(warehouse))
    print(f"\nslo_status days evaluated: {_ranges(days)}")
    print(f"regression days evaluated: {_ranges(regression_days or [])}")
    print(f"\nSLO breaches reviewed ({SLO_BREACH_SENSOR}): {len(reviewed)}")
    for launched in reviewed:
        print(f"  {breach_line(launched)}")


def run() -> int:
    """The ingest job; one run per range of days its new spans touch (minute counts, then
    slo_status for those days and the days whose windows reach them, then the regressions of
    those days); the breach sensor."""
    import definitions

    instance = dg.DagsterInstance.get()
    defs = definitions.defs
    spans_before = latest_storage_id(instance, "otel_spans")
    status_before = latest_storage_id(instance, "slo_status")
    result = defs.resolve_job_def("landing_batch").execute_in_process(
        instance=instance, raise_on_error=False, run_config=INFO_LOGS
    )
    warehouse = defs.resources["warehouse"]
    if not result.success:
        _report(warehouse, [], [])
        print(f"\nlanding_batch failed in: {', '.join(_failed([result]))}", file=sys.stderr)
        return 1
    touched, _ = touched_days(instance, spans_before)
    derived, days = refresh_slo_days(defs, instance, touched)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, REGRESSION_JOB, touched, INFO_LOGS)
    reviewed = review_breaches(defs, instance, status_before) if not _failed(derived) else []
    _report(warehouse, days, reviewed, [] if _failed(derived) else touched)
    if _failed(derived):
        print(f"\nday runs failed in: {', '.join(_failed(derived))}", file=sys.stderr)
        return 1
    return 0 if all(r.success for r in reviewed) else 1


def backfill(first: date, last: date) -> int:
    """Recount and re-evaluate the days first..last and look for their regressions (one run
    per job for the whole range), then review the breaches they show."""
    import definitions

    instance = dg.DagsterInstance.get()
    defs = definitions.defs
    status_before = latest_storage_id(instance, "slo_status")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    derived = run_day_ranges(defs, instance, "slo_counts_by_day", days, INFO_LOGS)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, "slo_status_by_day", days, INFO_LOGS)
    if not _failed(derived):
        derived += run_day_ranges(defs, instance, REGRESSION_JOB, days, INFO_LOGS)
    reviewed = review_breaches(defs, instance, status_before) if not _failed(derived) else []
    done = [] if _failed(derived) else days
    _report(defs.resources["warehouse"], done, reviewed, done)
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
    args = parser.parse_args(argv)
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
