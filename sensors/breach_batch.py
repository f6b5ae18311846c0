"""The batch path of SLO breaches: `make run` launches the CL evaluations a sensor would.

The same ``decide_breach_runs`` as slo_breach_sensor, over all of slo_status at once; a breach
whose run_key already has a run in the instance is not run again, so running the batch twice
launches nothing new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg

from cicl_assets.learning.breach import (
    CL_EVALUATION_JOB,
    audit_trigger,
    decide_breach_runs,
    read_status_rows,
)
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow


def _already_run(instance: dg.DagsterInstance, run_key: str) -> bool:
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={"cicl/breach_key": run_key}), limit=1
    )
    return bool(records)


def evaluate_breaches_once(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    *,
    cooldown: timedelta | None = None,
    max_runs: int | None = None,
    log: Any = None,
) -> list[str]:
    """Run ``cl_evaluation`` in process for each breach slo_status shows; returns the run ids.

    ``cooldown`` defaults to the sensor's: the cicl_config resource's (12 hours unless set).
    ``max_runs`` caps the runs of one call (oldest breaches first); the rest run next time.
    """
    # Outside a run: the resource's EnvVar fields (the signing key) are resolved here.
    cicl_config = defs.resources["cicl_config"].process_config_and_initialize()
    cooldown = cicl_config.slo_breach_cooldown if cooldown is None else cooldown
    runs, _ = decide_breach_runs(read_status_rows(warehouse), None, utcnow(), cooldown)
    job = defs.resolve_job_def(CL_EVALUATION_JOB)
    launched: list[str] = []
    for run in runs:
        if max_runs is not None and len(launched) >= max_runs:
            break
        if _already_run(instance, run.run_key):
            continue
        result = job.execute_in_process(
            instance=instance,
            run_config=run.run_config(),
            tags={**run.tags(), "dagster/run_key": run.run_key},
            raise_on_error=False,
        )
        audit_trigger(
            warehouse,
            run,
            result.run_id,
            actor="cicl-batch",
            notary=cicl_config.chain_notary(warehouse),
        )
        if log:
            state = "succeeded" if result.success else "FAILED"
            log(f"{run.run_key}: cl_evaluation run {result.run_id} {state}")
        launched.append(result.run_id)
    return launched
