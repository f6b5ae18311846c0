"""Build the emulators' virtualenvs ahead of the tests: ``python -m tests.emulators``.

With ``--check`` each emulator is also started once and stopped, so a broken install shows up
here with the emulator's log instead of inside the first test that needs it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.emulators.harness import BIGQUERY, GCS, ensure_environment, running


def main(argv: list[str]) -> int:
    for kind in (BIGQUERY, GCS):
        started = time.monotonic()
        root = ensure_environment(kind)
        line = f"{kind.name} emulator environment: {root} ({time.monotonic() - started:.1f}s)"
        if "--check" in argv:
            with tempfile.TemporaryDirectory(prefix=f"cicl-{kind.name}-check-") as tmp:
                with running(kind, Path(tmp)) as emulator:
                    line += f", answered at {emulator.url}"
        sys.stderr.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
