"""The audit chain's published heads through Dagster: tampering is caught under a fresh
DAGSTER_HOME, two warehouses share one DAGSTER_HOME cleanly, and an operator's reset goes
through scripts/cicl.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.audit.assets import audit_chain_verified, audit_events
from cicl_assets.audit.chain import read_chain
from cicl_assets.landing.zone import LandingZone
from cicl_assets.resources import build_resources
from cicl_assets.settings import Settings
from cicl_assets.signer import Ed25519Signer, trust_entry
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.signing_keys import SINCE, write_trust
from tests.unit.audit.test_notary import TAMPERING

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit-logs"
REPO = Path(__file__).resolve().parents[2]


def landing_with(root: Path, names: list[str]) -> LandingZone:
    (root / "audit").mkdir(parents=True)
    for name in names:
        shutil.copy(FIXTURES / name, root / "audit" / name)
    return LandingZone(uri=str(root))


ALL = sorted(p.name for p in FIXTURES.glob("*.json"))


def materialize(warehouse, landing, cicl_config, instance) -> dg.AssetCheckEvaluation:
    result = dg.materialize(
        [audit_events, audit_chain_verified],
        resources={"warehouse": warehouse, "landing": landing, "cicl_config": cicl_config},
        instance=instance,
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged append", "the chain goes on past the last published head (seq 11) of chain"),
        ("rewrite from seq 3", "hash differs from the one recorded for this seq earlier"),
        ("truncation", "seq 11 was recorded earlier but the chain ends at seq 3"),
    ],
    ids=["forged-append", "rewrite", "truncation"],
)
def test_tampering_is_caught_with_a_fresh_dagster_home(tmp_path, cicl_config, case, reason):
    tamper = TAMPERING[case][0]
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))
    landing = landing_with(tmp_path / "landing", ALL)
    with dg.instance_for_test() as first_home:
        assert materialize(warehouse, landing, cicl_config, first_home).passed
    tamper(warehouse)
    with dg.instance_for_test() as fresh_home:
        evaluation = materialize(warehouse, landing, cicl_config, fresh_home)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert reason in evaluation.metadata["reason"].value


def test_two_warehouses_under_one_dagster_home_both_run_clean(tmp_path, cicl_config):
    landings = {
        "a": landing_with(tmp_path / "landing-a", ALL),
        "b": landing_with(tmp_path / "landing-b", ALL[:2]),
        "c": landing_with(tmp_path / "landing-c", []),
    }
    warehouses = {n: DuckDBWarehouse(path=str(tmp_path / f"{n}.duckdb")) for n in landings}
    with dg.instance_for_test() as home:
        for name in "abac":
            evaluation = materialize(warehouses[name], landings[name], cicl_config, home)
            assert evaluation.passed, (name, evaluation.description)
    assert {n: len(read_chain(w)) for n, w in warehouses.items()} == {"a": 11, "b": 2, "c": 0}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cicl.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=300,
    )


def test_an_emptied_warehouse_fails_until_an_operator_records_a_reset(tmp_path, monkeypatch):
    signer = Ed25519Signer.generate()
    trust = write_trust(tmp_path / "trust.yaml", trust_entry(signer.public_key(), SINCE))
    landing_with(tmp_path / "landing", ALL[:2])
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CICL_") or key == "CICL_EMULATOR_CACHE"
    } | {
        "DAGSTER_HOME": str(tmp_path / "home"),
        "CICL_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "CICL_LANDING_URI": str(tmp_path / "landing"),
        "CICL_OUTBOX_URI": str(tmp_path / "outbox"),
        "CICL_CONFIG_DIR": str(REPO / "config"),
        "CICL_SIGNING_KEY": signer.private_key_pem(),
        "CICL_TRUST_FILE": str(trust),
    }
    warehouse = DuckDBWarehouse(path=env["CICL_DUCKDB_PATH"])
    landing = LandingZone(uri=env["CICL_LANDING_URI"])
    # the code location's own cicl_config, whose EnvVar names the signing key
    cicl_config = build_resources(Settings.from_env(env))["cicl_config"]
    monkeypatch.setenv("CICL_SIGNING_KEY", signer.private_key_pem())
    with dg.instance_for_test() as home:
        assert materialize(warehouse, landing, cicl_config, home).passed
        warehouse.execute("DELETE FROM audit_events WHERE TRUE")
        refused = materialize(warehouse, landing, cicl_config, home)
        assert not refused.passed
        assert "seq 2 was recorded earlier but the chain ends at seq 0" in refused.description

        done = _cli(["audit-reset", "--reason", "restored the warehouse from nothing"], env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("new chain ")

        after = materialize(warehouse, landing, cicl_config, home)
        assert after.passed, after.description
    rows = read_chain(warehouse)
    # the reset comes first, then the staged events chained again
    assert [r["action"] == "audit_chain_reset" for r in rows] == [True, False, False]
    assert "restored the warehouse from nothing" in rows[0]["details"]
