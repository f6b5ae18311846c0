"""Where the deploy tests find their tools: the dev tools beside the running interpreter (the
project venv installs them from requirements.lock) and the machine's kubectl."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def venv_tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{path} is missing: `make venv` installs the dev tools")
    return str(path)


def kubectl() -> str:
    """The machine's kubectl, if its kustomize renders `labels` and `replacements` (4.1+). A
    machine without one skips the overlay tests, saying why (Debian offers only kubectl 1.20,
    too old, and no other registry this project installs from ships kubectl)."""
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is missing: `make kubectl` installs it")
    done = run([path, "version", "--client", "-o", "json"])
    found = json.loads(done.stdout or "{}").get("kustomizeVersion", "")
    parts = tuple(int(n) for n in re.findall(r"\d+", found)[:2])
    if parts < (4, 1):
        pytest.skip(
            f"{path} bundles kustomize {found or 'of unknown version'}; deploy/k8s needs 4.1 or "
            "newer (kubectl 1.22+; Debian's kubernetes-client 1.20 is older)"
        )
    return path


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)
