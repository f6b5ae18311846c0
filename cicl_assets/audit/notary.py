"""The chain's notary: publishes a warehouse's chain identity and signed heads in the outbox,
reads them back, and judges the chain in the warehouse against them.

Appending (``cicl_assets.audit.chain.append_events`` with a notary) goes: under the append lock,
read the location's published records; refuse to append unless the table ends exactly at the
current chain's last published head (or no chain is published yet: then start one from the
table as it is, if its links hold); append; publish the new head (on failure the appended rows
are deleted again). So cicl never signs a head over rows it did not append itself.

Which chain is current: every chain of a location but the first was started by a reset, whose
genesis names the chain it closes; the current one is the end of that succession. Records that
fail verification are refused, and a refused record fails the check until an operator's reset
acknowledges it (the outbox being create-only, it stays).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cicl_assets.audit.chain import (
    GENESIS_HASH,
    ChainVerification,
    append_lock,
    read_chain,
    record_action,
    verify_chain,
)
from cicl_assets.audit.heads import ChainLocation as ChainLocation
from cicl_assets.audit.heads import (
    Genesis,
    Head,
    RecordError,
    canonical,
    head_length,
    seal,
    time_text,
    unseal,
)
from cicl_assets.outbox import AlreadyPublished, CreateOnlyStore
from cicl_assets.signer import Signer, Trust
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow

RESET_HINT = (
    "if the table was emptied or replaced on purpose, record it with "
    "`scripts/cicl.py audit-reset --reason ...`"
)


class ChainError(RuntimeError):
    """The chain cannot be appended to or reset; the message says why and what to do."""


def warehouse_location(warehouse: Warehouse) -> ChainLocation:
    if warehouse.dialect == "bigquery":
        return ChainLocation(f"bigquery:{warehouse.project}", warehouse.dataset)  # type: ignore[attr-defined]
    from pathlib import Path

    path = str(warehouse.path)  # type: ignore[attr-defined]
    where = path if path == ":memory:" else str(Path(path).resolve())
    return ChainLocation(f"duckdb:{where}", warehouse.schema_name)  # type: ignore[attr-defined]


@dataclass
class PublishedChain:
    genesis: Genesis
    heads: dict[int, Head] = field(default_factory=dict)

    def last(self) -> tuple[int, str]:
        """(length, last hash) of the newest head, or the state the chain started from."""
        if self.heads:
            head = self.heads[max(self.heads)]
            return head.length, head.last_hash
        return self.genesis.starts_at


@dataclass
class Published:
    """A location's records as read and verified."""

    chains: dict[str, PublishedChain] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # name -> why
    unsigned: int = 0
    key_ids: set[str] = field(default_factory=set)

    def open_problems(self) -> list[str]:
        acknowledged = {n for c in self.chains.values() for n in c.genesis.ignored}
        return [f"{n}: {why}" for n, why in sorted(self.refused.items()) if n not in acknowledged]

    def current(self) -> tuple[PublishedChain | None, list[str]]:
        """The chain in use (None when none is published) and what is wrong with the
        succession of chains."""
        if not self.chains:
            return None, []
        roots = sorted(c for c, chain in self.chains.items() if chain.genesis.previous is None)
        successors: dict[str, list[str]] = {}
        for chain_id, chain in sorted(self.chains.items()):
            if chain.genesis.previous_chain_id is not None:
                successors.setdefault(chain.genesis.previous_chain_id, []).append(chain_id)
        problems = []
        if len(roots) != 1:
            problems.append(
                f"{len(roots)} chains started without a reset ({', '.join(roots) or 'none'})"
            )
        for closed, started in successors.items():
            if closed not in self.chains:
                problems.append(f"chain {started[0]} closes chain {closed}, which is not published")
            if len(started) > 1:
                problems.append(f"chain {closed} was closed twice ({', '.join(started)})")
        if problems:
            return None, problems
        chain, seen = self.chains[roots[0]], 1
        while chain.genesis.chain_id in successors:
            following = self.chains[successors[chain.genesis.chain_id][0]]
            if following.genesis.previous != chain.last():
                problems.append(
                    f"chain {following.genesis.chain_id} closes chain {chain.genesis.chain_id} at "
                    f"seq {following.genesis.previous[0]}, but that chain's last head is seq "  # type: ignore[index]
                    f"{chain.last()[0]}"
                )
            chain, seen = following, seen + 1
        if seen != len(self.chains):
            problems.append("some chains are not in the succession from the first one")
        return (None, problems) if problems else (chain, [])


@dataclass(frozen=True)
class ChainNotary:
    """Where a warehouse's chain records go (``store``, in ``location``'s folder), the key they
    are signed with (None: unsigned) and the keys accepted when reading them back."""

    store: CreateOnlyStore
    location: ChainLocation
    signer: Signer | None = None
    trust: Trust = field(default_factory=Trust)

    @property
    def signing(self) -> bool:
        """Whether signatures are required: a key is configured or trusted."""
        return self.signer is not None or bool(self.trust.keys)

    @property
    def where(self) -> str:
        return f"{self.store.uri}/{self.location.folder}"

    def _verified(self, name: str, parse: Callable[[dict], Any], out: Published) -> Any:
        try:
            record, signature = unseal(self.store.read(f"{self.location.folder}/{name}"))
            parsed = parse(record)
        except (RecordError, OSError) as exc:
            out.refused[name] = f"unreadable ({exc})"
            return None
        why = self.trust.check(canonical(record), signature, parsed.signed_at)
        if why == "not signed" and not self.signing:
            out.unsigned += 1
        elif why is not None:
            out.refused[name] = why
            return None
        else:
            out.key_ids.add(str(signature["key_id"]))  # type: ignore[index]
        return parsed

    def read(self, *, all_heads: bool = True) -> Published:
        """The location's records, each verified; with ``all_heads`` False only the newest head
        of each chain is read (what an append needs)."""
        out = Published()
        prefix = self.location.folder + "/"
        names = [n[len(prefix) :] for n in self.store.list(self.location.folder)]
        heads: dict[str, list[tuple[int, str]]] = {}
        for name in names:
            chain_id, _, rest = name.partition("/")
            length = head_length(name)
            if rest == "genesis.json":
                genesis = self._verified(name, Genesis.from_record, out)
                if genesis is None:
                    continue
                if (genesis.chain_id, genesis.location, genesis.dataset) != (
                    chain_id,
                    self.location.location,
                    self.location.dataset,
                ):
                    out.refused[name] = "names another chain or warehouse than its folder"
                else:
                    out.chains[chain_id] = PublishedChain(genesis)
            elif length is not None:
                heads.setdefault(chain_id, []).append((length, name))
            else:
                out.refused[name] = "not a chain record"
        for chain_id, found in heads.items():
            for length, name in sorted(found) if all_heads else [max(found)]:
                if chain_id not in out.chains:
                    out.refused[name] = f"head of chain {chain_id}, which has no accepted genesis"
                    continue
                head = self._verified(name, Head.from_record, out)
                if head is None:
                    continue
                if (head.chain_id, head.length) != (chain_id, length):
                    out.refused[name] = "its record names another chain or length than its name"
                else:
                    out.chains[chain_id].heads[length] = head
        return out

    def _publish(self, name: str, record: dict[str, Any]) -> None:
        try:
            self.store.create(f"{self.location.folder}/{name}", seal(record, self.signer))
        except AlreadyPublished as exc:
            raise ChainError(f"{exc}: another writer published first (a forked chain)") from None

    def start_chain(
        self,
        starts_at: tuple[int, str],
        previous: PublishedChain | None = None,
        *,
        reason: str | None = None,
        actor: str | None = None,
        ignored: tuple[str, ...] = (),
    ) -> Genesis:
        genesis = Genesis(
            chain_id=secrets.token_hex(16),
            location=self.location.location,
            dataset=self.location.dataset,
            created_at=time_text(utcnow()),
            starts_at=starts_at,
            previous_chain_id=previous.genesis.chain_id if previous else None,
            previous=previous.last() if previous else None,
            reason=reason,
            actor=actor,
            ignored=ignored,
        )
        self._publish(genesis.name, genesis.record())
        return genesis

    def publish_head(self, chain_id: str, length: int, last_hash: str) -> Head:
        head = Head(chain_id, length, last_hash, time_text(utcnow()))
        self._publish(head.name, head.record())
        return head

    def prepare(self, tail: tuple[int, str], verify_links: Callable[[], ChainVerification]) -> str:
        """The id of the chain the next append extends; ChainError when the table does not end
        at its last published head. Starts a chain when the location has none."""
        published = self.read(all_heads=False)
        current, structure = published.current()
        problems = published.open_problems() + structure
        if problems:
            raise ChainError(
                f"the audit chain's records in {self.where} are not usable: "
                + "; ".join(problems)
                + f"; nothing is appended until this is resolved ({RESET_HINT})"
            )
        if current is None:
            if tail[0] > 0:
                links = verify_links()
                if not links.ok:
                    raise ChainError(
                        f"audit_events holds {tail[0]} events whose links are broken "
                        f"({links.reason}); no chain is started over a broken one"
                    )
            return self.start_chain(tail).chain_id
        last = current.last()
        if last != tail:
            what = "more" if tail[0] > last[0] else "fewer"
            raise ChainError(
                f"audit_events ends at seq {tail[0]} but chain {current.genesis.chain_id}'s last "
                f"published head is seq {last[0]} ({what} events, or other ones): it was changed "
                f"outside cicl, and nothing is appended on top of it ({RESET_HINT})"
            )
        return current.genesis.chain_id


def reset_chain(warehouse: Warehouse, notary: ChainNotary, reason: str, actor: str) -> Genesis:
    """Start a new chain from the table as it is now, closing the current one (an operator's
    decision, recorded in the outbox and as the new chain's first appended event)."""
    if not reason.strip():
        raise ChainError("a reset needs a reason")
    with append_lock(warehouse):
        rows = read_chain(warehouse)
        links = verify_chain(rows)
        if not links.ok:
            raise ChainError(
                f"audit_events is broken at seq {links.first_broken_seq} ({links.reason}); a reset "
                "adopts a table whose links hold: restore it or empty it first"
            )
        published = notary.read(all_heads=False)
        current, structure = published.current()
        if structure:
            raise ChainError(f"cannot tell which chain to close: {'; '.join(structure)}")
        tail = (len(rows), rows[-1]["hash"] if rows else GENESIS_HASH)
        genesis = notary.start_chain(
            tail,
            current,
            reason=reason.strip(),
            actor=actor,
            ignored=tuple(sorted(published.refused)),
        )
    previous = genesis.record()["previous"] or {}
    record_action(
        warehouse,
        action="audit_chain_reset",
        actor=actor,
        resource=f"audit_chain/{genesis.chain_id}",
        details={
            "reason": genesis.reason,
            "previous_chain_id": previous.get("chain_id"),
            "previous_length": previous.get("length"),
            "adopted_length": tail[0],
            "ignored": list(genesis.ignored),
        },
        event_id=f"audit_chain_reset:{genesis.chain_id}",
        notary=notary,
    )
    return genesis
