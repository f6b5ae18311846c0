"""Which content each landing path of a stream holds now, as ``ingested_files`` records it.

``ingested_files`` keeps one current row per path: the content it held when last read. When a
path's content changes, its old row stays as ``superseded`` until the end of the stream's run,
when the contents no current row holds any more are retired (their rows leave the tables unless
another current content carries them) and the superseded rows are dropped. A run killed before
its end leaves them for the next run to finish.

Content keys: where rows carry their own identity (``dedupe_content`` streams, spans), the same
bytes under any path are the same rows, so the key is the content's digest; elsewhere the path
gives rows their meaning and the key is ``path#digest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cicl_assets.ingest.file_outcome import FileOutcome, ingest_key
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.batch import Retirement
from cicl_assets.warehouse.tables import INGESTED_FILES

if TYPE_CHECKING:
    from cicl_assets.ingest.runner import StreamSpec

SUPERSEDED = "superseded"
_HOLDS_ROWS = ("ingested", "same_content_as_ingested")


@dataclass
class LandingState:
    stream: StreamSpec
    current: dict[str, dict[str, Any]] = field(default_factory=dict)  # by path
    superseded: dict[str, dict[str, Any]] = field(default_factory=dict)  # by ingest_key
    # Partitions of each content the stream holds, so a copy's record can name them too.
    content_partitions: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, warehouse: Warehouse, stream: StreamSpec) -> LandingState:
        rows = warehouse.query(
            f"SELECT * FROM {INGESTED_FILES.name} WHERE stream = @stream",
            {"stream": stream.name},
        ).to_pylist()
        return cls.from_rows(stream, rows)

    @classmethod
    def read_many(
        cls, warehouse: Warehouse, streams: Sequence[StreamSpec]
    ) -> dict[str, LandingState]:
        """Each stream's state, from one query."""
        rows = warehouse.query(
            f"SELECT * FROM {INGESTED_FILES.name} "
            f"WHERE stream IN {IN_ARRAY.format(param='streams')}",
            {"streams": [s.name for s in streams]},
        ).to_pylist()
        by_stream: dict[str, list[dict[str, Any]]] = {s.name: [] for s in streams}
        for row in rows:
            by_stream[row["stream"]].append(row)
        return {s.name: cls.from_rows(s, by_stream[s.name]) for s in streams}

    @classmethod
    def from_rows(cls, stream: StreamSpec, rows: list[dict[str, Any]]) -> LandingState:
        state = cls(stream)
        # Oldest first, so a path's newest row is its current one (tables written before
        # superseded rows existed keep every version a path had).
        for row in sorted(rows, key=lambda r: (r["ingested_at"] is not None, r["ingested_at"])):
            row = {name: row.get(name) for name in INGESTED_FILES.schema.names}
            row["content_key"] = row["content_key"] or state.content_key(
                row["source_file"], row["digest"]
            )
            row["partitions"] = row["partitions"] or []
            if row["status"] == SUPERSEDED:
                state.superseded[row["ingest_key"]] = row
                continue
            older = state.current.get(row["source_file"])
            if older is not None:
                state.superseded[older["ingest_key"]] = {**older, "status": SUPERSEDED}
            state.current[row["source_file"]] = row
            if row["status"] in _HOLDS_ROWS:
                state.content_partitions[row["content_key"]] = row["partitions"]
        return state

    def content_key(self, source_file: str, digest: str | None) -> str:
        return str(digest) if self.stream.dedupe_content else ingest_key(source_file, digest)

    def known_keys(self) -> frozenset[str]:
        """What makes a file a skip: its path#digest is current, or, where contents are keyed
        by digest, its digest is a content some path holds now."""
        keys = {r["ingest_key"] for r in self.current.values()}
        if self.stream.dedupe_content:
            keys |= {r["digest"] for r in self.current.values() if r["status"] in _HOLDS_ROWS}
        return frozenset(keys)

    def record(
        self, outcome: FileOutcome, partitions: set[str] | None, run_id: str, now: datetime
    ) -> dict[str, Any]:
        """The path's new current row."""
        key = self.content_key(outcome.source_file, outcome.digest)
        if outcome.status == "ingested":
            held = sorted(partitions or ())
            self.content_partitions[key] = held
        else:
            held = list(self.content_partitions.get(key, []))
        return {
            "ingest_key": ingest_key(outcome.source_file, outcome.digest),
            "digest": outcome.digest,
            "source_file": outcome.source_file,
            "stream": self.stream.name,
            "detected_format": outcome.detected_format,
            "status": outcome.status,
            "size_bytes": outcome.size,
            "rows_written": sum(outcome.rows.values()),
            "ingested_at": now,
            "run_id": run_id,
            "content_key": key,
            "partitions": held,
            "listing_version": outcome.listing_version,
        }

    def unchanged(self, path: str, listing_version: str | None) -> bool:
        """The listing shows the same content as the path's current row: skipped unread."""
        row = self.current.get(path)
        return (
            bool(listing_version) and row is not None and row["listing_version"] == listing_version
        )

    def relisted(self, outcome: FileOutcome) -> dict[str, Any] | None:
        """The path's current row with the listing version of a read that found the content
        unchanged (a file touched, copied back, or recorded before versions were kept); None
        when nothing is new."""
        row = self.current.get(outcome.source_file)
        if row is None or not outcome.listing_version:
            return None
        if row["listing_version"] == outcome.listing_version:
            return None
        if row["ingest_key"] != ingest_key(outcome.source_file, outcome.digest):
            return None
        row = {**row, "listing_version": outcome.listing_version}
        self.current[outcome.source_file] = row
        return row

    def supersede(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Make ``record`` its path's current row; the row it replaces, now superseded."""
        path = record["source_file"]
        self.superseded.pop(record["ingest_key"], None)
        older = self.current.get(path)
        self.current[path] = record
        if older is None or older["ingest_key"] == record["ingest_key"]:
            return None
        row = {**older, "status": SUPERSEDED}
        self.superseded[row["ingest_key"]] = row
        return row

    def retirement(self) -> Retirement:
        """The superseded contents no current row holds."""
        held = {r["content_key"] for r in self.current.values()}
        gone = {r["content_key"] for r in self.superseded.values()} - held
        partitions = {
            p for r in self.superseded.values() if r["content_key"] in gone for p in r["partitions"]
        }
        return Retirement(tuple(sorted(gone)), tuple(sorted(partitions)))

    def drop_superseded(self) -> list[str]:
        """The ingest keys of every superseded row, forgotten: their contents are retired now,
        or some current row holds them."""
        keys = list(self.superseded)
        self.superseded.clear()
        return keys
