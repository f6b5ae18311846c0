"""Scan results -> ci_findings / ci_scans, table-driven over every vuln-scans fixture."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cicl_assets.ci.findings.cvss import cvss3_base_score
from cicl_assets.ci.findings.model import normalise_severity, severity_from_score
from cicl_assets.ci.stream import CI_STREAM
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def parse(data: bytes, source_file: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """Detect through the whole ci stream, as the runner does, then parse."""
    fmt = detect_format(CI_STREAM.formats, Sniff.of(data))
    assert fmt is not None, f"{source_file}: no format recognised it"
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, rows in fmt.parse(data, source_file):
        tables.setdefault(table, []).extend(rows)
    return fmt.name, tables


def parse_fixture(category: str, name: str, run: str = "run-1"):
    return parse((FIXTURES / category / name).read_bytes(), f"ci/{run}/{name}")


def manifest(category: str) -> list[str]:
    with open(FIXTURES / category / "MANIFEST.tsv", newline="") as fh:
        return [row["saved_name"] for row in csv.DictReader(fh, delimiter="\t")]


# (file, format, findings, scans, severities, kinds) — counted by reading each file.
SCANS = [
    ("codeql-sarif__valid-sarif.sarif", "sarif", 3, 2, {"LOW": 2, "MEDIUM": 1}, {"code": 3}),
    ("dd-bandit__one_vuln.json", "bandit-json", 1, 1, {"LOW": 1}, {"code": 1}),
    ("dd-checkov__checkov-report-0-vuln.json", "checkov-json", 0, 1, {}, {}),
    # checkov's summary says failed: 2 but the (anonymised) report lists 3 failed checks
    (
        "dd-checkov__checkov-report-many-vuln.json",
        "checkov-json",
        3,
        1,
        {None: 3},
        {"misconfiguration": 3},
    ),
    (
        "dd-osvscanner__some_findings.json",
        "osv-scanner-json",
        1,
        1,
        {None: 1},
        {"vulnerability": 1},
    ),
    ("dd-pipaudit__empty.json", "pip-audit-json", 0, 1, {}, {}),
    ("dd-pipaudit__many_vulns_new.json", "pip-audit-json", 7, 1, {None: 7}, {"vulnerability": 7}),
    ("dd-sarif-edge__appendix_k1.sarif", "sarif", 0, 1, {}, {}),
    ("dd-sarif-gitleaks__gitleaks_7.5.0.sarif", "sarif", 8, 1, {"MEDIUM": 8}, {"secret": 8}),
    ("dd-sarif-spotbugs__spotbugs.sarif", "sarif", 56, 1, {"LOW": 56}, {"code": 56}),
    ("dd-semgrep__one_finding.json", "semgrep-json", 1, 1, {"MEDIUM": 1}, {"code": 1}),
    ("grype__TestEmptyJsonPresenter.golden", "grype-json", 0, 1, {}, {}),
    ("grype__TestJsonImgsPresenter.golden", "grype-json", 2, 1, {"HIGH": 2}, {"vulnerability": 2}),
    ("trivy-sarif__alpine-310.sarif.golden", "sarif", 4, 1, {"MEDIUM": 4}, {"vulnerability": 4}),
    ("trivy__alpine-310.json.golden", "trivy-json", 4, 1, {"MEDIUM": 4}, {"vulnerability": 4}),
    (
        "trivy__pip.json.golden",
        "trivy-json",
        2,
        1,
        {"HIGH": 1, "MEDIUM": 1},
        {"vulnerability": 2},
    ),
    (
        "trivy__terraform-remote-module.json.golden",
        "trivy-json",
        3,
        1,
        {"LOW": 1, "MEDIUM": 1, "HIGH": 1},
        {"misconfiguration": 3},
    ),
]


def test_every_vuln_scan_fixture_is_in_the_table():
    assert sorted(s[0] for s in SCANS) == sorted(manifest("vuln-scans"))


@pytest.mark.parametrize(("name", "fmt", "n", "scans", "severities", "kinds"), SCANS)
def test_scan_fixture(name, fmt, n, scans, severities, kinds):
    detected, tables = parse_fixture("vuln-scans", name)
    assert detected == fmt
    findings = tables.get("ci_findings", [])
    assert len(findings) == n
    assert Counter(f["severity"] for f in findings) == Counter(severities)
    assert Counter(f["finding_kind"] for f in findings) == Counter(kinds)
    scan_rows = tables["ci_scans"]
    assert len(scan_rows) == scans
    assert sum(s["findings"] for s in scan_rows) == n
    by_sev = Counter()
    for s in scan_rows:
        by_sev.update(
            {
                "CRITICAL": s["critical"],
                "HIGH": s["high"],
                "MEDIUM": s["medium"],
                "LOW": s["low"],
                "INFO": s["info"],
                None: s["unrated"],
            }
        )
    assert +by_sev == Counter(severities)
    for f in findings:
        assert f["pipeline_run_id"] == "run-1"
        assert f["severity"] in {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", None}
        assert len(f["fingerprint"]) == 64
        assert f["scan_id"] in {s["scan_id"] for s in scan_rows}
        if f["raw"]:
            json.loads(f["raw"])


@pytest.mark.parametrize(
    "name",
    [
        "dd-checkov__checkov-report-0-vuln.json",
        "dd-pipaudit__empty.json",
        "dd-sarif-edge__appendix_k1.sarif",
        "grype__TestEmptyJsonPresenter.golden",
    ],
)
def test_an_empty_scan_is_one_scan_row_with_zero_findings(name):
    _, tables = parse_fixture("vuln-scans", name)
    assert tables.get("ci_findings", []) == []
    (scan,) = tables["ci_scans"]
    assert scan["findings"] == scan["open_findings"] == 0
    assert scan["pipeline_run_id"] == "run-1"
    assert (
        scan["tool"]
        == {
            "dd-checkov__checkov-report-0-vuln.json": "checkov",
            "dd-pipaudit__empty.json": "pip-audit",
            "dd-sarif-edge__appendix_k1.sarif": "CodeScanner",
            "grype__TestEmptyJsonPresenter.golden": "grype",
        }[name]
    )


def test_trivy_image_scan_fields():
    _, tables = parse_fixture("vuln-scans", "trivy__alpine-310.json.golden")
    first = tables["ci_findings"][0]
    assert first["rule_id"] == "CVE-2019-1549"
    assert first["package_name"] == "libcrypto1.1"
    assert first["package_type"] == "alpine"
    assert (first["installed_version"], first["fixed_version"]) == ("1.1.1c-r0", "1.1.1d-r0")
    assert first["cvss_score"] == 5.3 and first["severity_source"] == "cvss"
    assert first["location"].startswith("sha256:03901b4a2ea8")  # the layer's DiffID
    assert first["target"] == "testdata/fixtures/images/alpine-310.tar.gz"
    assert first["tool"] == "trivy" and first["tool_version"] == "dev"
    (scan,) = tables["ci_scans"]
    assert scan["scanned_at"].isoformat().startswith("2021-08-25T12:20:30")


def test_a_cvss_number_outranks_the_tools_label():
    _, tables = parse_fixture("vuln-scans", "grype__TestJsonImgsPresenter.golden")
    low_label = next(f for f in tables["ci_findings"] if f["rule_id"] == "CVE-1999-0001")
    assert low_label["tool_severity"] == "Low"
    assert (low_label["severity"], low_label["cvss_score"]) == ("HIGH", 8.2)
    assert low_label["fixed_version"] == "1.2.1, 2.1.3, 3.4.0"
    assert low_label["target"].startswith("user-input@sha256:ca738abb")


def test_sarif_details_per_tool():
    _, trivy = parse_fixture("vuln-scans", "trivy-sarif__alpine-310.sarif.golden")
    f = trivy["ci_findings"][0]
    assert (f["package_name"], f["installed_version"], f["fixed_version"]) == (
        "libcrypto1.1",
        "1.1.1c-r0",
        "1.1.1d-r0",
    )
    assert f["severity_source"] == "security-severity" and f["cvss_score"] == 5.3
    _, spotbugs = parse_fixture("vuln-scans", "dd-sarif-spotbugs__spotbugs.sarif")
    first = spotbugs["ci_findings"][0]
    assert (
        first["description"]
        == "Hard coded reference to an absolute pathname in Boot.main(String[])."
    )
    assert first["location"] == "Boot.java:23" and first["severity_source"] == "sarif-level"
    _, gitleaks = parse_fixture("vuln-scans", "dd-sarif-gitleaks__gitleaks_7.5.0.sarif")
    rules = Counter(f["rule_id"] for f in gitleaks["ci_findings"])
    assert rules == {"AWS Access Key": 6, "Asymmetric Private Key": 2}


def test_secrets_never_reach_the_rows():
    _, tables = parse_fixture("vuln-scans", "dd-sarif-gitleaks__gitleaks_7.5.0.sarif")
    text = json.dumps(tables, default=str)
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert "BEGIN OPENSSH PRIVATE KEY" not in text
    assert "[REDACTED:" in text
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    trivy = {
        "SchemaVersion": 2,
        "ArtifactName": ".",
        "Results": [
            {
                "Target": "deploy/.env",
                "Class": "secret",
                "Secrets": [
                    {
                        "RuleID": "aws-secret-access-key",
                        "Category": "AWS",
                        "Severity": "CRITICAL",
                        "Title": "AWS Secret Access Key",
                        "StartLine": 3,
                        "EndLine": 3,
                        "Code": {"Lines": [{"Number": 3, "Content": f"KEY={secret}"}]},
                        "Match": f"AWS_SECRET_ACCESS_KEY={secret}",
                    }
                ],
            }
        ],
    }
    fmt, rows = parse(json.dumps(trivy).encode(), "ci/run-9/trivy-secrets.json")
    assert fmt == "trivy-json"
    (finding,) = rows["ci_findings"]
    assert finding["finding_kind"] == "secret" and finding["severity"] == "CRITICAL"
    assert finding["location"] == "deploy/.env:3"
    assert secret not in json.dumps(rows, default=str)


def test_fingerprints_are_stable_across_runs_and_parses():
    for name in ("trivy__alpine-310.json.golden", "dd-sarif-spotbugs__spotbugs.sarif"):
        _, a = parse_fixture("vuln-scans", name, run="run-a")
        _, b = parse_fixture("vuln-scans", name, run="run-b")
        assert [f["fingerprint"] for f in a["ci_findings"]] == [
            f["fingerprint"] for f in b["ci_findings"]
        ]
        assert {f["pipeline_run_id"] for f in b["ci_findings"]} == {"run-b"}
    _, trivy = parse_fixture("vuln-scans", "trivy__alpine-310.json.golden")
    assert len({f["fingerprint"] for f in trivy["ci_findings"]}) == 4


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (10, "CRITICAL"),
        (9.0, "CRITICAL"),
        (8.9, "HIGH"),
        (7.0, "HIGH"),
        (6.9, "MEDIUM"),
        (4.0, "MEDIUM"),
        (3.9, "LOW"),
        (0.2, "LOW"),
        (0.1, "INFO"),
        (0, "INFO"),
    ],
)
def test_score_bands(score, band):
    assert severity_from_score(score) == band


def test_severity_precedence():
    assert normalise_severity(cvss=9.8, label="low", sarif_level="note") == (
        "CRITICAL",
        "cvss",
        9.8,
    )
    assert normalise_severity(security_severity="7.5", label="low") == (
        "HIGH",
        "security-severity",
        None,
    )
    assert normalise_severity(label="Moderate", sarif_level="error") == ("MEDIUM", "tool", None)
    assert normalise_severity(label="weird", sarif_level="error") == ("HIGH", "sarif-level", None)
    assert normalise_severity() == (None, None, None)


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H", 8.5),
        ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N", 4.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("AV:N/AC:L/Au:N/C:P/I:N/A:N", None),
    ],
)
def test_cvss3_vectors(vector, score):
    assert cvss3_base_score(vector) == score


def test_other_shapes_of_the_same_tools():
    old_pip_audit = [{"name": "jinja2", "version": "2.4", "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.11.3"], "description": "x"}]}]  # fmt: skip
    fmt, rows = parse(json.dumps(old_pip_audit).encode(), "ci/r/pip-audit.json")
    assert fmt == "pip-audit-json"
    assert rows["ci_findings"][0]["fixed_version"] == "2.11.3"

    checkov = json.loads(
        (FIXTURES / "vuln-scans/dd-checkov__checkov-report-many-vuln.json").read_text()
    )
    empty = json.loads((FIXTURES / "vuln-scans/dd-checkov__checkov-report-0-vuln.json").read_text())
    fmt, rows = parse(json.dumps([checkov, empty]).encode(), "ci/r/checkov.json")
    assert fmt == "checkov-json"
    assert [s["findings"] for s in rows["ci_scans"]] == [3, 0]

    osv = json.loads((FIXTURES / "vuln-scans/dd-osvscanner__some_findings.json").read_text())
    vuln = osv["results"][0]["packages"][0]["vulnerabilities"][0]
    vuln["severity"] = [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    ]
    vuln["affected"][0]["ranges"][0]["events"].append({"fixed": "1.0.1"})
    _, rows = parse(json.dumps(osv).encode(), "ci/r/osv.json")
    (f,) = rows["ci_findings"]
    assert (f["severity"], f["cvss_score"], f["fixed_version"]) == ("CRITICAL", 9.8, "1.0.1")
    assert json.loads(f["aliases"]) == ["GHSA-8348-2q94-ffjx"]


def test_suppressed_and_passing_results():
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "semgrep", "rules": [{"id": "r1"}]}},
                "results": [
                    {"ruleId": "r1", "level": "error", "message": {"text": "a"}},
                    {"ruleId": "r1", "level": "error", "message": {"text": "b"},
                     "suppressions": [{"kind": "inSource"}]},
                    {"ruleId": "r1", "kind": "pass", "message": {"text": "c"}},
                ],
            }
        ],
    }  # fmt: skip
    _, rows = parse(json.dumps(sarif).encode(), "ci/r/x.sarif")
    assert [f["status"] for f in rows["ci_findings"]] == ["open", "suppressed"]
    assert rows["ci_scans"][0]["open_findings"] == 1
    grype = json.loads((FIXTURES / "vuln-scans/grype__TestJsonImgsPresenter.golden").read_text())
    grype["ignoredMatches"] = [grype["matches"].pop()]
    _, rows = parse(json.dumps(grype).encode(), "ci/r/grype.json")
    assert [f["status"] for f in rows["ci_findings"]] == ["open", "suppressed"]


def test_cosign_vuln_predicates():
    fmt, rows = parse_fixture("signatures", "cosign__vuln-predicate.json")
    assert fmt == "cosign-vuln"
    assert rows.get("ci_findings", []) == []
    (scan,) = rows["ci_scans"]
    assert scan["tool"] == "fakescanner.example.com/cosign-testing"
    assert scan["scanned_at"].isoformat() == "2022-04-12T00:10:00+00:00"
    predicate = json.loads((FIXTURES / "signatures/cosign__vuln-predicate.json").read_text())
    predicate["scanner"]["result"] = json.loads(
        (FIXTURES / "vuln-scans/trivy__pip.json.golden").read_text()
    )
    _, rows = parse(json.dumps(predicate).encode(), "ci/r/vuln.att.json")
    assert [f["rule_id"] for f in rows["ci_findings"]] == ["CVE-2019-14806", "CVE-2020-28724"]
    assert rows["ci_scans"][0]["scan_format"] == "cosign-vuln"
    assert rows["ci_scans"][0]["tool"] == "trivy"


def test_broken_input_is_a_parse_error_that_says_where():
    data = (FIXTURES / "vuln-scans/trivy__pip.json.golden").read_bytes()
    fmt = detect_format(CI_STREAM.formats, Sniff.of(data[:3000]))
    assert fmt is not None and fmt.name == "trivy-json"
    with pytest.raises(ParseError, match=r"invalid JSON at line .*truncated"):
        list(fmt.parse(data[:3000], "ci/r/trivy.json"))
    old = data.replace(b'"SchemaVersion": 2', b'"SchemaVersion": 1')
    with pytest.raises(ParseError, match="SchemaVersion 1 is not supported"):
        list(fmt.parse(old, "ci/r/trivy.json"))
    sarif1 = b'{"version": "1.0.0", "runs": []}'
    with pytest.raises(ParseError, match=r"version 1\.0\.0 is not supported"):
        parse(sarif1, "ci/r/old.sarif")


def test_a_huge_report_under_the_cap_parses_whole():
    deps = [
        {"name": f"pkg{i}", "version": "1.0", "vulns": [{"id": f"PYSEC-{i}", "fix_versions": []}]}
        for i in range(100_000)
    ]
    data = json.dumps({"dependencies": deps}).encode()
    assert len(data) < CI_STREAM.max_file_bytes
    _, rows = parse(data, "ci/r/pip-audit.json")
    assert len(rows["ci_findings"]) == 100_000
    assert rows["ci_scans"][0]["findings"] == 100_000
    assert len({f["fingerprint"] for f in rows["ci_findings"]}) == 100_000


def test_warehouse_round_trip(any_warehouse, tmp_path):
    run = tmp_path / "landing" / "ci" / "run-42"
    run.mkdir(parents=True)
    for category, name in [
        ("vuln-scans", "trivy__alpine-310.json.golden"),
        ("vuln-scans", "dd-pipaudit__empty.json"),
        ("vuln-scans", "dd-sarif-gitleaks__gitleaks_7.5.0.sarif"),
        ("sbom", "syft-spdx23__TestSPDXJSONImageEncoder.golden.json"),
        ("sbom", "cdxspec__valid-vulnerability-1.5.json"),
        ("signatures", "slsaverifier-ghagenericv122__binary-linux-amd64-workflow_dispatch.intoto.jsonl"),
    ]:  # fmt: skip
        (run / name).write_bytes((FIXTURES / category / name).read_bytes())
    (run / "truncated.json").write_bytes(b'{"SchemaVersion": 2, "Results": [')
    (run / "mystery.json").write_bytes(b'{"hello": "world", "items": [1, 2]}')
    landing = LandingZone(uri=str(tmp_path / "landing"))

    report = ingest_stream(CI_STREAM, landing, any_warehouse)
    assert (report.files_ingested, report.files_rejected) == (6, 2)
    counts = any_warehouse.query(
        "SELECT tool, COUNT(*) AS n FROM ci_findings WHERE pipeline_run_id = @run GROUP BY tool",
        {"run": "run-42"},
    ).to_pylist()
    assert {r["tool"]: r["n"] for r in counts} == {"trivy": 4, "Gitleaks": 8, "cyclonedx-vex": 1}
    scans = any_warehouse.query("SELECT tool, findings FROM ci_scans ORDER BY tool").to_pylist()
    assert {r["tool"]: r["findings"] for r in scans} == {
        "Gitleaks": 8,
        "cyclonedx-vex": 1,
        "pip-audit": 0,
        "trivy": 4,
    }
    assert any_warehouse.row_count("ci_sbom_components") == 3 + 1
    (att,) = any_warehouse.query(
        "SELECT subject_digest, verification, source_file FROM ci_attestations"
    ).to_pylist()
    assert att == {
        "subject_digest": "sha256:ec8ff1bb40da2a36e3e9113dd7a5dd452c5125f7013e849519c0754b3c9fda89",
        "verification": "unverified: certificate chain not checked against Fulcio root (offline)",
        "source_file": "ci/run-42/"
        "slsaverifier-ghagenericv122__binary-linux-amd64-workflow_dispatch.intoto.jsonl",
    }
    errors = {
        r["source_file"].rsplit("/", 1)[-1]: r["error"]
        for r in any_warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors["truncated.json"].startswith(
        "ci/run-42/truncated.json: trivy-json: Trivy JSON: invalid JSON"
    )
    assert errors["mystery.json"].startswith(
        "ci/run-42/mystery.json: unknown: unrecognised format (expected one of: junit-xml, "
    )
    assert errors["mystery.json"].endswith("""); starts '{"hello": "world", "items": [1, 2]}'""")
    for name in ("sarif", "trivy-json", "cyclonedx-json", "sigstore-bundle", "dsse-envelope"):
        assert name in errors["mystery.json"]
    text = json.dumps(any_warehouse.query("SELECT * FROM ci_findings").to_pylist(), default=str)
    assert "AKIAIOSFODNN7EXAMPLE" not in text

    again = ingest_stream(CI_STREAM, landing, any_warehouse)
    assert again.files_ingested == 0
    assert any_warehouse.row_count("ci_findings") == 13


def test_gitleaks_native_reports_are_redacted():
    secret = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
    v8 = [
        {
            "Description": "GitHub Personal Access Token",
            "StartLine": 12,
            "EndLine": 12,
            "Match": f"token = {secret}",
            "Secret": secret,
            "File": "deploy/config.py",
            "Commit": "a" * 40,
            "RuleID": "github-pat",
            "Fingerprint": f"{'a' * 40}:deploy/config.py:github-pat:12",
        }
    ]
    fmt, rows = parse(json.dumps(v8).encode(), "ci/r/gitleaks.json")
    assert fmt == "gitleaks-json"
    (finding,) = rows["ci_findings"]
    assert (finding["rule_id"], finding["location"]) == ("github-pat", "deploy/config.py:12")
    assert finding["finding_kind"] == "secret"
    v7 = [{"line": f"TOKEN={secret}", "lineNumber": 3, "offender": secret, "rule": "GitHub",
           "file": ".env", "commit": "b" * 40, "tags": "key, GitHub"}]  # fmt: skip
    fmt, rows7 = parse(json.dumps(v7).encode(), "ci/r/gitleaks7.json")
    assert fmt == "gitleaks-json" and rows7["ci_findings"][0]["location"] == ".env:3"
    assert secret not in json.dumps([rows, rows7], default=str)


def test_trivy_suppressed_findings():
    report = json.loads((FIXTURES / "vuln-scans/trivy__pip.json.golden").read_text())
    result = report["Results"][0]
    result["ModifiedFindings"] = [
        {"Type": "vulnerability", "Status": "not_affected", "Source": ".trivyignore",
         "Finding": result["Vulnerabilities"].pop()}
    ]  # fmt: skip
    _, rows = parse(json.dumps(report).encode(), "ci/r/trivy.json")
    assert [(f["rule_id"], f["status"]) for f in rows["ci_findings"]] == [
        ("CVE-2019-14806", "open"),
        ("CVE-2020-28724", "suppressed"),
    ]
