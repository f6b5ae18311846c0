"""`scripts/cicl.py run` as a user runs it, in a subprocess with an environment of its own: the
seeded slice of the demo's landing zone, the demo's keys, a DAGSTER_HOME per run.

The zone is the breach day's traffic from six hours before the breach to its end (so the 6h/30m
rule can page), the broken files, one pipeline run, and a few files of each other stream.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cicl_assets.resources import build_resources
from cicl_assets.settings import Settings
from cicl_assets.warehouse.base import Warehouse
from demo import story
from demo.generate import generate
from demo.keys import REDACTION_KEY, SIGNING_KEY, TRUST_FILE, DemoKeys

REPO = Path(__file__).resolve().parents[1]
CICL = REPO / "scripts" / "cicl.py"
RUN_TIMEOUT_S = 600
SPANS = 3000
OTHER_STREAMS = {"deployments": 3, "infra/dev": 3, "audit": 1, "slo": 1}
# 40 trace, CI and other files plus the 13 session-log and evaluation files of the same hours
SMALL_ZONE_FILES = 53


def small_zone(full: Path, out: Path) -> list[str]:
    """Copy the slice of the demo zone at ``full`` described in the module doc to ``out``."""
    hours = range((story.BREACH_START - timedelta(hours=6)).hour, story.BREACH_END.hour)
    day = full / "otel" / story.BREACH_START.strftime("%Y/%m/%d")
    picked = [p for p in sorted(day.iterdir()) if int(p.name[:2]) in hours]
    picked += sorted((full / "otel" / "broken").iterdir())
    picked += sorted(sorted((full / "ci").iterdir())[0].iterdir())
    for folder, count in OTHER_STREAMS.items():
        picked += sorted(p for p in (full / folder).rglob("*") if p.is_file())[:count]
    copied = []
    for path in picked:
        relative = path.relative_to(full).as_posix()
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out / relative)
        copied.append(relative)
    return copied


def small_demo_zone(folder: Path, keys: DemoKeys) -> Path:
    """Generate the demo zone under ``folder``/full and copy its slice to ``folder``/zone."""
    generate(folder / "full", story.SEED, SPANS, workers=2, attestation_key=keys.attestation)
    copied = small_zone(folder / "full", folder / "zone")
    assert len(copied) == SMALL_ZONE_FILES
    return folder / "zone"


@dataclass(frozen=True)
class Run:
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @property
    def warehouse(self) -> Warehouse:
        return build_resources(self.settings)["warehouse"]


def cicl_run(env: dict[str, str], command: Sequence[str] | None = None) -> Run:
    """Run ``command`` (default `cicl.py run`) to its end."""
    done = subprocess.run(
        list(command or [sys.executable, str(CICL), "run"]),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return Run(env, done.returncode, done.stdout, done.stderr)


def environment(home: Path, settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without cicl settings a shell may hold, plus ``settings``;
    ``home`` becomes DAGSTER_HOME with the instance config `make` writes."""
    home.mkdir(parents=True)
    subprocess.run(
        ["make", "-s", f"DAGSTER_HOME={home}", f"{home}/dagster.yaml"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CICL_")}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "CICL_CONFIG_DIR": str(REPO / "config"),
        "CICL_OUTBOX_URI": str(home / "outbox"),
        "CICL_STATE_DIR": str(home / "state"),
        # the demo's weeks-old history, as `make demo` runs it
        "CICL_RETENTION_CLOCK": "data",
        **settings,
    }


def key_settings(keys: DemoKeys) -> dict[str, str]:
    """The demo's keys as `make run` passes them."""
    return {
        "CICL_ATTESTATION_PUBLIC_KEY": keys.attestation_public_pem,
        "CICL_SIGNING_KEY": (keys.folder / SIGNING_KEY).read_text(),
        "CICL_REDACTION_KEY": (keys.folder / REDACTION_KEY).read_text(),
        "CICL_TRUST_FILE": str(keys.folder / TRUST_FILE),
    }


def succeeded(run: Run) -> None:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
