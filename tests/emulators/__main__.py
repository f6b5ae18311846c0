"""The emulators from the command line.

``python -m tests.emulators [--check]`` builds their virtualenvs ahead of the tests; with
``--check`` each is also started once and stopped, so a broken install shows up here with the
emulator's log instead of inside the first test that needs it.
``python -m tests.emulators up`` starts both in the background and prints the variables to
export; ``python -m tests.emulators down`` stops them (see tests/emulators/background.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.emulators import background
from tests.emulators.harness import BIGQUERY, GCS, ensure_environment, running


def build(check: bool) -> int:
    for kind in (BIGQUERY, GCS):
        started = time.monotonic()
        root = ensure_environment(kind)
        line = f"{kind.name} emulator environment: {root} ({time.monotonic() - started:.1f}s)"
        if check:
            with tempfile.TemporaryDirectory(prefix=f"cicl-{kind.name}-check-") as tmp:
                with running(kind, Path(tmp)) as emulator:
                    line += f", answered at {emulator.url}"
        sys.stderr.write(line + "\n")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["up"]:
        state = background.up()
        for entry in state.values():
            sys.stderr.write(f"{entry.name} emulator at {entry.url} (log: {entry.log})\n")
        sys.stdout.write(background.exports(state))
        return 0
    if argv[:1] == ["down"]:
        stopped = background.down()
        sys.stderr.write(f"stopped: {', '.join(stopped) or 'nothing was running'}\n")
        return 0
    return build("--check" in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
