from __future__ import annotations

from pathlib import Path

from demo.generate import generate
from demo.landing_writer import MANIFEST_NAME


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_seed_gives_byte_identical_landing_zones(
    tmp_path: Path, demo_landing: Path, pipeline_key
) -> None:
    # a second generation with another worker count into another folder
    other = tmp_path / "other"
    generate(other, spans=20_000, workers=2, attestation_key=pipeline_key)
    assert _tree(other) == _tree(demo_landing)


def test_rerun_is_idempotent_and_force_rewrites_the_same_files(
    tmp_path: Path, pipeline_key
) -> None:
    root = tmp_path / "lz"
    first = generate(root, spans=3_000, workers=1, attestation_key=pipeline_key)
    before = _tree(root)
    assert not first.skipped and len(before) == len(first.files) + 1  # + manifest
    assert generate(root, spans=3_000, workers=1, attestation_key=pipeline_key).skipped
    assert not generate(
        root, spans=3_000, workers=1, force=True, attestation_key=pipeline_key
    ).skipped
    assert _tree(root) == before


def test_changing_scale_removes_the_files_of_the_earlier_generation(
    tmp_path: Path, pipeline_key
) -> None:
    root = tmp_path / "lz"
    generate(root, spans=3_000, workers=1, attestation_key=pipeline_key)
    stale = root / "otel" / "2026" / "11" / "02" / "00-flow-gateway.pb"
    assert stale.is_file()
    report = generate(root, spans=2_000, seed=7, workers=1, attestation_key=pipeline_key)
    listed = {f.path for f in report.files} | {MANIFEST_NAME}
    assert set(_tree(root)) == listed
