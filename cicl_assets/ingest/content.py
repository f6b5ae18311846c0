"""Safe reading of untrusted landing bytes: size caps, gzip-bomb guard, content sniffing."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_INFLATED_BYTES = 1024 * 1024 * 1024
MAX_INFLATION_RATIO = 200  # real OTLP/JSON compresses ~20x; bombs compress ~1000x


class ParseError(ValueError):
    """Input that cannot be read; the message is shown to a person as is."""


def gunzip_capped(data: bytes, max_bytes: int, max_ratio: int = MAX_INFLATION_RATIO) -> bytes:
    """Inflate (possibly concatenated) gzip members, refusing output above a cap or ratio."""
    limit = min(max_bytes, max(len(data) * max_ratio, 1 << 20))
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit - len(out) + 1)
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit - len(out) + 1)
        except zlib.error as exc:
            raise ParseError(
                f"gzip: the file starts like gzip but cannot be inflated ({exc})"
            ) from None
        if len(out) > limit:
            cap = " (CICL_MAX_INFLATED_BYTES)" if limit == max_bytes else f" ({max_ratio}x)"
            raise ParseError(
                f"gzip: inflates past {limit:,} bytes{cap} (from {len(data):,} compressed); "
                "refused as a possible decompression bomb"
            )
        if not inflater.eof:
            raise ParseError("gzip: truncated stream (the compressed data ends early)")
        rest = inflater.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            break  # trailing garbage after the last member, as gzip(1) tolerates
    return bytes(out)


def maybe_gunzip(data: bytes, max_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> tuple[bytes, bool]:
    if data[:2] == GZIP_MAGIC:
        return gunzip_capped(data, max_bytes), True
    return data, False


@dataclass(frozen=True)
class Sniff:
    """What the first bytes of a decompressed file say about its format."""

    head: bytes  # first 64 KiB, BOM stripped
    # The whole decompressed file, for the rare detector whose clue lies past the head (a JSON
    # document whose top-level keys were written sorted after a large value); ``memo`` keeps
    # what such a detector derived from it, so the file is read once for all detectors.
    data: bytes = field(default=b"", compare=False, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, data: bytes) -> Sniff:
        head = data[:65536]
        if data.startswith(b"\xef\xbb\xbf"):
            head, data = data[3:65539], data[3:]
        return cls(head, data)

    @property
    def text_start(self) -> bytes:
        return self.head.lstrip()[:1]

    @property
    def looks_json(self) -> bool:
        return self.text_start in (b"{", b"[")

    @property
    def looks_xml(self) -> bool:
        return self.text_start == b"<"

    def contains(self, *needles: bytes) -> bool:
        return all(n in self.head for n in needles)

    def xml_root(self) -> str | None:
        """Local name of the first element (after declarations, comments and DOCTYPE)."""
        text = self.head.decode("utf-8", "replace")
        i = 0
        while True:
            i = text.find("<", i)
            if i < 0 or i + 1 >= len(text):
                return None
            nxt = text[i + 1]
            if nxt in "?!":
                if text.startswith("<!--", i):
                    end = text.find("-->", i)
                    i = end + 3 if end >= 0 else len(text)
                else:
                    i += 2
                continue
            j = i + 1
            while j < len(text) and not text[j].isspace() and text[j] not in "/>":
                j += 1
            name = text[i + 1 : j]
            return name.split(":", 1)[-1] or None
