from __future__ import annotations

from pathlib import Path

import pytest

from demo.generate import generate
from tests.unit.demo.otlp_reader import FlatSpan, read_spans

DEMO_SPANS = 20_000


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo landing zone at a reduced scale, generated once for the demo tests."""
    root = tmp_path_factory.mktemp("demo-landing")
    report = generate(root, spans=DEMO_SPANS, workers=1)
    assert not report.skipped
    return root


@pytest.fixture(scope="session")
def demo_spans(demo_landing: Path) -> list[FlatSpan]:
    return read_spans(demo_landing)
