"""The `infra` ingest stream: plans, plan texts, apply logs, drift checks under infra/<env>/."""

from cicl_assets.infra import apply_logs, drift, plans, readable
from cicl_assets.infra.tables import (
    INFRA_APPLY_LOGS,
    INFRA_DRIFT_CHECKS,
    INFRA_DRIFT_OBSERVATIONS,
    INFRA_PLAN_ARTIFACTS,
    INFRA_PLAN_CHANGES,
    INFRA_PLAN_CHECKS,
    INFRA_PLANS,
)
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec

# Apply logs before plan texts: an interactive apply log starts with the plan text.
INFRA_FORMATS = (
    FileFormat("cicl.drift_check/v1", drift.detect_drift_check, drift.parse_drift_check),
    FileFormat("tofu-show-json-plan", plans.detect_plan, plans.parse_plan),
    FileFormat("tofu-binary-plan", plans.detect_binary_plan, plans.parse_binary_plan),
    FileFormat("tofu-apply-log", apply_logs.detect_apply_log, apply_logs.parse_apply_log),
    FileFormat("tofu-plan-readable", readable.detect_plan_readable, readable.parse_plan_readable),
)

INFRA_STREAM_TABLES = (
    INFRA_PLANS,
    INFRA_PLAN_CHANGES,
    INFRA_PLAN_CHECKS,
    INFRA_PLAN_ARTIFACTS,
    INFRA_APPLY_LOGS,
    INFRA_DRIFT_CHECKS,
    INFRA_DRIFT_OBSERVATIONS,
)

INFRA_STREAM = StreamSpec(
    name="infra", prefix="infra", formats=INFRA_FORMATS, tables=INFRA_STREAM_TABLES
)
