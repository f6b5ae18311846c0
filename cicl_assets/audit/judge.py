"""The verdict on a warehouse's chain: its links, and every head published for it.

Dagster's event log plays no part: what was recorded outside the warehouse is what the outbox
holds, so the verdict is the same under any DAGSTER_HOME, and two warehouses never mix heads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cicl_assets.audit.chain import ChainVerification, verify_chain
from cicl_assets.audit.notary import RESET_HINT, ChainNotary


@dataclass(frozen=True)
class ChainVerdict:
    passed: bool
    description: str
    verification: ChainVerification
    # A pass that is only as good as the outbox's write protection (heads not signed).
    warning: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


def _failed(result: ChainVerification, meta: dict[str, Any], hint: bool = True) -> ChainVerdict:
    reason = f"{result.reason}; {RESET_HINT}" if hint else str(result.reason)
    broken = ChainVerification(
        False, result.checked, result.first_broken_seq, reason, result.first_broken_event_id
    )
    return ChainVerdict(False, reason, broken, metadata=meta)


def judge_chain(rows: Sequence[Mapping[str, Any]], notary: ChainNotary) -> ChainVerdict:
    """Verify ``rows`` (all of ``audit_events``) against the records ``notary`` publishes."""
    published = notary.read()
    current, structure = published.current()
    meta: dict[str, Any] = {
        "outbox": notary.where,
        "heads_checked": sum(len(c.heads) for c in published.chains.values()),
        "chains_published": len(published.chains),
        "signed_by": ", ".join(sorted(published.key_ids)),
    }
    problems = published.open_problems() + structure
    if problems:
        reason = "published chain records refused: " + "; ".join(problems)
        return _failed(ChainVerification(False, 0, None, reason), meta)
    if current is None:
        result = verify_chain(rows)
        if not result.ok:
            return _failed(result, meta, hint=False)
        if rows:
            reason = (
                f"audit_events holds {len(rows)} events but no chain is published for this "
                f"warehouse in {notary.where}: they were appended without cicl, or the chain's "
                "records were removed from the outbox"
            )
            return _failed(ChainVerification(False, 0, 1, reason, rows[0].get("event_id")), meta)
        return ChainVerdict(True, "chain empty: nothing appended yet", result, metadata=meta)
    chain = current.genesis
    meta |= {"chain_id": chain.chain_id, "chain_started_at": chain.created_at}
    anchors = {length: head.last_hash for length, head in current.heads.items()}
    if chain.starts_at[0] > 0:
        anchors.setdefault(chain.starts_at[0], chain.starts_at[1])
    result = verify_chain(rows, anchors)
    if not result.ok:
        return _failed(result, meta)
    last = current.last()[0]
    meta["last_published_seq"] = last
    if len(rows) > last:
        ordered = sorted(rows, key=lambda r: r["seq"])
        reason = (
            f"the chain goes on past the last published head (seq {last}) of chain "
            f"{chain.chain_id} to seq {len(rows)}: events appended without cicl (a forged "
            "append), or cicl stopped before publishing their head"
        )
        return _failed(
            ChainVerification(False, last, last + 1, reason, ordered[last].get("event_id")), meta
        )
    if published.unsigned:
        return ChainVerdict(
            False,
            f"heads not signed: {len(rows)} events match {published.unsigned} unsigned records in "
            f"{notary.where}, which anyone who can write there could forge (set "
            "CICL_SIGNING_KEY and list its key in the trust file)",
            result,
            warning=True,
            metadata=meta,
        )
    return ChainVerdict(
        True,
        f"chain intact: {result.checked} events verified against {len(current.heads)} signed "
        f"heads of chain {chain.chain_id}",
        result,
        metadata=meta,
    )
