"""`python -m demo --out DIR`: write the demo landing zone (deterministic)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from demo import story
from demo.gcs_publish import publish, split_uri
from demo.generate import generate
from demo.keys import ensure_keys
from demo.platform_repo import write_platform_repo
from demo.traffic_plan import DEFAULT_SPANS


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Write the demo landing zone: OTLP traffic and the pipeline history.",
    )
    parser.add_argument(
        "--out", required=True, help="landing zone root: a local folder or gs://bucket/prefix"
    )
    parser.add_argument("--seed", type=int, default=story.SEED, help="random seed")
    parser.add_argument(
        "--spans", type=int, default=DEFAULT_SPANS, help="approximate number of spans"
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if the landing zone is current"
    )
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes to use"
    )
    parser.add_argument(
        "--keys",
        default=".cicl/keys",
        help="folder of the demo's keys, made there on first use (never shipped)",
    )
    parser.add_argument(
        "--build-dir",
        default=".cicl/demo-build",
        help="local folder the files are written to before a gs:// upload",
    )
    parser.add_argument(
        "--platform-repo",
        default=None,
        help="also seed the platform repository (workflows, model groups, runbooks, test "
        "quarantine) at this folder; an existing one is left as it is",
    )
    args = parser.parse_args(argv)
    if args.platform_repo:
        created, head = write_platform_repo(Path(args.platform_repo))
        state = "seeded" if created else "exists, left as it is"
        _say(f"{args.platform_repo}: platform repository {state} (HEAD {head[:12]})")
    local = Path(args.out)
    if args.out.startswith("gs://"):
        bucket, prefix = split_uri(args.out)
        local = Path(args.build_dir) / bucket / prefix
    keys = ensure_keys(Path(args.keys))
    report = generate(
        local, args.seed, args.spans, args.force, args.workers, attestation_key=keys.attestation
    )
    if args.out.startswith("gs://"):
        uploaded, removed = publish(local, args.out)
        _say(f"{args.out}: uploaded {uploaded} changed files, removed {removed} stale ones")
    if report.skipped:
        _say(f"{args.out}: demo landing zone is current (seed {args.seed}); use --force to rewrite")
        return 0
    _say(f"{args.out}: {report.spans} spans, {len(report.files)} files in {report.seconds:.1f} s")
    for folder, (count, size) in report.by_folder().items():
        _say(f"  {folder + '/':<14} {count:>5} files {size / 1e6:>9.1f} MB")
    if report.removed:
        _say(f"  removed {len(report.removed)} files of an earlier generation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
