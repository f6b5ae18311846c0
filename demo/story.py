"""The demo's facts, shared by the generator and by tests that must find its stories.

The demo simulates a few days of the workflow platform's traffic and a few weeks of its pipeline
history. Tests assert on these facts (the breach hour, the slow deploy), so they live in one place.
"""

from datetime import UTC, datetime, timedelta

SEED = 20261102

# Traffic window: four days of spans.
TRAFFIC_START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
TRAFFIC_END = TRAFFIC_START + timedelta(days=4)
# Pipeline history window: a few weeks of CI runs, plans, deployments ending with the traffic.
HISTORY_START = TRAFFIC_END - timedelta(days=28)

ENVIRONMENT = "production"
SERVICES = ("flow-gateway", "workflow-runtime", "tool-worker")
PROVIDERS = {
    # provider name (gen_ai.provider.name) -> model, typical latency ms, error rate, $ per 1k tokens
    "openai": {"model": "gpt-4.1", "latency_ms": 1800, "error_rate": 0.010},
    "anthropic": {"model": "claude-sonnet-4", "latency_ms": 2200, "error_rate": 0.006},
    "gcp.gemini": {"model": "gemini-2.5-pro", "latency_ms": 1500, "error_rate": 0.015},
}
WORKFLOWS = ("invoice-triage", "support-reply", "code-review", "contract-summary")

# Story 1: a deploy of workflow-runtime makes one provider's calls markedly slower.
SLOW_DEPLOY_AT = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
SLOW_DEPLOY_SERVICE = "workflow-runtime"
SLOW_DEPLOY_VERSION_BEFORE = "1.7.3"
SLOW_DEPLOY_VERSION_AFTER = "1.8.0"
SLOW_PROVIDER = "anthropic"
SLOW_FACTOR = 2.5  # p50 latency of that provider's calls after the deploy vs before

# Story 2: one hour where one workflow's error rate breaches its SLO.
BREACH_WORKFLOW = "invoice-triage"
BREACH_START = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)
BREACH_END = BREACH_START + timedelta(hours=1)
BREACH_ERROR_RATE = 0.35  # share of that workflow's runs failing during the breach hour
BREACH_PROVIDER = "gcp.gemini"  # the failing calls go to this provider (rate limited)

# Versions of the services that do not change during the traffic window.
GATEWAY_VERSION = "2.4.1"
TOOL_WORKER_VERSION = "0.9.3"

# Pipeline history facts (ci/, deployments/, infra/, audit/).
FAILED_SCAN_RUN_ID = "gw-2026-10-19-1120"  # container scan found a CRITICAL CVE; nothing deployed
FAILED_SCAN_CVE = "CVE-2024-45490"
UNSIGNED_RUN_ID = "tw-2026-10-26-1040"  # promoted to staging although the sign stage was skipped
UNSIGNED_IMAGE_DIGEST = "sha256:9370c8f1d300d665e0c6b0189209798257998bce2e14c4a27d86cec0e7988061"
ROLLED_BACK_DEPLOYMENT_ID = "dep-prod-0003"  # tool-worker 0.9.2 in production, failed health check
ROLLBACK_DEPLOYMENT_ID = "dep-prod-0004"  # back to tool-worker 0.9.1 (rollback_of the one above)
SLOW_DEPLOY_DEPLOYMENT_ID = "dep-prod-0009"  # workflow-runtime SLOW_DEPLOY_VERSION_AFTER
# Compliance stories (deployment_evidence and rollback_checks, docs/compliance.md). tool-worker
# 0.9.3's scan reports a CRITICAL its waiver covered until 2026-10-26: the release ships a day
# after. The 0.9.4 hotfix ships on a Friday, outside every change window, fails its health check,
# and is rolled back to 0.9.3, whose deploy had failed its gate: not a known-good digest.
EXPIRED_WAIVER_DEPLOYMENT_ID = "dep-prod-0007"
EXPIRED_WAIVER_CVE = "CVE-2024-45492"
OUT_OF_WINDOW_DEPLOYMENT_ID = "dep-prod-0010"
NOT_KNOWN_GOOD_ROLLBACK_ID = "dep-prod-0011"
KNOWN_GOOD_ROLLBACK_ID = ROLLBACK_DEPLOYMENT_ID  # back to 0.9.1, whose deploy passed
# The production deploys whose gate fails: those above and the rolled-back 0.9.2.
FAILING_GATE_DEPLOYMENT_IDS = (
    ROLLED_BACK_DEPLOYMENT_ID,
    EXPIRED_WAIVER_DEPLOYMENT_ID,
    OUT_OF_WINDOW_DEPLOYMENT_ID,
    NOT_KNOWN_GOOD_ROLLBACK_ID,
)
FLAKY_TESTS = (
    "com.coditect.tools.erp.VendorLookupClientTest.retriesOnTimeout",  # Surefire flakyFailure
    "providers::pool::tests::reuses_connections",  # nextest flakyFailure
)
FAILING_TEST = "tests/unit/test_router.py::test_priority_queue_preserves_order"  # fails 3 runs
DRIFTED_ENVIRONMENT = "production"
DRIFTED_RESOURCE = "google_container_node_pool.primary"  # resized by hand, drift from 10-30
FAILED_APPLY_ENVIRONMENT = "production"  # the 2026-10-22 apply stops on a GPU quota error

# Story 3: the same workflow-runtime release ships a new prompt template for support-reply's
# draft step; from then on that workflow's evaluation scores and user ratings fall.
TEMPLATE_CHANGE_AT = SLOW_DEPLOY_AT
TEMPLATE_CHANGE_WORKFLOW = "support-reply"
TEMPLATE_CHANGE = (
    "workflows/support-reply.yaml: draft-reply prompt template v7 -> v8 "
    "(shorter system prompt, drops the retrieved-context citation rule)"
)
# ... and a third of its runs log this ERROR from then on (a failure mode the deploy starts).
TEMPLATE_ERROR = "draft-reply template v8: no citation for retrieved context"
TEMPLATE_ERROR_SIGNATURE = "ERROR: draft-reply template v8: no citation for retrieved context <id>"
EVALUATION_NAME = "relevance"
EVALUATED_SHARE = 0.3  # of successful LLM calls, scored by the evaluator service
RATED_SHARE = 0.08  # of workflow runs, rated by the person who ran them
QUALITY_BEFORE = 0.86  # mean relevance (and chance of a thumbs up)
QUALITY_AFTER_TEMPLATE_CHANGE = 0.52
