"""The `deployments` ingest stream: deployment records of every provider under deployments/."""

from cicl_assets.delivery import pushes
from cicl_assets.delivery.tables import COMMIT_PUSHES
from cicl_assets.deployments import cloudbuild, native, webhooks
from cicl_assets.deployments.tables import DEPLOYMENT_EVENTS
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec

# CI webhooks (workflow_run, GitLab pipeline/job) land here beside deployment hooks: they hold no
# deployment, so they are skipped by name rather than expected. Push hooks feed commit_pushes.
CI_WEBHOOK_WITHOUT_DEPLOYMENT = FileFormat(
    "ci-webhook-without-deployment",
    webhooks.detect_ci_webhook_without_deployment,
    webhooks.parse_ci_webhook_without_deployment,
)
# deployment_status payloads also hold a "deployment" object: they are tried first.
DEPLOYMENT_FORMATS = (
    FileFormat(
        "cicl.deployment/v1",
        native.detect_native,
        native.parse_native,
        look_alikes=(CI_WEBHOOK_WITHOUT_DEPLOYMENT,),
    ),
    FileFormat(
        "github-deployment_status",
        webhooks.detect_github_deployment_status,
        webhooks.parse_github,
    ),
    FileFormat("github-deployment", webhooks.detect_github_deployment, webhooks.parse_github),
    FileFormat(
        "gitlab-deployment", webhooks.detect_gitlab_deployment, webhooks.parse_gitlab_deployment
    ),
    FileFormat("cloudbuild-build", cloudbuild.detect_cloudbuild, cloudbuild.parse_cloudbuild),
    FileFormat("github-push", pushes.detect_github_push, pushes.parse_github_push),
    FileFormat("gitlab-push", pushes.detect_gitlab_push, pushes.parse_gitlab_push),
)

DEPLOYMENTS_STREAM = StreamSpec(
    name="deployments",
    prefix="deployments",
    formats=DEPLOYMENT_FORMATS,
    tables=(DEPLOYMENT_EVENTS, COMMIT_PUSHES),
)
