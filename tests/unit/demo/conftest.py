from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from demo.generate import generate
from tests.unit.demo.otlp_reader import FlatSpan, read_spans

DEMO_SPANS = 20_000


@pytest.fixture(scope="session")
def pipeline_key() -> ec.EllipticCurvePrivateKey:
    """The simulated release pipeline's signing key, made for this test session."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def demo_landing(
    tmp_path_factory: pytest.TempPathFactory, pipeline_key: ec.EllipticCurvePrivateKey
) -> Path:
    """A demo landing zone at a reduced scale, generated once for the demo tests."""
    root = tmp_path_factory.mktemp("demo-landing")
    report = generate(root, spans=DEMO_SPANS, workers=1, attestation_key=pipeline_key)
    assert not report.skipped
    return root


@pytest.fixture(scope="session")
def demo_spans(demo_landing: Path) -> list[FlatSpan]:
    return read_spans(demo_landing)
