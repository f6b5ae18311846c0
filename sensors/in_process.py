"""A sensor's batch path: evaluate it once, as the daemon would, and run its requests here.

`make run` uses it for slo_breach_sensor, so the batch path takes the daemon's decision with
the daemon's code instead of a copy of it. The evaluation starts from a cursor the caller gives (or none): what
the sensor must not ask for again is read from the warehouse, not from a cursor only the daemon
keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class LaunchedRun:
    run_key: str | None
    result: dg.ExecuteInProcessResult

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def success(self) -> bool:
        return self.result.success


def _requests(evaluated: Any) -> list[dg.RunRequest]:
    if evaluated is None:
        return []
    if isinstance(evaluated, dg.SensorResult):
        return list(evaluated.run_requests or [])
    if isinstance(evaluated, dg.RunRequest):
        return [evaluated]
    if isinstance(evaluated, Iterable):
        return [r for r in evaluated if isinstance(r, dg.RunRequest)]
    return []


def evaluate_sensor(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None = None
) -> list[dg.RunRequest]:
    """The run requests one tick of sensor ``name`` makes, from ``cursor`` (default empty)."""
    sensor = defs.resolve_sensor_def(name)
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources, cursor=cursor
    )
    return _requests(sensor(context))


def run_sensor_once(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    name: str,
    run_config: dict[str, Any] | None = None,
    cursor: str | None = None,
) -> list[LaunchedRun]:
    """Evaluate sensor ``name`` once and execute each run it requests in this process, in order,
    with ``run_config`` added to each request's (loggers, for instance)."""
    job = defs.resolve_job_def(defs.resolve_sensor_def(name).job_name)
    launched = []
    for request in evaluate_sensor(defs, instance, name, cursor):
        tags = dict(request.tags)
        if request.run_key:
            tags["dagster/run_key"] = request.run_key
        result = job.execute_in_process(
            instance=instance,
            run_config={**(request.run_config or {}), **(run_config or {})},
            tags=tags,
            partition_key=request.partition_key,
            raise_on_error=False,
        )
        launched.append(LaunchedRun(request.run_key, result))
    return launched
