from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from cicl_assets.landing import LandingZone
from demo.__main__ import main
from demo.gcs_publish import publish
from demo.landing_writer import MANIFEST_NAME, finish, read_manifest, write_file


def test_cli_writes_a_local_landing_zone_and_skips_when_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "landing"
    keys = ["--keys", str(tmp_path / "keys")]
    assert main(["--out", str(out), "--spans", "2000", "--workers", "1", *keys]) == 0
    summary, *folders = capsys.readouterr().out.splitlines()
    assert summary.startswith(f"{out}: 1946 spans, 1771 files in ")  # then the seconds it took
    assert folders == [
        "  audit/            32 files       0.7 MB",
        "  ci/             1001 files       3.0 MB",
        "  deployments/     157 files       0.2 MB",
        "  feedback/         13 files       0.0 MB",
        "  infra/           111 files       0.2 MB",
        "  otel/            453 files       1.5 MB",
        "  slo/               4 files       0.6 MB",
    ]
    manifest = read_manifest(out)
    assert manifest and manifest["settings"]["spans"] == 2000
    assert all((out / f["path"]).is_file() for f in manifest["files"])
    assert main(["--out", str(out), "--spans", "2000", "--workers", "1", *keys]) == 0
    assert capsys.readouterr().out == (
        f"{out}: demo landing zone is current (seed 20261102); use --force to rewrite\n"
    )


@pytest.mark.gcs
def test_publish_uploads_changed_files_and_removes_stale_ones(
    gcs_emulator: object, tmp_path: Path
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="cicl-test", credentials=AnonymousCredentials())
    bucket = client.create_bucket(f"demo-{uuid.uuid4().hex[:12]}")
    uri = f"gs://{bucket.name}/landing"
    settings = {"seed": 1}
    first = {
        "ci/r1/run.json": b'{"kind": "cicl.ci_run/v1"}',
        "otel/a.jsonl": b"{}\n",
        "infra/x.log": b"x",
    }
    finish(tmp_path, settings, [write_file(tmp_path, k, v) for k, v in first.items()])
    assert publish(tmp_path, uri) == (3, 0)
    zone = LandingZone(uri=uri)
    assert {o.path for o in zone.list()} == {*first, MANIFEST_NAME}
    assert zone.read_bytes("ci/r1/run.json", 1000) == first["ci/r1/run.json"]

    second = {"ci/r1/run.json": first["ci/r1/run.json"], "otel/a.jsonl": b"{}\n{}\n"}
    finish(tmp_path, settings, [write_file(tmp_path, k, v) for k, v in second.items()])
    assert publish(tmp_path, uri) == (1, 1)
    assert {o.path for o in zone.list()} == {*second, MANIFEST_NAME}
    assert zone.read_bytes("otel/a.jsonl", 1000) == second["otel/a.jsonl"]
