"""Landing arrivals: launch ingestion of a landing-zone folder when its listing changes.

The cursor keeps, per folder, a fingerprint of the listing (path, size, modification time of
every file). A changed fingerprint requests a run of the assets that read that folder, with the
fingerprint in the run_key, so a tick never launches the same work twice; the assets themselves
skip files whose content was already ingested.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from cicl_assets.landing.zone import LandingObject, LandingZone
from cicl_assets.streams import DECLARED_STREAMS


@dataclass(frozen=True)
class LandingFolder:
    prefix: str
    group: str


WATCHED_FOLDERS = tuple(LandingFolder(s.spec.prefix, s.group) for s in DECLARED_STREAMS)


def listing_fingerprint(objects: Iterable[LandingObject]) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    for obj in objects:
        digest.update(f"{obj.path}\0{obj.size}\0{obj.updated:.3f}\n".encode())
        count += 1
    return digest.hexdigest()[:20], count


def arrivals(
    landing: LandingZone, cursor: dict[str, str], folders: Iterable[LandingFolder]
) -> tuple[list[tuple[LandingFolder, str, int]], dict[str, str]]:
    """Folders whose listing changed since the cursor, with their new fingerprint and file count."""
    changed = []
    new_cursor = dict(cursor)
    for folder in folders:
        fingerprint, count = listing_fingerprint(landing.list(folder.prefix))
        if count and cursor.get(folder.prefix) != fingerprint:
            changed.append((folder, fingerprint, count))
        new_cursor[folder.prefix] = fingerprint
    return changed, new_cursor


# Evaluations need run config and reviews are decided by people: arrivals never launch them.
NOT_LAUNCHED_ON_ARRIVAL = dg.AssetSelection.groups("learning", "review")


def assets_fed_by(folder: LandingFolder) -> dg.AssetSelection:
    return dg.AssetSelection.groups(folder.group).downstream() - NOT_LAUNCHED_ON_ARRIVAL


@dg.sensor(
    name="landing_arrivals_sensor",
    minimum_interval_seconds=60,
    asset_selection=dg.AssetSelection.all() - NOT_LAUNCHED_ON_ARRIVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches "
        + ", ".join(f"{f.prefix}/" for f in WATCHED_FOLDERS)
        + " in the landing zone and, when files arrive or change, launches the assets that read "
        "the folder and those downstream."
    ),
)
def landing_arrivals_sensor(
    context: dg.SensorEvaluationContext, landing: LandingZone
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    changed, new_cursor = arrivals(landing, cursor, WATCHED_FOLDERS)
    graph = context.repository_def.asset_graph
    requests = []
    for folder, fingerprint, count in changed:
        keys = sorted(assets_fed_by(folder).resolve(graph))
        if not keys:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"landing:{folder.prefix}:{fingerprint}",
                asset_selection=keys,
                tags={"cicl/landing_folder": folder.prefix, "cicl/files_listed": str(count)},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))


LANDING_SENSORS = [landing_arrivals_sensor]
