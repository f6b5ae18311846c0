"""`scripts/cicl.py run`, unchanged, with probes that say where the run is when it is killed.

    python -m tests.soak.probed_run MARKS

Each probe appends one line, ``<seconds since start> <phase> <detail>``, to the file MARKS with
one unbuffered ``write`` (O_APPEND), so the last line written before a SIGKILL is on disk. The
probes wrap functions of the parent process only; nothing in the product knows of them.

Phases, in the order a run meets them (a stream goes through listing to recording, and the
streams of a run interleave with the derived assets Dagster runs between them):

    starting      imports, the instance, the job's first events
    listing       an ingest step: its tables ensured, ingested files read, the folder listed
    parsing       files read and parsed (in worker processes for isolated streams)
    spooling      parsed rows written to Parquet spool files (streams parsed in this process)
    loading       a group's old rows deleted and its spool files loaded
    recording     rejects and ingested_files written for the group
    after-ingest  the stream's after-ingest step, metadata and checks
    derived       a step that is not an ingest step (SLO status, drift, retention, ...)
    breach        the SLO breach sensor's evaluation and its runs
    summary       the summary printed from the warehouse
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CICL = Path(__file__).resolve().parents[2] / "scripts" / "cicl.py"

PHASES = (
    "starting",
    "listing",
    "parsing",
    "spooling",
    "loading",
    "recording",
    "after-ingest",
    "derived",
    "breach",
    "summary",
)
RECORDING_TABLES = frozenset({"ingested_files", "ingest_rejects"})


class Marks:
    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.started = time.monotonic()
        # Where writes belong: "ingest", "after-ingest", "derived" or "breach" (for good).
        self.stage = "starting"
        self.stream = ""

    def __call__(self, phase: str, detail: str = "") -> None:
        line = f"{time.monotonic() - self.started:.4f} {phase} {' '.join(detail.split())}\n"
        os.write(self.fd, line.encode())


def _wrap(owner: Any, name: str, before: Callable[..., None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        before(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def install(marks: Marks) -> None:
    import dagster as dg

    from cicl_assets import stream_assets
    from cicl_assets.ingest import runner, spool
    from cicl_assets.landing.zone import LandingZone
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
    from sensors import in_process

    ingest_ops = {a.op.name for a in _ingest_assets()}

    def on_event(instance: Any, event: Any, **_: Any) -> None:
        dagster_event = event.dagster_event
        if dagster_event is not None and dagster_event.event_type_value == "STEP_START":
            step = dagster_event.step_key or ""
            if marks.stage != "breach":
                marks.stage = "ingest" if step in ingest_ops else "derived"
            marks("listing" if marks.stage == "ingest" else marks.stage, f"step {step}")

    _wrap(dg.DagsterInstance, "handle_new_event", on_event)
    _wrap(LandingZone, "list", lambda zone, prefix="": marks("listing", f"list {prefix}"))

    original_outcomes = runner._outcomes

    def outcomes(setup: Any, tasks: Any, workers: int) -> Iterator[Any]:
        marks.stream = setup.stream.name
        marks("parsing", f"{setup.stream.name} {len(tasks)} files")
        yield from original_outcomes(setup, tasks, workers)

    runner._outcomes = outcomes
    _wrap(spool, "records_to_table", lambda spec, rows, source_file: marks("spooling", source_file))

    def stream_done(*args: Any, **kwargs: Any) -> Any:
        report = original_ingest(*args, **kwargs)
        marks.stage = "after-ingest"
        marks("after-ingest", report.stream)
        return report

    original_ingest = stream_assets.ingest_stream
    stream_assets.ingest_stream = stream_done

    def write(verb: str) -> Callable[..., None]:
        def mark(warehouse: Any, spec: Any, *args: Any, **kwargs: Any) -> None:
            if marks.stage != "ingest":
                phase = marks.stage
            elif spec.name in RECORDING_TABLES:
                phase = "recording"
            else:
                phase = "loading"
            of = f" ({marks.stream})" if phase == "recording" else ""
            marks(phase, f"{verb} {spec.name}{of}")

        return mark

    for verb in ("load_parquet", "delete_where_in", "replace_table"):
        _wrap(DuckDBWarehouse, verb, write(verb))

    def breach(*args: Any, **kwargs: Any) -> None:
        marks.stage = "breach"
        marks("breach", "slo_breach_sensor")

    _wrap(in_process, "run_sensor_once", breach)


def _ingest_assets() -> list[Any]:
    """The assets whose op runs ingest_stream: the ingest layer's."""
    import definitions

    return [
        a
        for a in definitions.defs.assets or []
        if any(spec.tags.get("cicl/layer") == "ingest" for spec in getattr(a, "specs", ()))
    ]


def main(argv: list[str]) -> int:
    [marks_path] = argv
    marks = Marks(marks_path)
    marks("starting")
    install(marks)
    cicl = runpy.run_path(str(CICL), run_name="cicl")
    # The summary is printed once the breach sensor's runs are over.
    original_summary = cicl["summary"]

    def summary(warehouse: Any) -> str:
        marks.stage = "summary"
        marks("summary")
        return original_summary(warehouse)

    cicl["run"].__globals__["summary"] = summary
    return cicl["main"](["run"])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
