"""Landing arrivals: launch ingestion of a landing-zone folder when files arrive in it.

What was ingested lives in the warehouse (``ingested_files``: each file version a stream read,
with its size and when), so the daemon and `make run` agree on it: a file counts as new when no
version of that path with its size was read at or after its modification time. The cursor keeps,
per folder, a fingerprint of the listing (path, size, modification time of every file), so the
warehouse is asked only when a listing changed. A folder with new files gets a run of the assets
that read it, with the new files' fingerprint in the run_key, so a tick never launches the same
work twice; the assets themselves skip content already ingested.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import dagster as dg

from cicl_assets.landing.zone import LandingObject, LandingZone
from cicl_assets.streams import DECLARED_STREAMS
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import INGESTED_FILES
from jobs.concurrency import concurrency_tags


@dataclass(frozen=True)
class LandingFolder:
    prefix: str
    group: str
    stream: str


WATCHED_FOLDERS = tuple(
    LandingFolder(s.spec.prefix, s.group, s.spec.name) for s in DECLARED_STREAMS
)
# path -> (size, when it was read) of each version the warehouse records
IngestedVersions = dict[str, list[tuple[int, datetime]]]


def listing_fingerprint(objects: Iterable[LandingObject]) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    for obj in objects:
        digest.update(f"{obj.path}\0{obj.size}\0{obj.updated:.3f}\n".encode())
        count += 1
    return digest.hexdigest()[:20], count


def read_ingested(warehouse: Warehouse, streams: Sequence[str]) -> IngestedVersions:
    """The file versions ``streams`` have read, from ``ingested_files``."""
    if not streams or not warehouse.table_exists(INGESTED_FILES.name):
        return {}
    rows = warehouse.query(
        "SELECT source_file, size_bytes, MAX(ingested_at) AS ingested_at "
        f"FROM {INGESTED_FILES.name} WHERE stream IN {IN_ARRAY.format(param='streams')} "
        "GROUP BY source_file, size_bytes",
        {"streams": list(streams)},
    ).to_pylist()
    versions: IngestedVersions = {}
    for row in rows:
        versions.setdefault(row["source_file"], []).append(
            (int(row["size_bytes"] or 0), row["ingested_at"])
        )
    return versions


def is_ingested(obj: LandingObject, versions: IngestedVersions) -> bool:
    """A version of this path with this size was read no earlier than the file last changed."""
    return any(
        size == obj.size and at.timestamp() >= obj.updated
        for size, at in versions.get(obj.path, [])
    )


@dataclass(frozen=True)
class Arrival:
    folder: LandingFolder
    fingerprint: str  # of the new files
    new_files: int
    files_listed: int


def arrivals(
    landing: LandingZone,
    cursor: dict[str, str],
    folders: Iterable[LandingFolder],
    ingested: Callable[[Sequence[str]], IngestedVersions],
) -> tuple[list[Arrival], dict[str, str]]:
    """Folders holding files not ingested yet, among those whose listing changed since the
    cursor; and the cursor to keep. ``ingested`` is asked once, for the changed folders."""
    new_cursor = dict(cursor)
    changed = []
    for folder in folders:
        objects = list(landing.list(folder.prefix))
        fingerprint, count = listing_fingerprint(objects)
        new_cursor[folder.prefix] = fingerprint
        if count and cursor.get(folder.prefix) != fingerprint:
            changed.append((folder, objects))
    if not changed:
        return [], new_cursor
    versions = ingested([folder.stream for folder, _ in changed])
    found = []
    for folder, objects in changed:
        new = [o for o in objects if not is_ingested(o, versions)]
        if new:
            fingerprint, count = listing_fingerprint(new)
            found.append(Arrival(folder, fingerprint, count, len(objects)))
    return found, new_cursor


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
        + " in the landing zone and, when files arrive or change (not yet in ingested_files), "
        "launches the assets that read the folder and those downstream."
    ),
)
def landing_arrivals_sensor(
    context: dg.SensorEvaluationContext, landing: LandingZone, warehouse: Warehouse
) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    found, new_cursor = arrivals(
        landing, cursor, WATCHED_FOLDERS, lambda streams: read_ingested(warehouse, streams)
    )
    graph = context.repository_def.asset_graph
    requests = []
    for arrival in found:
        # Day-partitioned assets run for the days the new data falls on (slo_partitions_sensor).
        keys = sorted(
            k
            for k in assets_fed_by(arrival.folder).resolve(graph)
            if not graph.get(k).is_partitioned
        )
        if not keys:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"landing:{arrival.folder.prefix}:{arrival.fingerprint}",
                asset_selection=keys,
                tags={
                    "cicl/landing_folder": arrival.folder.prefix,
                    "cicl/files_listed": str(arrival.files_listed),
                    "cicl/files_new": str(arrival.new_files),
                    **concurrency_tags(keys, graph),
                },
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))


LANDING_SENSORS = [landing_arrivals_sensor]
