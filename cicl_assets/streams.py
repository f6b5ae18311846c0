"""Every landing-zone stream cicl ingests, each declared once in its domain."""

from cicl_assets.audit.assets import AUDIT
from cicl_assets.ci.assets import CI
from cicl_assets.deployments.assets import DEPLOYMENT_EVENTS_STREAM
from cicl_assets.feedback.assets import FEEDBACK
from cicl_assets.infra.assets import INFRA
from cicl_assets.slo.assets import SLO_REPORTS_STREAM
from cicl_assets.stream_assets import DeclaredStream
from cicl_assets.telemetry.assets import OTEL

DECLARED_STREAMS: tuple[DeclaredStream, ...] = (
    OTEL,
    CI,
    INFRA,
    DEPLOYMENT_EVENTS_STREAM,
    AUDIT,
    SLO_REPORTS_STREAM,
    FEEDBACK,
)
