"""`make bench`, scale section: what `cicl.py run` costs as the history grows.

For each history (2, 16 and 128 days of hourly OTLP files from benchmarks/scale_history.py, on
a fresh DuckDB warehouse and DAGSTER_HOME) three runs of `scripts/cicl.py run`, each in its own
process as a user starts it:

- first: everything is new;
- no-op: nothing changed in the landing zone;
- incremental: one new hour after the history's end.

A run's time is measured from its first step's start to its last step's end, across every
Dagster run the command launched (read from the instance's event log); process start-up (to the
first step) and the whole wall clock are reported apart. A run that launches no step (nothing
new) is measured by its work after start-up as the command reports it (listing, deciding,
the summary): that is what the no-op goal judges, and it is never less than the steps' span. Peak RSS is the largest sum of the
resident sets of the command's process tree, sampled every 50 ms. The goals: a no-op run within
5 s whatever the history; the incremental run on the longest history within 1.2x the one on the
shortest, in time and in peak RSS.

Writes benchmarks/results/scale.json and scale.png and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from scale_history import END, RUNS_PER_HOUR, write_history, write_hour  # noqa: E402

from demo.keys import REDACTION_KEY, SIGNING_KEY, TRUST_FILE, ensure_keys  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CICL = ROOT / "scripts" / "cicl.py"
HISTORIES = (2, 16, 128)
SEED = 11
NOOP_GOAL_S = 5.0
INCREMENTAL_RATIO_GOAL = 1.2
RUN_TIMEOUT_S = 4 * 3600
KINDS = ("first", "no-op", "incremental")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def environment(work: Path, keys_dir: Path) -> dict[str, str]:
    keys = ensure_keys(keys_dir)
    home = work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CICL_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "DAGSTER_HOME": str(home),
        "CICL_WAREHOUSE": "duckdb",
        "CICL_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "CICL_LANDING_URI": str(work / "landing"),
        "CICL_CONFIG_DIR": str(ROOT / "config"),
        "CICL_OUTBOX_URI": str(work / "outbox"),
        "CICL_STATE_DIR": str(work / "state"),
        "CICL_ATTESTATION_PUBLIC_KEY": keys.attestation_public_pem,
        "CICL_SIGNING_KEY": (keys_dir / SIGNING_KEY).read_text(),
        "CICL_REDACTION_KEY": (keys_dir / REDACTION_KEY).read_text(),
        "CICL_TRUST_FILE": str(keys_dir / TRUST_FILE),
    }


class TreeRss:
    """Peak of the summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.peak_mb = 0.0
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def step_times(home: str, since: datetime) -> dict[str, Any]:
    """First step start, last step end and each step's duration over the runs created since."""
    import dagster as dg
    from dagster._core.events import DagsterEventType

    kinds = {
        DagsterEventType.STEP_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
    }
    first, last = None, None
    steps: dict[str, float] = {}
    with dg.DagsterInstance.from_config(home) as instance:
        runs = instance.get_runs(dg.RunsFilter(created_after=since))
        for run in runs:
            started: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id, of_type=kinds):
                at, step = entry.timestamp, f"{run.job_name}/{entry.step_key}"
                if entry.dagster_event.event_type == DagsterEventType.STEP_START:
                    started[step] = at
                    first = at if first is None else min(first, at)
                else:
                    last = at if last is None else max(last, at)
                    steps[step] = steps.get(step, 0.0) + at - started.get(step, at)
    return {"first": first, "last": last, "steps": steps, "runs": len(runs)}


def _children_cpu() -> float:
    """CPU seconds of the waited-for child processes (and theirs): unlike the clock, what a
    run costs whatever else the machine is doing."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _seconds(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else None


def cicl_run(env: dict[str, str]) -> dict[str, Any]:
    """`cicl.py run` in its own process, measured."""
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    since = datetime.now(UTC)
    begin = time.time()
    proc = subprocess.Popen(
        [sys.executable, str(CICL), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeRss(proc.pid) as rss:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    wall = time.time() - begin
    cpu = _children_cpu() - cpu_before
    if proc.returncode != 0:
        raise RuntimeError(f"cicl.py run exited {proc.returncode}:\n{out[-3000:]}\n{err[-3000:]}")
    timing = step_times(env["DAGSTER_HOME"], since)
    work = _seconds(r"^work after start-up: ([\d.]+) s$", err) or 0.0
    steps = timing["last"] - timing["first"] if timing["first"] is not None else 0.0
    # With no step, start-up is everything before the work the command reports.
    startup = timing["first"] - begin if timing["first"] is not None else wall - work
    landing = re.search(r"^landing files: .*$", out, re.M)
    evaluated = re.search(r"^slo_status days evaluated: (.*)$", out, re.M)
    slowest = sorted(timing["steps"].items(), key=lambda kv: -kv[1])[:5]
    return {
        "steps_s": round(steps, 2),
        "work_s": round(work, 2),
        "startup_s": round(startup, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(rss.peak_mb, 1),
        "load_avg_1m": round(load, 2),
        "dagster_runs": timing["runs"],
        "landing": landing.group(0) if landing else "",
        "slo_status_days": evaluated.group(1) if evaluated else "",
        "slowest_steps": [[name, round(s, 2)] for name, s in slowest],
    }


def bench_history(days: int, work: Path, keys_dir: Path, runs_per_hour: int) -> list[dict]:
    shutil.rmtree(work, ignore_errors=True)
    env = environment(work, keys_dir)
    landing = work / "landing"
    files = len(write_history(landing, days, SEED, runs_per_hour))
    rows = []
    for kind in KINDS:
        if kind == "incremental":
            write_hour(landing, END, SEED, runs_per_hour)
            files += 1
        measured = cicl_run(env)
        spans = files * runs_per_hour * 3
        rows.append({"days": days, "run": kind, "files": files, "spans": spans, **measured})
        say(_line(rows[-1]))
    return rows


HEADER = (
    f"{'history':>8} {'run':<12} {'files':>6} {'spans':>9} {'steps s':>8} {'work s':>7} "
    f"{'start-up s':>10} {'wall s':>7} {'CPU s':>7} "
    f"{'peak RSS MB':>11} {'load 1m':>8}"
)


def _line(r: dict) -> str:
    return (
        f"{str(r['days']) + ' d':>8} {r['run']:<12} {r['files']:>6} {r['spans']:>9,} "
        f"{r['steps_s']:>8.2f} {r['work_s']:>7.2f} "
        f"{r['startup_s']:>10.2f} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} {r['peak_rss_mb']:>11.0f} "
        f"{r['load_avg_1m']:>8.2f}"
    )


def goals(rows: list[dict]) -> list[str]:
    """One verdict line per goal the measured histories can say something about."""
    out = []
    for r in rows:
        if r["run"] == "no-op":
            took = max(r["steps_s"], r["work_s"])
            ok = took <= NOOP_GOAL_S
            out.append(f"no-op at {r['days']} d: {took:.2f} s (goal <= {NOOP_GOAL_S} s): {'met' if ok else 'MISSED'}")  # fmt: skip
    inc = sorted((r for r in rows if r["run"] == "incremental"), key=lambda r: r["days"])
    if len(inc) >= 2:
        low, high = inc[0], inc[-1]
        for key, label in (("steps_s", "time"), ("peak_rss_mb", "peak RSS")):
            ratio = high[key] / low[key] if low[key] else float("inf")
            ok = ratio <= INCREMENTAL_RATIO_GOAL
            out.append(
                f"incremental {label} {high['days']} d / {low['days']} d: {ratio:.2f}x "
                f"(goal <= {INCREMENTAL_RATIO_GOAL}x): {'met' if ok else 'MISSED'}"
            )
    return out


def plot(rows: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from cicl_assets.charts import png_bytes

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    for kind in KINDS:
        points = sorted((r["days"], r) for r in rows if r["run"] == kind)
        xs = [d for d, _ in points]
        left.plot(xs, [r["work_s"] for _, r in points], marker="o", label=kind)
        right.plot(xs, [r["peak_rss_mb"] for _, r in points], marker="o", label=kind)
    left.axhline(NOOP_GOAL_S, color="grey", linestyle=":", label="no-op goal")
    for ax, title, unit in ((left, "time after start-up", "s"), (right, "peak RSS", "MB")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("history (days)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    left.legend(fontsize="small")
    return png_bytes(fig)


def write_results(out: Path, rows: list[dict], verdicts: list[str], runs_per_hour: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "spans_per_hour": runs_per_hour * 3,
        "rows": rows,
        "goals": verdicts,
    }
    (out / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "scale.png").write_bytes(plot(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=list(HISTORIES))
    parser.add_argument("--runs-per-hour", type=int, default=RUNS_PER_HOUR)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "cicl-scale")
    args = parser.parse_args(argv)
    say(f"scale: histories {args.days} days, {args.runs_per_hour * 3} spans an hour, DuckDB")
    say(HEADER)
    rows: list[dict] = []
    for days in sorted(args.days):
        rows += bench_history(days, args.work / f"{days}d", args.work / "keys", args.runs_per_hour)
        # Written after each history, so a long run stopped early keeps what it measured.
        verdicts = goals(rows)
        write_results(args.out, rows, verdicts, args.runs_per_hour)
    for line in verdicts:
        say(line)
    say(f"wrote {args.out / 'scale.json'} and {args.out / 'scale.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
