"""The secret corpus of the ci stream (``ci/<pipeline_run_id>/``): JUnit output, coverage,
CycloneDX and SPDX SBOMs, Trivy, Gitleaks (JSON and SARIF) and pip-audit reports, in-toto
statements and DSSE envelopes, pipeline run records; each secret ``MKQ<series><nn>``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.integration.secret_corpus_streams import FIXTURES, m, straddling

SHA = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"
DIGEST = "b2" * 32


def junit() -> str:
    return (
        '<testsuites><testsuite name="api" tests="2" failures="1">'
        f'<properties><property name="CI_JOB_TOKEN" value="{m(20, 1)}"/></properties>'
        '<testcase name="login" classname="api.Auth" time="0.1">'
        f'<failure message="{straddling(1024, 20, 7, "expected 200 ")}" type="AssertionError">'
        f"POST /login password={m(20, 2)}\n{straddling(8192, 20, 8)}</failure>"
        f"<system-out>export GITHUB_TOKEN={m(20, 3)}\nconnecting to "
        f"postgres://app:{m(20, 4)}@db:5432/app</system-out>"
        f"<system-err>Authorization: Bearer {m(20, 5, 'abcdefgh')}</system-err>"
        "</testcase>"
        '<testcase name="list" classname="api.Items" time="0.2">'
        f"<system-out>GET https://api.example.com/items?api_key={m(20, 6)}</system-out>"
        "</testcase></testsuite></testsuites>"
    )


def cobertura() -> str:
    return (
        '<?xml version="1.0" ?>\n<coverage branch-rate="0.5" line-rate="0.8" '
        'lines-covered="4" lines-valid="5" timestamp="1793000000000" version="7.4.0">'
        f"<sources><source>https://ci:{m(21, 1)}@git.example.com/app/src</source></sources>"
        '<packages><package name="app" line-rate="0.8" branch-rate="0.5">'
        '<classes><class name="auth.py" filename="auth.py" line-rate="0.8" branch-rate="0.5">'
        '<methods/><lines><line hits="1" number="1"/><line hits="0" number="2"/></lines>'
        "</class></classes></package></packages></coverage>"
    )


def lcov() -> str:
    return (
        f"TN:api_key={m(21, 2)}\nSF:/builds/app/src/app.py?token={m(21, 3)}\n"
        "DA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\n"
    )


def cyclonedx() -> dict:
    purl = f"pkg:pypi/internal-lib@1.0?repository_url=https://ci:{m(22, 1)}@pypi.example.com"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b80",
        "version": 1,
        "metadata": {
            "timestamp": "2026-10-26T08:00:00Z",
            "tools": {"components": [{"type": "application", "name": "syft", "version": "1.0"}]},
            "component": {"type": "container", "name": "gateway", "version": "2.0.0"},
            "properties": [{"name": "cdx:ci:GITHUB_TOKEN", "value": m(22, 2)}],
        },
        "components": [
            {
                "type": "library",
                "bom-ref": "internal-lib",
                "name": "internal-lib",
                "version": "1.0",
                "purl": purl,
                "supplier": {"name": f"Acme password={m(22, 3)}"},
                "properties": [{"name": "npm:auth_token", "value": m(22, 4)}],
                "externalReferences": [
                    {"type": "distribution", "url": f"https://u:{m(22, 5)}@pypi.example.com/x"}
                ],
            }
        ],
        "annotations": [
            {
                "subjects": ["internal-lib"],
                "annotator": {"component": {"type": "application", "name": "scanner"}},
                "timestamp": "2026-10-26T08:00:00Z",
                "text": f"found api_key={m(22, 6)} in the wheel",
            }
        ],
    }


def spdx() -> dict:
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "gateway",
        "documentNamespace": "https://example.com/spdx/gateway-1",
        "creationInfo": {
            "created": "2026-10-26T08:00:00Z",
            "creators": ["Tool: syft-1.0"],
            "comment": f"built with NPM_TOKEN={m(23, 1)}",
        },
        "packages": [
            {
                "name": "internal-lib",
                "SPDXID": "SPDXRef-Package-internal-lib",
                "versionInfo": "1.0",
                "supplier": "Organization: Acme",
                "downloadLocation": f"git+https://ci:{m(23, 2)}@git.example.com/lib.git",
                "licenseConcluded": "MIT",
                "licenseDeclared": "MIT",
                "sourceInfo": f"acquired with token={m(23, 3)}",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:pypi/internal-lib@1.0"
                        f"?repository_url=https://ci:{m(23, 4)}@pypi.example.com",
                    }
                ],
                "annotations": [
                    {
                        "annotator": "Tool: scanner",
                        "annotationDate": "2026-10-26T08:00:00Z",
                        "annotationType": "REVIEW",
                        "comment": f"secret: {m(23, 5)}",
                    }
                ],
            }
        ],
        "annotations": [
            {
                "annotator": "Person: ana",
                "annotationDate": "2026-10-26T08:00:00Z",
                "annotationType": "OTHER",
                "comment": f"Authorization: Basic {m(23, 6, 'abcdefgh')}",
            }
        ],
    }


def trivy() -> dict:
    secret = m(24, 1, "abcdefghijklmnop")
    return {
        "SchemaVersion": 2,
        "CreatedAt": "2026-10-26T08:00:00Z",
        "ArtifactName": "gateway",
        "ArtifactType": "filesystem",
        "Results": [
            {
                "Target": "app/.env",
                "Class": "secret",
                "Secrets": [
                    {
                        "RuleID": "generic-api-key",
                        "Category": "Generic",
                        "Severity": "HIGH",
                        "Title": "Generic API key",
                        "StartLine": 3,
                        "EndLine": 3,
                        "Code": {
                            "Lines": [
                                {
                                    "Number": 3,
                                    "Content": f"SERVICE_CRED={secret}",
                                    "IsCause": True,
                                    "Highlighted": f"SERVICE_CRED={secret}",
                                }
                            ]
                        },
                        "Match": f"SERVICE_CRED={secret}",
                    }
                ],
            }
        ],
    }


def gitleaks_json() -> list:
    return [
        {
            "Description": "Generic API Key",
            "StartLine": 4,
            "EndLine": 4,
            "StartColumn": 10,
            "EndColumn": 40,
            "Match": f"SERVICE_CRED = '{m(25, 1)}'",
            "Secret": m(25, 1),
            "File": "config/settings.py",
            "Commit": SHA,
            "Entropy": 4.1,
            "Author": "ana",
            "Email": "ana@example.com",
            "Date": "2026-10-25T10:00:00Z",
            "Message": f"add settings (was {m(25, 1)})",
            "Tags": [],
            "RuleID": "generic-api-key",
            "Fingerprint": f"{SHA}:config/settings.py:generic-api-key:4",
        }
    ]


def gitleaks_sarif() -> dict:
    doc = json.loads(
        (FIXTURES / "vuln-scans" / "dd-sarif-gitleaks__gitleaks_7.5.0.sarif").read_text()
    )
    result = doc["runs"][0]["results"][0]
    offender = result["properties"]["offender"]
    secret = m(26, 1)
    result["properties"]["offender"] = secret
    result["properties"]["commitMessage"] = f"oops: committed {secret}"
    region = result["locations"][0]["physicalLocation"]["region"]
    region["snippet"]["text"] = region["snippet"]["text"].replace(offender, secret)
    result["message"]["text"] = f"AWS Access Key secret detected: {secret}"
    doc["runs"][0]["results"] = [result]
    return doc


def pip_audit() -> dict:
    return {
        "dependencies": [
            {
                "name": "internal-lib",
                "version": "1.0",
                "vulns": [
                    {
                        "id": "PYSEC-2026-1",
                        "fix_versions": ["1.1"],
                        "aliases": ["CVE-2026-0001"],
                        "description": f"logs the client_secret={m(27, 1)} it was given",
                    },
                    {
                        "id": "PYSEC-2026-2",
                        "fix_versions": ["1.2"],
                        "aliases": [],
                        "description": straddling(1999, 27, 2, "an example request: "),
                    },
                ],
            }
        ],
        "fixes": [],
    }


def semgrep() -> dict:
    doc = json.loads((FIXTURES / "vuln-scans" / "dd-semgrep__one_finding.json").read_text())
    doc["results"][0]["extra"]["lines"] = straddling(300, 27, 3, 'client.auth("')
    return doc


def statement(series: int) -> dict:
    """An in-toto v1 statement of SLSA v1 provenance whose predicate holds secrets."""
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "gateway", "digest": {"sha256": DIGEST}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://example.com/build/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/heads/main",
                        "repository": f"https://x-access-token:{m(series, 1)}@github.com/o/r",
                        "path": ".github/workflows/build.yml",
                    },
                    "inputs": {"deploy_token": m(series, 2)},
                },
                "internalParameters": {"env": {"NPM_TOKEN": m(series, 3)}},
                "resolvedDependencies": [
                    {
                        "uri": f"git+https://ci:{m(series, 4)}@github.com/o/r@refs/heads/main",
                        "digest": {"gitCommit": SHA},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": f"https://ci.example.com/builder?token={m(series, 5)}"},
                "metadata": {"invocationId": f"run-1?sig={m(series, 6)}"},
            },
        },
    }


def dsse(series: int) -> dict:
    payload = base64.b64encode(json.dumps(statement(series)).encode()).decode()
    return {
        "payloadType": "application/vnd.in-toto+json",
        "payload": payload,
        "signatures": [{"keyid": "", "sig": base64.b64encode(b"not a signature").decode()}],
    }


def ci_run() -> dict:
    return {
        "kind": "cicl.ci_run/v1",
        "pipeline_run_id": "run-secrets",
        "pipeline": "build",
        "repo": f"https://ci:{m(30, 1)}@git.example.com/o/r",
        "commit": SHA,
        "branch": "main",
        "trigger": "push",
        "status": "failed",
        "started_at": "2026-10-26T08:00:00Z",
        "finished_at": "2026-10-26T08:10:00Z",
        "actor": "ana",
        "url": f"https://ci.example.com/runs/1?access_token={m(30, 2)}",
        "image": {"name": "gateway", "tag": f"token={m(30, 3)}"},
        "stages": [{"name": "test", "status": "failed"}],
    }


def write_ci(root: Path) -> None:
    folder = root / "ci" / "run-secrets"
    folder.mkdir(parents=True)
    files = {
        "junit.xml": junit(),
        "coverage.xml": cobertura(),
        "lcov.info": lcov(),
        "bom.cdx.json": json.dumps(cyclonedx()),
        "bom.spdx.json": json.dumps(spdx()),
        "trivy.json": json.dumps(trivy()),
        "gitleaks.json": json.dumps(gitleaks_json()),
        "gitleaks.sarif": json.dumps(gitleaks_sarif()),
        "pip-audit.json": json.dumps(pip_audit()),
        "semgrep.json": json.dumps(semgrep()),
        "provenance.intoto.json": json.dumps(statement(28)),
        "provenance.dsse.json": json.dumps(dsse(29)),
        "run.json": json.dumps(ci_run()),
    }
    for name, text in files.items():
        (folder / name).write_text(text)
