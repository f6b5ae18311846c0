"""What a stream's landing folder holds that its last reads did not, from the listing alone.

The listing is compared with ``ingested_files`` before any file is read: a path whose listing
version is the one its current row recorded is unchanged. The ingest runner reads what this
leaves; `make run` asks it first, so that a stream with nothing to read gets no step at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicl_assets.ingest.landing_state import LandingState
from cicl_assets.landing.zone import LandingObject, LandingZone
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import INGESTED_FILES

if TYPE_CHECKING:
    from cicl_assets.ingest.runner import StreamSpec

# A local file changed again within this many seconds of a listing can keep its size and mtime
# (coarse clocks, same-size rewrites): such a listing is not trusted to say "unchanged" later.
RACY_WINDOW_S = 2.0


def trusted_version(obj: LandingObject, listed_at: float) -> str | None:
    """The object's listing version, unless a later write could hide behind it."""
    if obj.version and obj.version.startswith("local:") and listed_at - obj.updated < RACY_WINDOW_S:
        return None
    return obj.version


@dataclass(frozen=True)
class StreamListing:
    state: LandingState
    listed: list[LandingObject]
    versions: dict[str, str | None]  # by path: the listing version a read records
    to_read: list[LandingObject]

    @property
    def unfinished(self) -> bool:
        """A run stopped before retiring the contents its changed paths replaced."""
        return bool(self.state.superseded)

    @property
    def has_work(self) -> bool:
        return bool(self.to_read) or self.unfinished


def list_stream(
    stream: StreamSpec,
    landing: LandingZone,
    warehouse: Warehouse,
    paths: Sequence[str] | None = None,
) -> StreamListing:
    """The stream's folder (or just ``paths`` in it) against what the warehouse records."""
    state = LandingState.read(warehouse, stream)
    return _compare(state, landing, paths)


def list_streams(
    streams: Sequence[StreamSpec], landing: LandingZone, warehouse: Warehouse
) -> dict[str, StreamListing]:
    """Every stream's folder, with one query for what the warehouse records of them all."""
    if warehouse.table_exists(INGESTED_FILES.name):
        states = LandingState.read_many(warehouse, streams)
    else:
        states = {s.name: LandingState(s) for s in streams}
    return {s.name: _compare(states[s.name], landing) for s in streams}


def _compare(
    state: LandingState, landing: LandingZone, paths: Sequence[str] | None = None
) -> StreamListing:
    wanted = None if paths is None else set(paths)
    listed_at = time.time()
    prefix = state.stream.prefix
    objects = [o for o in landing.list(prefix) if wanted is None or o.path in wanted]
    versions = {o.path: trusted_version(o, listed_at) for o in objects}
    to_read = [o for o in objects if not state.unchanged(o.path, versions[o.path])]
    return StreamListing(state, objects, versions, to_read)
