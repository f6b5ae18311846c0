"""`make soak`: the kill loop's full form, printed kill by kill.

python -m tests.soak [--kills 20] [--seed 9] [--form chain|episodes] [--keep DIR]

Builds the demo's keys and the small landing zone of tests/cicl_runs.py in a temporary folder
(or DIR, kept), runs the reference, then the kills; exits 1 when the warehouse ends different
from the reference or a run that should finish fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from demo.keys import ensure_keys
from tests.cicl_runs import small_demo_zone
from tests.soak.harness import Workspace, chain, episodes, plan_kills

FULL_KILLS = 20
SEED = 9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak")
    parser.add_argument("--kills", type=int, default=FULL_KILLS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--form", choices=("chain", "episodes"), default="chain")
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it there")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cicl-soak-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        keys = ensure_keys(root / "keys")
        workspace = Workspace(root / "runs", small_demo_zone(root, keys), keys)
        reference = workspace.reference()
        if reference.run.returncode != 0:
            print(reference.run.stdout[-3000:], reference.run.stderr[-3000:], sep="\n")
            print("the reference run failed")
            return 1
        print(f"reference: clean run in {reference.seconds:.1f}s, {len(reference.marks)} marks")
        kills = plan_kills(reference.marks, args.kills, args.seed)
        form = chain if args.form == "chain" else episodes
        result = form(workspace, reference, kills, log=lambda line: print(line, flush=True))
        print(f"\n{args.form}, {args.kills} kills, seed {args.seed}:")
        print(result.table())
        print(
            f"\n{'equal' if result.equal else 'NOT equal'} after {time.monotonic() - started:.0f}s"
        )
        return 0 if result.equal else 1


if __name__ == "__main__":
    sys.exit(main())
