"""What cicl publishes about a chain outside the warehouse: its identity and its signed heads.

A chain's identity is its genesis record: the warehouse it lives in (``location`` and
``dataset``), when it was created, a random ``chain_id``, the state it starts from (``starts_at``:
length and last hash; 0 and 64 zeros for an empty table) and, for a chain an operator started
with ``scripts/cicl.py audit-reset``, the chain it closes (``previous``), the reason and the actor.
A head says that chain ``chain_id`` had ``length`` events ending with ``last_hash`` at
``signed_at``. Both are published under the outbox, one folder per warehouse location:

    audit-chain/<location key>/<chain id>/genesis.json
    audit-chain/<location key>/<chain id>/heads/<length, 12 digits>.json

Each file is ``{"record": {...}, "signature": {"key_id", "algorithm", "value"}}`` (``signature``
null when cicl runs without a key); the signature is ed25519 over the record's canonical JSON
(sorted keys, no whitespace, UTF-8), ``value`` in base64.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cicl_assets.signer import Signer, b64

ROOT = "audit-chain"
GENESIS_KIND = "cicl.audit_chain_genesis/v1"
HEAD_KIND = "cicl.audit_chain_head/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHAIN_ID = re.compile(r"[0-9a-f]{32}")
_HEAD_NAME = re.compile(r"heads/(\d{12})\.json")


class RecordError(ValueError):
    """A published file that is not a well-formed genesis or head record."""


@dataclass(frozen=True)
class ChainLocation:
    """The warehouse a chain lives in: ``duckdb:<absolute file path>`` or
    ``bigquery:<project>``, and the schema or dataset of ``audit_events``."""

    location: str
    dataset: str

    @property
    def key(self) -> str:
        """The folder name of the location's chains: readable, unique by the hash."""
        digest = hashlib.sha256(f"{self.location}\n{self.dataset}".encode()).hexdigest()[:16]
        return f"{self.location.split(':', 1)[0]}-{self.dataset}-{digest}"

    @property
    def folder(self) -> str:
        return f"{ROOT}/{self.key}"


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time_text(text: Any, what: str) -> datetime:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise RecordError(f"{what} {text!r} is not a YYYY-MM-DDTHH:MM:SS.ffffffZ time") from None


def seal(record: dict[str, Any], signer: Signer | None) -> bytes:
    """The published file of ``record``: signed when there is a signer."""
    signature = None
    if signer is not None:
        signature = {
            "key_id": signer.key_id,
            "algorithm": signer.algorithm,
            "value": b64(signer.sign(canonical(record))),
        }
    doc = {"record": record, "signature": signature}
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"


def unseal(data: bytes) -> tuple[dict[str, Any], dict[str, Any] | None]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RecordError("not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("record"), dict):
        raise RecordError("not a {record, signature} document")
    signature = doc.get("signature")
    return doc["record"], signature if isinstance(signature, dict) else None


def _state(value: Any, what: str) -> tuple[int, str]:
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not a {{length, last_hash}} mapping")
    length, last = value.get("length"), value.get("last_hash")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise RecordError(f"{what}.length {length!r} is not a count")
    if not isinstance(last, str) or not _HEX64.fullmatch(last):
        raise RecordError(f"{what}.last_hash is not 64 lowercase hex characters")
    return length, last


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    location: str
    dataset: str
    created_at: str
    starts_at: tuple[int, str]
    previous_chain_id: str | None = None
    previous: tuple[int, str] | None = None
    reason: str | None = None
    actor: str | None = None
    # Refused files an operator's reset acknowledged (they stay: the outbox is create-only).
    ignored: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.chain_id}/genesis.json"

    def record(self) -> dict[str, Any]:
        previous = None
        if self.previous_chain_id is not None and self.previous is not None:
            previous = {
                "chain_id": self.previous_chain_id,
                "length": self.previous[0],
                "last_hash": self.previous[1],
            }
        return {
            "kind": GENESIS_KIND,
            "chain_id": self.chain_id,
            "location": self.location,
            "dataset": self.dataset,
            "created_at": self.created_at,
            "starts_at": {"length": self.starts_at[0], "last_hash": self.starts_at[1]},
            "previous": previous,
            "reason": self.reason,
            "actor": self.actor,
            "ignored": list(self.ignored),
        }

    @property
    def signed_at(self) -> datetime:
        return parse_time_text(self.created_at, "created_at")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Genesis:
        if record.get("kind") != GENESIS_KIND:
            raise RecordError(f"kind {record.get('kind')!r} is not {GENESIS_KIND}")
        chain_id = record.get("chain_id")
        if not isinstance(chain_id, str) or not _CHAIN_ID.fullmatch(chain_id):
            raise RecordError("chain_id is not 32 lowercase hex characters")
        parse_time_text(record.get("created_at"), "created_at")
        previous = record.get("previous")
        previous_id = None
        if previous is not None:
            previous_id = previous.get("chain_id") if isinstance(previous, dict) else None
            if not isinstance(previous_id, str) or not _CHAIN_ID.fullmatch(previous_id):
                raise RecordError("previous.chain_id is not 32 lowercase hex characters")
        ignored = record.get("ignored") or []
        if not isinstance(ignored, list) or not all(isinstance(n, str) for n in ignored):
            raise RecordError("ignored is not a list of names")
        return cls(
            chain_id=chain_id,
            location=str(record.get("location")),
            dataset=str(record.get("dataset")),
            created_at=str(record["created_at"]),
            starts_at=_state(record.get("starts_at"), "starts_at"),
            previous_chain_id=previous_id,
            previous=_state(previous, "previous") if previous is not None else None,
            reason=record.get("reason"),
            actor=record.get("actor"),
            ignored=tuple(ignored),
        )


@dataclass(frozen=True)
class Head:
    chain_id: str
    length: int
    last_hash: str
    signed_at_text: str

    @property
    def name(self) -> str:
        return head_name(self.chain_id, self.length)

    @property
    def signed_at(self) -> datetime:
        return parse_time_text(self.signed_at_text, "signed_at")

    def record(self) -> dict[str, Any]:
        return {
            "kind": HEAD_KIND,
            "chain_id": self.chain_id,
            "length": self.length,
            "last_hash": self.last_hash,
            "signed_at": self.signed_at_text,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Head:
        if record.get("kind") != HEAD_KIND:
            raise RecordError(f"kind {record.get('kind')!r} is not {HEAD_KIND}")
        length, last = _state(record, "head")
        parse_time_text(record.get("signed_at"), "signed_at")
        return cls(str(record.get("chain_id")), length, last, str(record["signed_at"]))


def head_name(chain_id: str, length: int) -> str:
    return f"{chain_id}/heads/{length:012d}.json"


def head_length(name: str) -> int | None:
    """The length a head file's name gives (``<chain>/heads/000000000012.json`` -> 12)."""
    _, _, rest = name.partition("/")
    match = _HEAD_NAME.fullmatch(rest)
    return int(match[1]) if match else None
