"""Keys made in the test that uses them: nothing the tests trust ships with the product."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cicl_assets.resources import CiclConfig
from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def write_trust(path: Path, *entries: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trust_file_text(list(entries)))
    return path


def signed_config(root: Path, signer: Ed25519Signer | None = None) -> CiclConfig:
    """A cicl_config publishing into ``root/outbox``, signing with ``signer`` (a fresh key when
    not given), trusting that key only."""
    signer = signer or Ed25519Signer.generate()
    trust = write_trust(root / "trust.yaml", trust_entry(signer.public_key(), SINCE))
    return CiclConfig(
        outbox_uri=str(root / "outbox"),
        signing_key=signer.private_key_pem(),
        trust_file=str(trust),
    )


def unsigned_config(root: Path) -> CiclConfig:
    """A cicl_config without a key: heads are published unsigned, no key is trusted."""
    return CiclConfig(outbox_uri=str(root / "outbox"), trust_file=str(root / "no-trust.yaml"))
