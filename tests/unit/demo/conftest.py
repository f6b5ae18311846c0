from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.unit.demo.otlp_reader import FlatSpan, read_spans


@pytest.fixture(scope="session")
def pipeline_key(demo_keys) -> ec.EllipticCurvePrivateKey:
    """The simulated release pipeline's signing key: the one demo_landing is signed with."""
    return demo_keys.attestation


@pytest.fixture(scope="session")
def demo_spans(demo_landing: Path) -> list[FlatSpan]:
    return read_spans(demo_landing)
