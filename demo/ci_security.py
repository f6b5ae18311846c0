"""Supply-chain artifacts of a CI run: CycloneDX SBOM (syft), Trivy and pip-audit JSON, SARIF
(Semgrep), and a Sigstore bundle holding a DSSE-signed in-toto statement with SLSA provenance."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from demo.history_plan import REPO, CiRun, sha256_of

DEBIAN = (
    ("libc6", "2.36-9+deb12u8"),
    ("libssl3", "3.0.15-1~deb12u1"),
    ("zlib1g", "1:1.2.13.dfsg-1"),
    ("libexpat1", "2.5.0-1"),
    ("ca-certificates", "20230311"),
)
LIBRARIES = {
    "flow-gateway": (
        ("pypi", "fastapi", "0.115.4"),
        ("pypi", "uvicorn", "0.32.0"),
        ("pypi", "pydantic", "2.9.2"),
        ("pypi", "httpx", "0.27.2"),
        ("pypi", "opentelemetry-sdk", "1.28.1"),
    ),
    "tool-worker": (
        ("pypi", "fastapi", "0.115.4"),
        ("pypi", "pypdf", "5.1.0"),
        ("pypi", "requests", "2.32.3"),
        ("pypi", "opentelemetry-sdk", "1.28.1"),
        ("maven", "com.fasterxml.jackson.core/jackson-databind", "2.17.2"),
    ),
    "workflow-runtime": (
        ("cargo", "tokio", "1.41.0"),
        ("cargo", "reqwest", "0.12.9"),
        ("cargo", "serde", "1.0.214"),
        ("cargo", "hyper", "1.5.0"),
        ("cargo", "opentelemetry", "0.26.0"),
    ),
}
CRITICAL_CVE = {
    "VulnerabilityID": "CVE-2024-45490",
    "PkgName": "libexpat1",
    "InstalledVersion": "2.5.0-1",
    "FixedVersion": "2.5.0-1+deb12u1",
    "Title": "libexpat: Negative Length Parsing Vulnerability in libexpat",
    "Severity": "CRITICAL",
    "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 9.8}},
}
# In tool-worker 0.9.3's base image, under a waiver that expires before the release ships.
WAIVED_CRITICAL_CVE = {
    "VulnerabilityID": "CVE-2024-45492",
    "PkgName": "libexpat1",
    "InstalledVersion": "2.5.0-1",
    "FixedVersion": "2.5.0-1+deb12u1",
    "Title": "libexpat: integer overflow in function nextScaffoldPart",
    "Severity": "CRITICAL",
    "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 9.8}},
}
EVERYDAY_CVES = (
    ("CVE-2023-31484", "perl-base", "5.36.0-7+deb12u1", "", "HIGH", 8.1),
    ("CVE-2011-3374", "apt", "2.6.1", "", "LOW", 3.7),
    ("CVE-2022-0563", "util-linux", "2.38.1-5+b1", "", "LOW", 5.5),
)
PIP_AUDIT_VULNS = {
    "pypdf": (
        {
            "id": "GHSA-7hfw-26vp-jp8m",
            "fix_versions": ["5.3.0"],
            "aliases": ["CVE-2025-55197"],
            "description": "pypdf can exhaust RAM on a manipulated FlateDecode stream.",
        },
    )
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _purl(kind: str, name: str, version: str) -> str:
    if kind == "deb":
        return f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"
    return f"pkg:{kind}/{name}@{version}"


def cyclonedx_sbom(run: CiRun) -> bytes:
    """syft <image> -o cyclonedx-json: CycloneDX 1.6 with the image digest as the subject."""
    built = run.stage("build")
    components: list[dict[str, Any]] = []
    for kind, name, version in [("deb", n, v) for n, v in DEBIAN] + list(LIBRARIES[run.service]):
        purl = _purl(kind, name, version)
        components.append(
            {
                "bom-ref": f"{purl}&package-id={sha256_of(purl)[:16]}",
                "type": "library",
                "name": name.rsplit("/", 1)[-1],
                "version": version,
                "purl": purl,
                "properties": [
                    {"name": "syft:package:type", "value": {"pypi": "python"}.get(kind, kind)}
                ],
            }
        )
    components.append(
        {"bom-ref": "os:debian@12", "type": "operating-system", "name": "debian", "version": "12"}
    )
    document = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.UUID(sha256_of('sbom', run.run_id)[:32])}",
        "version": 1,
        "metadata": {
            "timestamp": _iso(built.finished if built else run.started),
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "author": "anchore",
                        "name": "syft",
                        "version": "1.16.0",
                    }
                ]
            },
            "component": {
                "bom-ref": sha256_of("ref", run.digest)[:16],
                "type": "container",
                "name": f"{run.image}:{run.version}",
                "version": run.digest,
            },
        },
        "components": components,
    }
    return _dumps(document)


def trivy_report(run: CiRun) -> bytes:
    """trivy image --format json of the built image."""
    scanned = run.stage("container-scan")
    vulns = []
    for cve, package, installed, fixed, severity, score in EVERYDAY_CVES:
        vulns.append(
            {
                "VulnerabilityID": cve,
                "PkgName": package,
                "InstalledVersion": installed,
                "FixedVersion": fixed,
                "Status": "affected",
                "SeveritySource": "debian",
                "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
                "Severity": severity,
                "CVSS": {"nvd": {"V3Score": score}},
            }
        )
    if run.scan_critical:
        vulns.insert(
            0,
            {
                **CRITICAL_CVE,
                "Status": "fixed",
                "SeveritySource": "nvd",
                "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-45490",
            },
        )
    if run.waived_critical:
        vulns.insert(
            0,
            {
                **WAIVED_CRITICAL_CVE,
                "Status": "fixed",
                "SeveritySource": "nvd",
                "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-45492",
            },
        )
    document = {
        "SchemaVersion": 2,
        "Trivy": {"Version": "0.57.0"},
        "ReportID": str(uuid.UUID(sha256_of("trivy", run.run_id)[:32])),
        "CreatedAt": _iso(scanned.finished) if scanned else _iso(run.started),
        "ArtifactName": f"{run.image}:{run.version}",
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": {"Family": "debian", "Name": "12.8"},
            "ImageID": f"sha256:{sha256_of('config', run.digest)}",
            "RepoTags": [f"{run.image}:{run.version}"],
            "RepoDigests": [f"{run.image}@{run.digest}"],
        },
        "Results": [
            {
                "Target": f"{run.image}:{run.version} (debian 12.8)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": vulns,
            }
        ],
    }
    return _dumps(document)


def semgrep_sarif(run: CiRun, rng: random.Random) -> bytes:
    """semgrep scan --sarif: SAST findings (usually none, sometimes a warning)."""
    rules, results = [], []
    if run.service != "workflow-runtime" and rng.random() < 0.35:
        rule = "python.lang.security.audit.subprocess-shell-true.subprocess-shell-true"
        rules.append(
            {
                "id": rule,
                "name": rule,
                "shortDescription": {"text": "subprocess call with shell=True"},
                "defaultConfiguration": {"level": "warning"},
                "properties": {"tags": ["CWE-78", "security"], "precision": "very-high"},
            }
        )
        results.append(
            {
                "ruleId": rule,
                "level": "warning",
                "message": {"text": "Found 'subprocess' function with 'shell=True'."},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "worker/ocr.py", "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": 57, "startColumn": 9, "endLine": 57},
                        }
                    }
                ],
                "fingerprints": {"matchBasedId/v1": sha256_of(rule, run.commit)},
            }
        )
    document = {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "Semgrep OSS", "semanticVersion": "1.96.0", "rules": rules}
                },
                "automationDetails": {"id": f"semgrep/{run.run_id}/"},
                "results": results,
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": []}],
            }
        ],
    }
    return _dumps(document)


def pip_audit_report(run: CiRun) -> bytes:
    """pip-audit --format json of the service's locked requirements."""
    dependencies = [
        {"name": name, "version": version, "vulns": list(PIP_AUDIT_VULNS.get(name, ()))}
        for kind, name, version in LIBRARIES[run.service]
        if kind == "pypi"
    ]
    return _dumps({"dependencies": dependencies, "fixes": []})


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def provenance_statement(run: CiRun) -> dict[str, Any]:
    built = run.stage("build")
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": run.image, "digest": {"sha256": run.digest.split(":", 1)[1]}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": f"refs/heads/{run.branch}",
                        "repository": f"https://{REPO}",
                        "path": ".github/workflows/release.yml",
                    }
                },
                "internalParameters": {"github": {"event_name": run.trigger}},
                "resolvedDependencies": [
                    {
                        "uri": f"git+https://{REPO}@refs/heads/{run.branch}",
                        "digest": {"gitCommit": run.commit},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                "metadata": {
                    "invocationId": f"https://{REPO}/actions/runs/{run.run_id}",
                    "startedOn": _iso(built.started),
                    "finishedOn": _iso(built.finished),
                },
            },
        },
    }


def sigstore_bundle(run: CiRun, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A Sigstore bundle v0.3 with a DSSE envelope signed by the pipeline's ``key`` (verifiable
    with its public half; deterministic ECDSA, so the same key gives the same bytes)."""
    payload_type = "application/vnd.in-toto+json"
    payload = orjson.dumps(provenance_statement(run))
    signature = key.sign(
        _pae(payload_type, payload), ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    )
    signed_at = run.stage("sign").finished
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": public_key_hint(key.public_key())},
            "tlogEntries": [
                {
                    "logIndex": str(int(sha256_of("tlog", run.run_id)[:8], 16)),
                    "logId": {
                        "keyId": base64.b64encode(hashlib.sha256(b"rekor").digest()).decode()
                    },
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": str(int(signed_at.timestamp())),
                }
            ],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    }
    return _dumps(bundle)


def public_key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def verify_bundle(bundle: dict[str, Any], public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """Check the envelope's signature with the pipeline's public key; return the statement."""
    envelope = bundle["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    public_key.verify(
        base64.b64decode(envelope["signatures"][0]["sig"]),
        _pae(envelope["payloadType"], payload),
        ec.ECDSA(hashes.SHA256()),
    )
    return orjson.loads(payload)
