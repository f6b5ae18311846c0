"""deploy/k8s overlays render with `kubectl kustomize` and validate offline with
kubernetes-validate against a recent Kubernetes, strictly (unknown fields are errors)."""

import re

import pytest
import yaml

from tests.unit.deploy.tools import DEPLOY, kubectl, run, venv_tool

K8S_VERSION = "1.37.0"
DIGEST_IMAGE = re.compile(r"^us-docker\.pkg\.dev/[a-z0-9-]+/cicl/cicl@sha256:[0-9a-f]{64}$")
PROJECTS = {"dev": "cicl-dev", "staging": "cicl-staging", "production": "cicl-prod"}


@pytest.fixture(scope="module")
def rendered_files(tmp_path_factory) -> dict[str, str]:
    out = {}
    folder = tmp_path_factory.mktemp("overlays")
    for env in PROJECTS:
        result = run([kubectl(), "kustomize", str(DEPLOY / "k8s" / "overlays" / env)])
        assert result.returncode == 0, result.stderr
        out[env] = folder / f"{env}.yaml"
        out[env].write_text(result.stdout)
    return out


@pytest.fixture(scope="module")
def rendered(rendered_files) -> dict[str, list[dict]]:
    return {
        env: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for env, path in rendered_files.items()
    }


def validate(*paths) -> tuple[int, list[str]]:
    """kubernetes-validate, strictly (unknown fields are errors), in one process for all files."""
    result = run(
        [venv_tool("kubernetes-validate"), "--strict", "-k", K8S_VERSION, *map(str, paths)]
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def one(docs: list[dict], kind: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def test_every_rendered_resource_validates(rendered_files):
    code, lines = validate(*rendered_files.values())
    assert code == 0, lines
    passed = sorted(
        line.split(" for resource ")[1].split(" against")[0] for line in lines if " passed " in line
    )
    base = [
        "configmap/cicl-env",
        "deployment/cicl",
        "namespace/cicl-{}",
        "poddisruptionbudget/cicl",
        "service/cicl",
        "serviceaccount/cicl",
    ]
    expected = [name.format(env) for env in PROJECTS for name in base] + ["networkpolicy/cicl"]
    assert passed == sorted(expected)


def test_an_unknown_field_fails_validation(rendered, tmp_path):
    deployment = one(rendered["dev"], "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(deployment))
    code, lines = validate(path)
    assert code != 0
    assert any("imagePullPolcy" in line for line in lines), lines


@pytest.mark.parametrize("env", sorted(PROJECTS))
def test_the_code_location_runs_by_digest_as_its_workload_identity(rendered, env):
    docs = rendered[env]
    assert {d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs} == {f"cicl-{env}"}
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert DIGEST_IMAGE.match(container["image"]), container["image"]
    env_vars = {e["name"]: e["value"] for e in container["env"]}
    assert env_vars["DAGSTER_CURRENT_IMAGE"] == container["image"]
    assert set(container["resources"]["requests"]) == {"cpu", "memory", "ephemeral-storage"}
    assert pod["serviceAccountName"] == "cicl"
    account = one(docs, "ServiceAccount")
    project = PROJECTS[env]
    assert account["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": f"cicl-runner@{project}.iam.gserviceaccount.com"
    }
    settings = one(docs, "ConfigMap")["data"]
    assert settings["CICL_WAREHOUSE"] == "bigquery"
    assert settings["CICL_BQ_PROJECT"] == project
    assert settings["CICL_SIGNING_KEY"] == (
        f"gcp-sm://projects/{project}/secrets/cicl-signing-key/versions/latest"
    )
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize(
    ("env", "enforce", "replicas", "cpu"),
    [
        ("dev", "baseline", 1, "250m"),
        ("staging", "baseline", 1, "250m"),
        ("production", "restricted", 2, "1"),
    ],
)
def test_production_enforces_pod_security_and_admits_only_dagster(
    rendered, env, enforce, replicas, cpu
):
    docs = rendered[env]
    labels = one(docs, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == enforce
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == replicas
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        == cpu
    )
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    if env != "production":
        assert policies == []
        return
    (policy,) = policies
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 4000}]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "dagster"
    }
