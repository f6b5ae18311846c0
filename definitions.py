"""The one place the cicl code location's Definitions are built."""

import dagster as dg

from cicl_assets.audit import assets as audit
from cicl_assets.candidates import assets as candidates
from cicl_assets.ci import assets as ci
from cicl_assets.compliance import assets as compliance
from cicl_assets.delivery import assets as delivery
from cicl_assets.deployments import assets as deployments
from cicl_assets.feedback import assets as feedback
from cicl_assets.infra import assets as infra
from cicl_assets.learning import assets as learning
from cicl_assets.learning.failure_modes import assets as failure_modes
from cicl_assets.learning.flaky import assets as flaky
from cicl_assets.learning.routing import assets as routing
from cicl_assets.release import assets as release
from cicl_assets.resources import build_resources
from cicl_assets.review import assets as review
from cicl_assets.slo import assets as slo
from cicl_assets.telemetry import assets as telemetry
from jobs import ALL_JOBS, ALL_SCHEDULES
from sensors import ALL_SENSORS

DOMAINS = (
    telemetry,
    ci,
    infra,
    deployments,
    delivery,
    audit,
    compliance,
    slo,
    feedback,
    learning,
    flaky,
    failure_modes,
    routing,
    candidates,
    review,
    release,
)

defs = dg.Definitions(
    assets=[a for d in DOMAINS for a in d.ASSETS],
    asset_checks=[c for d in DOMAINS for c in d.CHECKS],
    jobs=ALL_JOBS,
    schedules=ALL_SCHEDULES,
    sensors=ALL_SENSORS,
    resources=build_resources(),
    executor=dg.in_process_executor,
)
