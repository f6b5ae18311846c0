"""`python -m demo.after_release --landing DIR --release MANIFEST`: what the demo's platform sends
once its CI/CD has deployed a cicl release to production.

Into the landing zone: a ``cicl.deployment/v1`` record of the production deployment carrying the
release's manifest id (``release_manifest``), finished a few minutes after the release's
``released_at``, and the platform's OTLP traffic (spans, session logs, evaluation results, user
ratings) of the ``--before-hours`` before that deployment, running the release's base commit, and
of the ``--hours`` after it, running the release commit (demo/release_traffic.py). `make cicl`
dates a release to the demo's platform repository on the data's clock (CICL_RELEASE_CLOCK=data:
the newest span), so both windows fall on the data's days, weeks before today; a release dated
on the wall clock gets no traffic past the end of today (docs/release.md, "The demo's release").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from cicl_assets.outbox import open_outbox
from cicl_assets.release.manifest import OUTBOX_BRANCH, manifest_name, read_manifest
from demo import story
from demo.ci_files import iso
from demo.landing_writer import write_file
from demo.otel_files import write_traffic
from demo.release_traffic import plan_around, release_seed, running_at

# The platform's pipeline deploys the release branch this long after cicl made it.
DEPLOY_STARTS_AFTER = timedelta(minutes=5)
DEPLOY_TAKES = timedelta(minutes=3)
# A run's last records (evaluations, ratings) land up to minutes after its hour ends.
RECORDS_TRAIL = timedelta(minutes=15)


def hours_today(deployed: datetime, wanted: int, now: datetime) -> int:
    """``wanted`` hours after the deployment, but none whose records would be dated after the
    current UTC day: cicl's daily partitions end with it, so later data could not be ingested."""
    end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(0, min(wanted, int((end - RECORDS_TRAIL - deployed) / timedelta(hours=1))))


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def load_release(release: str, outbox: str) -> dict[str, Any]:
    """The manifest's predicate, from a manifest file, or by its name (``releases/<id>.intoto.json``,
    as `cicl.py release` prints it) or manifest id in the outbox."""
    path = Path(release)
    if path.is_file():
        return read_manifest(path.read_bytes())["predicate"]
    name = release if release.endswith(".intoto.json") else manifest_name(release)
    try:
        data = open_outbox(outbox, OUTBOX_BRANCH).read(name)
    except Exception as e:
        raise SystemExit(
            f"no release manifest {release}: not a file, nor {name} in the outbox {outbox} ({e}); "
            "pass the manifest's path or its id (`cicl.py release` prints both)"
        ) from e
    return read_manifest(data)["predicate"]


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def deployment_record(release: dict[str, Any], started: datetime) -> dict[str, Any]:
    rid = release["release_id"]
    return {
        "kind": "cicl.deployment/v1",
        "deployment_id": f"dep-prod-release-{rid[:12]}",
        "environment": story.ENVIRONMENT,
        "service": "platform-config",
        "version": release["branch"],
        "commit": release["release_commit"],
        "image_digest": None,
        "status": "succeeded",
        "started_at": iso(started),
        "finished_at": iso(started + DEPLOY_TAKES),
        "pipeline_run_id": f"pc-release-{rid[:12]}",
        "actor": "deploy-bot",
        "approver": "sre-lead@coditect.example",
        "approved_at": iso(started - timedelta(minutes=1)),
        "change_window": {
            "start": iso(started - timedelta(minutes=30)),
            "end": iso(started + timedelta(hours=2)),
        },
        "rollback_of": None,
        "release_manifest": rid,
    }


def _move_under(tmp: Path, landing: Path, relative: str, folder: str) -> str:
    """``otel/2026/...`` -> ``otel/<folder>/2026/...``: each release's traffic has files of its
    own, however its hours overlap another's."""
    top, rest = relative.split("/", 1)
    target = f"{top}/{folder}/{rest}"
    (landing / target).parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp / relative, landing / target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.after_release",
        description="Land a production deployment of a cicl release and the traffic around it.",
    )
    parser.add_argument("--landing", required=True, help="the landing zone root (a local folder)")
    parser.add_argument(
        "--release", required=True, help="the release manifest's path, or its manifest id"
    )
    parser.add_argument(
        "--outbox",
        default=".cicl/outbox",
        help="the outbox (CICL_OUTBOX_URI) a manifest id is read from",
    )
    parser.add_argument(
        "--platform-repo",
        default=None,
        help="the platform repository (default: the manifest's platform_repo)",
    )
    parser.add_argument("--hours", type=int, default=24, help="hours of traffic after the deploy")
    parser.add_argument(
        "--before-hours", type=int, default=24, help="hours of traffic before the deploy"
    )
    parser.add_argument("--runs-per-hour", type=int, default=30, help="workflow runs per hour")
    parser.add_argument("--seed", type=int, default=story.SEED, help="random seed")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes to use"
    )
    args = parser.parse_args(argv)
    release = load_release(args.release, args.outbox)
    rid = release["release_id"]
    repo = Path(args.platform_repo or release["platform_repo"])
    started = _time(release["released_at"]) + DEPLOY_STARTS_AFTER
    record = deployment_record(release, started)
    deployed = started + DEPLOY_TAKES
    hours = hours_today(deployed, args.hours, datetime.now(UTC))
    plans = plan_around(
        deployed,
        running_at(repo, release["base_commit"]),
        running_at(repo, release["release_commit"]),
        release_seed(args.seed, rid),
        args.before_hours,
        hours,
        args.runs_per_hour,
    )
    landing = Path(args.landing)
    landing.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="after-release-", dir=landing.parent) as tmp:
        files, spans = write_traffic(Path(tmp), plans, args.workers)
        moved = [_move_under(Path(tmp), landing, f.path, f"release-{rid}") for f in files]
    name = f"deployments/{story.ENVIRONMENT}/{record['deployment_id']}.json"
    write_file(landing, name, orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    _say(
        f"{name}: {record['deployment_id']} of release {rid} to {story.ENVIRONMENT}, "
        f"finished {record['finished_at']} (release_manifest {rid})"
    )
    _say(
        f"{landing}: {spans} spans in {len(moved)} files under otel/release-{rid}/ and "
        f"feedback/release-{rid}/, {args.before_hours} h before the deployment (base "
        f"{release['base_commit'][:12]}) and {hours} h after (release "
        f"{release['release_commit'][:12]})"
    )
    if hours < args.hours:
        _say(
            f"only {hours} of the {args.hours} h after the deployment: no traffic is dated past "
            "the end of today (UTC), where cicl's daily partitions end"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
