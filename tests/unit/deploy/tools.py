"""Where the deploy tests find their tools: the dev tools beside the running interpreter (the
project venv installs them from requirements.lock) and the machine's kubectl."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def venv_tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{path} is missing: `make venv` installs the dev tools")
    return str(path)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise AssertionError(
            "kubectl is missing: `make kubectl` installs Debian's kubernetes-client"
        )
    return path


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)
