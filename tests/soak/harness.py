"""The kill loop: `cicl.py run` killed with SIGKILL at seeded points, run again, compared.

A clean run on a fresh warehouse is the reference: its probes (``probed_run``) give the run's
timeline, one mark per step, listing, parse, spool, load and record. Each kill targets a phase,
taken in turn from KILL_ORDER (so a few kills already reach the writes most likely to tear and
twenty reach every phase twice): the seed picks one of the phase's marks in the reference
timeline and a delay inside the gap that follows it. The killed run is watched live; once it
writes that mark (the n-th time, as in the reference) the harness waits the delay and kills the
run's whole process group, as a machine or container dying would.

Two forms:
- chain (the issue's proof): on one warehouse, kill a run at each point in timeline order, then
  run to completion; the warehouse must equal the reference's.
- episodes: each kill on a fresh warehouse, then one run to completion, compared on its own, so
  a difference is pinned to the kill that caused it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.fingerprint import warehouse_differences
from tests.cicl_runs import REPO, RUN_TIMEOUT_S, Run, cicl_run, environment, key_settings
from tests.soak.probed_run import PHASES

# Phases in the order kills take them: the writes that can tear first.
KILL_ORDER = (
    "loading",
    "recording",
    "derived",
    "breach",
    "parsing",
    "spooling",
    "after-ingest",
    "listing",
    "starting",
    "summary",
)
assert sorted(KILL_ORDER) == sorted(PHASES)
POLL_S = 0.01
# The reference run's last mark has no next one; a kill after it lands within this.
TAIL_S = 0.5
INGESTED = re.compile(r" - (\w+): (\d+) files ingested, ")


@dataclass(frozen=True)
class Mark:
    t: float
    phase: str
    detail: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.phase, self.detail)

    def __str__(self) -> str:
        return f"{self.phase} {self.detail}".strip()


def read_marks(path: Path) -> list[Mark]:
    if not path.exists():
        return []
    marks = []
    for line in path.read_text().splitlines():
        t, phase, *detail = line.split(" ", 2)
        marks.append(Mark(float(t), phase, detail[0] if detail else ""))
    return marks


@dataclass(frozen=True)
class Kill:
    """Kill once the run writes ``anchor`` for the ``occurrence``-th time, ``delay_s`` later."""

    anchor: Mark
    occurrence: int
    delay_s: float

    @property
    def planned_s(self) -> float:
        return self.anchor.t + self.delay_s


def plan_kills(reference: list[Mark], count: int, seed: int) -> list[Kill]:
    """``count`` kills over the reference timeline, phases in KILL_ORDER turn by turn, in
    timeline order."""
    rng = random.Random(seed)
    by_phase: dict[str, list[int]] = {}
    for i, mark in enumerate(reference):
        by_phase.setdefault(mark.phase, []).append(i)
    phases = [p for p in KILL_ORDER if p in by_phase]
    kills = []
    for n in range(count):
        i = rng.choice(by_phase[phases[n % len(phases)]])
        mark = reference[i]
        gap = reference[i + 1].t - mark.t if i + 1 < len(reference) else TAIL_S
        occurrence = sum(1 for m in reference[: i + 1] if m.key == mark.key)
        kills.append(Kill(mark, occurrence, round(rng.uniform(0, gap), 3)))
    return sorted(kills, key=lambda k: k.planned_s)


@dataclass(frozen=True)
class Killed:
    """A run the harness started to kill: when it was killed, where it was, how it ended."""

    kill: Kill
    offset_s: float | None  # since the run started; None when it ended before the anchor
    reached: Mark | None
    returncode: int
    output: str


def run_and_kill(env: dict[str, str], marks: Path, kill: Kill) -> Killed:
    """Start a probed run and SIGKILL its process group at ``kill``."""
    marks.unlink(missing_ok=True)
    log = marks.with_suffix(".log")
    with log.open("w") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.soak.probed_run", str(marks)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        offset = None
        fire_at = None
        while process.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S:
            now = time.monotonic()
            if fire_at is None:
                seen = sum(1 for m in read_marks(marks) if m.key == kill.anchor.key)
                if seen >= kill.occurrence:
                    fire_at = now + kill.delay_s
            if fire_at is not None and now >= fire_at:
                os.killpg(process.pid, signal.SIGKILL)
                offset = now - started
                break
            time.sleep(POLL_S)
        if process.poll() is None and offset is None:
            os.killpg(process.pid, signal.SIGKILL)  # past the run timeout
        returncode = process.wait()
    written = read_marks(marks)
    return Killed(kill, offset, written[-1] if written else None, returncode, log.read_text())


@dataclass(frozen=True)
class Reference:
    """A clean probed run: its environment (warehouse), timeline and output."""

    run: Run
    marks: list[Mark]
    seconds: float

    @property
    def files_ingested(self) -> int:
        return files_ingested(self.run)


def files_ingested(run: Run) -> int:
    """Files the run's ingest steps report as ingested, over all streams."""
    return sum(int(n) for _, n in INGESTED.findall(run.stdout + run.stderr))


class Workspace:
    """Fresh warehouses and instances under one folder, all on one landing zone."""

    def __init__(self, root: Path, zone: Path, keys):
        self.root, self.zone, self.keys = root, zone, keys
        self.made = Counter[str]()

    def env(self, name: str) -> dict[str, str]:
        self.made[name] += 1
        folder = self.root / f"{name}-{self.made[name]}"
        return environment(
            folder / "home",
            {
                "CICL_WAREHOUSE": "duckdb",
                "CICL_DUCKDB_PATH": str(folder / "warehouse.duckdb"),
                "CICL_LANDING_URI": str(self.zone),
                **key_settings(self.keys),
            },
        )

    def reference(self) -> Reference:
        env = self.env("reference")
        marks = Path(env["DAGSTER_HOME"]).parent / "marks"
        started = time.monotonic()
        run = cicl_run(env, [sys.executable, "-m", "tests.soak.probed_run", str(marks)])
        return Reference(run, read_marks(marks), time.monotonic() - started)


def save_reference(reference: Reference, folder: Path) -> None:
    """Write what ``load_reference`` needs beside the reference's own folders, so test modules
    in other processes compare with the same clean run instead of each making one."""
    run = reference.run
    saved = {"env": run.env, "returncode": run.returncode, "stdout": run.stdout,
             "stderr": run.stderr, "marks": [[m.t, m.phase, m.detail] for m in reference.marks],
             "seconds": reference.seconds}  # fmt: skip
    (folder / "reference.json").write_text(json.dumps(saved))


def load_reference(folder: Path) -> Reference:
    saved = json.loads((folder / "reference.json").read_text())
    run = Run(saved["env"], saved["returncode"], saved["stdout"], saved["stderr"])
    return Reference(run, [Mark(*m) for m in saved["marks"]], saved["seconds"])


def warehouse_of(env: dict[str, str]) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=env["CICL_DUCKDB_PATH"])


def row_counts(env: dict[str, str]) -> dict[str, int]:
    return warehouse_of(env).table_row_counts()


def changed_counts(want: dict[str, int], have: dict[str, int]) -> str:
    """Tables the warehouse holds whose row count is not the reference's: ``name have/want``."""
    if not have:
        return "no tables"
    names = sorted(n for n in have if want.get(n) != have[n])
    return ", ".join(f"{n} {have[n]}/{want.get(n, '-')}" for n in names) or "as the reference"


@dataclass
class Row:
    """One line of the report."""

    number: str
    target: str
    offset: str
    reached: str
    tables: str
    equal: str

    def __str__(self) -> str:
        return " | ".join((self.target, self.offset, self.reached, self.equal or "-", self.tables))


@dataclass
class SoakResult:
    form: str
    rows: list[Row] = field(default_factory=list)
    differences: dict[str, list[str]] = field(default_factory=dict)  # by row number
    failed_runs: dict[str, str] = field(default_factory=dict)  # by row number: output tail

    @property
    def equal(self) -> bool:
        return not self.differences and not self.failed_runs

    def table(self) -> str:
        head = Row("#", "target", "offset s", "phase reached", "tables", "equal")
        rows = [head, *self.rows]
        widths = [max(len(getattr(r, f)) for r in rows) for f in ("number", "target", "offset")]
        widths += [max(len(r.reached) for r in rows)]
        lines = [
            f"{r.number:<{widths[0]}}  {r.target:<{widths[1]}}  {r.offset:>{widths[2]}}  "
            f"{r.reached:<{widths[3]}}  {r.equal:<5}  {r.tables}"
            for r in rows
        ]
        for number, lines_of in self.differences.items():
            lines += [f"differences after #{number}:"] + [f"  {d}" for d in lines_of]
        for number, tail in self.failed_runs.items():
            lines += [f"run #{number} failed:", tail]
        return "\n".join(lines)


def _killed_row(number: int, killed: Killed) -> Row:
    return Row(
        str(number),
        f"{killed.kill.anchor.phase} @{killed.kill.planned_s:.1f}",
        "-" if killed.offset_s is None else f"{killed.offset_s:.1f}",
        str(killed.reached or "-") if killed.offset_s is not None else "ran to its end",
        "",
        "",
    )


def _tail(run: Run | Killed) -> str:
    text = run.output if isinstance(run, Killed) else run.stdout + run.stderr
    return text[-3000:]


def _compare(result: SoakResult, number: str, reference: Reference, env: dict[str, str]) -> str:
    found = warehouse_differences(reference.run.warehouse, warehouse_of(env))
    if found:
        result.differences[number] = found
    return "no" if found else "yes"


def chain(
    workspace: Workspace,
    reference: Reference,
    kills: list[Kill],
    log: Callable[[str], None] = lambda _: None,
) -> SoakResult:
    """Every kill on one warehouse, then a run to its end, compared with the reference."""
    result = SoakResult("chain")
    want = row_counts(reference.run.env)
    env = workspace.env("chain")
    marks = Path(env["DAGSTER_HOME"]).parent / "marks"
    for number, kill in enumerate(kills, 1):
        killed = run_and_kill(env, marks, kill)
        row = _killed_row(number, killed)
        row.tables = changed_counts(want, row_counts(env))
        if killed.offset_s is None and killed.returncode != 0:
            result.failed_runs[str(number)] = _tail(killed)
        result.rows.append(row)
        log(f"kill {number}: {row}")
    final = cicl_run(env)
    row = Row("end", "run to its end", "-", f"exit {final.returncode}", "", "")
    if final.returncode != 0:
        result.failed_runs["end"] = _tail(final)
    row.tables = changed_counts(want, row_counts(env))
    row.equal = _compare(result, "end", reference, env)
    result.rows.append(row)
    return result


def episodes(
    workspace: Workspace,
    reference: Reference,
    kills: list[Kill],
    log: Callable[[str], None] = lambda _: None,
) -> SoakResult:
    """Each kill on a fresh warehouse, then a run to its end, each compared."""
    result = SoakResult("episodes")
    want = row_counts(reference.run.env)
    for number, kill in enumerate(kills, 1):
        env = workspace.env("episode")
        killed = run_and_kill(env, Path(env["DAGSTER_HOME"]).parent / "marks", kill)
        row = _killed_row(number, killed)
        rerun = cicl_run(env)
        if rerun.returncode != 0:
            result.failed_runs[str(number)] = _tail(rerun)
            row.reached += f" (rerun exit {rerun.returncode})"
        row.tables = changed_counts(want, row_counts(env))
        row.equal = _compare(result, str(number), reference, env)
        result.rows.append(row)
        log(f"kill {number}: {row}")
    return result


def concurrent_runs(workspace: Workspace) -> tuple[Run, Run, dict[str, str]]:
    """Two `cicl.py run` at once on one warehouse and one DAGSTER_HOME, as two `make run` in one
    checkout."""
    env = workspace.env("concurrent")
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(cicl_run, [env, env])
    return first, second, env
