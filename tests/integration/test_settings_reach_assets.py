"""Settings read from an environment reach what they govern: the ci asset's size caps and the
attestation key its parsers verify with, in the asset's process and in ingest workers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.ci.assets import ci_artifacts
from cicl_assets.ci.stream import ci_stream
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.resources import build_resources
from cicl_assets.settings import Settings
from tests.unit.ci.test_attestations import _envelope, _keypair, _statement

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def signed(tmp_path):
    """A landing zone with an envelope signed by a fresh key, a file over the 2 KiB cap and a
    gzip file inflating past the 4 KiB cap; the settings an environment naming the key gives."""
    sign, pem = _keypair("ec")
    run = tmp_path / "landing" / "ci" / "wr-7"
    run.mkdir(parents=True)
    (run / "provenance.intoto.json").write_text(json.dumps(_envelope(sign, _statement())))
    (run / "big.json").write_text(json.dumps({"padding": "x" * 3000}))
    (run / "bomb.json.gz").write_bytes(gzip.compress(json.dumps({"p": "y" * 10_000}).encode()))
    settings = Settings.from_env(
        {
            "CICL_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
            "CICL_LANDING_URI": str(tmp_path / "landing"),
            "CICL_CONFIG_DIR": str(REPO / "config"),
            "CICL_ATTESTATION_PUBLIC_KEY": pem,
            "CICL_MAX_FILE_BYTES": "2048",
            "CICL_MAX_INFLATED_BYTES": "4096",
        }
    )
    return build_resources(settings)


def test_the_ci_asset_applies_the_caps_and_the_key_of_the_settings(signed):
    result = dg.materialize([ci_artifacts], resources=signed)
    assert result.success
    warehouse = signed["warehouse"]
    rejects = warehouse.query(
        "SELECT source_file, detected_format, error FROM ingest_rejects ORDER BY source_file"
    ).to_pylist()
    bomb_size = (Path(signed["landing"].uri) / "ci/wr-7/bomb.json.gz").stat().st_size
    assert rejects == [
        {
            "source_file": "ci/wr-7/big.json",
            "detected_format": "unknown",
            "error": "ci/wr-7/big.json: file is larger than the 2,048-byte cap "
            "(CICL_MAX_FILE_BYTES); split it or raise the cap",
        },
        {
            "source_file": "ci/wr-7/bomb.json.gz",
            "detected_format": "gzip",
            "error": "ci/wr-7/bomb.json.gz: gzip: inflates past 4,096 bytes "
            f"(CICL_MAX_INFLATED_BYTES) (from {bomb_size:,} compressed); refused as a possible "
            "decompression bomb",
        },
    ]
    rows = warehouse.query("SELECT verification, verified_against FROM ci_attestations")
    [row] = rows.to_pylist()
    assert row["verification"] == "verified"
    assert row["verified_against"].endswith("(CICL_ATTESTATION_PUBLIC_KEY)")


def test_worker_processes_verify_with_the_same_key(signed):
    """The trust crosses into forkserver workers as PEM bytes; each loads the key itself."""
    landing, warehouse = signed["landing"], signed["warehouse"]
    stream = landing.capped(ci_stream(signed["cicl_config"].attestation_trust()))
    report = ingest_stream(stream, landing, warehouse, workers=2)
    assert (report.files_ingested, report.files_rejected) == (1, 2)
    rows = warehouse.query("SELECT verification FROM ci_attestations").to_pylist()
    assert rows == [{"verification": "verified"}]
