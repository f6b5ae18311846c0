"""Command line for the batch path: `run` materializes what the landing zone feeds, once.

python scripts/cicl.py run       # the landing_batch job, then a summary
python scripts/cicl.py summary   # rows per table and rejects, from the warehouse
python scripts/cicl.py audit-reset --reason "..." [--actor NAME]
                                 # start a new audit chain from audit_events as it is now
python scripts/cicl.py keygen --out DIR [--valid-from TIME]
                                 # a new signing key and the trust file entry for it
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg

from cicl_assets.audit.notary import ChainError, reset_chain
from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text
from cicl_assets.warehouse.base import Warehouse


def summary(warehouse: Warehouse) -> str:
    names = sorted(
        warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'cicl'"
            if warehouse.dialect == "duckdb"
            else "SELECT table_name FROM INFORMATION_SCHEMA.TABLES"
        )
        .column("table_name")
        .to_pylist()
    )
    width = max((len(n) for n in names), default=10)
    lines = ["", "table".ljust(width) + "  rows"]
    lines += [f"{n.ljust(width)}  {warehouse.row_count(n):>10,}" for n in names]
    if "ingest_rejects" in names:
        rejects = warehouse.query(
            "SELECT source_file, error FROM ingest_rejects ORDER BY source_file LIMIT 20"
        ).to_pylist()
        lines.append("")
        lines.append(f"rejects ({warehouse.row_count('ingest_rejects')}):")
        lines += [f"  {r['error']}" for r in rejects]
    return "\n".join(lines)


def run() -> int:
    import definitions
    from sensors.breach_batch import evaluate_breaches_once

    instance = dg.DagsterInstance.get()
    defs = definitions.defs
    job = defs.resolve_job_def("landing_batch")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    warehouse = defs.resources["warehouse"]
    launched: list[str] = []
    if result.success:
        # The batch path takes the same decision the SLO breach sensor takes under the daemon.
        launched = evaluate_breaches_once(defs, instance, warehouse, log=print)
    print(summary(warehouse))
    print(f"\ncl_evaluation runs launched for SLO breaches: {len(launched)}")
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nlanding_batch failed in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


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
    if args.command == "audit-reset":
        return audit_reset(args.reason, args.actor)
    if args.command == "keygen":
        return keygen(args.out, args.valid_from or datetime.now(UTC))
    import definitions

    print(summary(definitions.defs.resources["warehouse"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
