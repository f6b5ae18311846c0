"""deploy/helm/values-*.yaml validate against the Dagster chart's published values.schema.json
(vendored in deploy/helm/schema with its provenance).

Helm validates the chart's defaults merged with these files; the defaults are not vendored, so
each file is validated as an override: every key and type against the schema, with `required`
left out. The schema's Kubernetes references point at kubernetesjsonschema.dev; offline they
resolve to the Kubernetes definitions kubernetes-validate ships.
"""

import hashlib
import json
from importlib.resources import files

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.unit.deploy.tools import DEPLOY

SCHEMA = DEPLOY / "helm" / "schema" / "values.schema.json"
K8S_DEFINITIONS = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json"
K8S_VERSION = "v1.37.0-local"
ENVIRONMENTS = {"dev": "cicl-dev", "staging": "cicl-staging", "production": "cicl-prod"}


def without_required(node):
    if isinstance(node, dict):
        return {k: without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [without_required(v) for v in node]
    return node


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    shipped = json.loads(
        files("kubernetes_validate")
        .joinpath("kubernetes-json-schema", K8S_VERSION, "_definitions.json")
        .read_text()
    )
    # The chart's references say "#/definitions/...", the shipped file's own say "#/$defs/...".
    definitions = {"definitions": shipped["$defs"], "$defs": shipped["$defs"]}
    registry = Registry().with_resource(K8S_DEFINITIONS, Resource.opaque(definitions))
    schema = without_required(json.loads(SCHEMA.read_text()))
    return Draft7Validator(schema, registry=registry)


def load(env: str) -> dict:
    return yaml.safe_load((DEPLOY / "helm" / f"values-{env}.yaml").read_text())


def errors(validator: Draft7Validator, values: dict) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)
    )


def test_the_vendored_schema_is_the_one_its_provenance_names():
    provenance = (DEPLOY / "helm" / "schema" / "PROVENANCE.md").read_text()
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() in provenance


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_values_validate(validator, env):
    assert errors(validator, load(env)) == []


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_values_run_this_code_location_with_sensors_and_the_k8s_run_launcher(env):
    values = load(env)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["name"] == "cicl"
    assert deployment["codeServerArgs"] == ["-m", "definitions", "--location-name", "cicl"]
    assert deployment["image"]["tag"].split("@")[1].startswith("sha256:")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["enabled"] is True
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    annotation = values["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation == f"cicl-runner@{ENVIRONMENTS[env]}.iam.gserviceaccount.com"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("dagsterDaemon", "runCoordinator", "maxConcurrentRuns"),
            4,
            "dagsterDaemon/runCoordinator: Additional properties are not allowed "
            "('maxConcurrentRuns' was unexpected)",
        ),
        (
            ("runLauncher", "type"),
            "KubernetesRunLauncher",
            "runLauncher/type: 'KubernetesRunLauncher' is not one of",
        ),
        (
            ("dagsterDaemon", "heartbeatTolerance"),
            "300",
            "dagsterDaemon/heartbeatTolerance: '300' is not of type 'integer'",
        ),
        (
            ("dagster-user-deployments", "deployments", 0, "resources", "requests"),
            ["cpu"],
            "dagster-user-deployments/deployments/0/resources/requests: ['cpu'] is not of type 'object'",
        ),
    ],
)
def test_a_wrong_value_is_reported(validator, path, value, expected):
    values = load("production")
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    found = errors(validator, values)
    assert len(found) == 1 and found[0].startswith(expected), found
