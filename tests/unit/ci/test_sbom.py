"""SBOMs -> ci_sbom_components (and CycloneDX VEX -> ci_findings), over every sbom fixture."""

from __future__ import annotations

import json

import pytest

from cicl_assets.ci.sbom.formats import parse_cyclonedx, parse_spdx
from cicl_assets.ingest.content import ParseError
from tests.unit.ci.test_findings import FIXTURES, manifest, parse, parse_fixture

DIGEST_2731 = "sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368"

# (file, format, components, spec version, subject name, subject digest, findings) — read by hand.
SBOMS = [
    ("cdxspec__valid-bom-1.6.json", "cyclonedx-json", 3, "1.6", "Acme Application", None, 0),
    ("cdxspec__valid-vulnerability-1.5.json", "cyclonedx-json", 1, "1.5", None, None, 1),
    (
        "syft-cdx15__TestCycloneDxImageEncoder.golden.json",
        "cyclonedx-json",
        3,
        "1.5",
        "user-image-input",
        None,
        0,
    ),
    (
        "syft-cdx16__TestCycloneDxImageEncoder.golden.json",
        "cyclonedx-json",
        3,
        "1.6",
        "user-image-input",
        None,
        0,
    ),
    (
        "syft-spdx22__TestSPDX22JSONRequredProperties.golden.json",
        "spdx-json",
        3,
        "2.2",
        "unknown",
        None,
        0,
    ),
    (
        "syft-spdx23__TestSPDXJSONImageEncoder.golden.json",
        "spdx-json",
        3,
        "2.3",
        "user-image-input",
        DIGEST_2731,
        0,
    ),
]


def test_every_sbom_fixture_is_in_the_table():
    assert sorted(s[0] for s in SBOMS) == sorted(manifest("sbom"))


@pytest.mark.parametrize(("name", "fmt", "n", "spec", "subject", "digest", "findings"), SBOMS)
def test_sbom_fixture(name, fmt, n, spec, subject, digest, findings):
    detected, tables = parse_fixture("sbom", name)
    assert detected == fmt
    rows = tables["ci_sbom_components"]
    assert len(rows) == n
    for row in rows:
        assert row["pipeline_run_id"] == "run-1"
        assert row["sbom_format"] == fmt.split("-")[0]
        assert (row["spec_version"], row["subject_name"], row["subject_digest"]) == (
            spec,
            subject,
            digest,
        )
    assert len(tables.get("ci_findings", [])) == findings


def test_cyclonedx_component_fields():
    _, tables = parse_fixture("sbom", "cdxspec__valid-bom-1.6.json")
    rows = {r["name"]: r for r in tables["ci_sbom_components"]}
    assert json.loads(rows["tomcat-catalina"]["licenses"]) == ["Apache-2.0"]
    assert json.loads(rows["mylibrary"]["licenses"]) == [
        "EPL-2.0 OR GPL-2.0-with-classpath-exception"
    ]
    assert json.loads(rows["myframework"]["licenses"]) == ["Some random license"]
    lib = rows["mylibrary"]
    assert (lib["component_group"], lib["version"], lib["scope"]) == (
        "org.example",
        "1.0.0",
        "required",
    )
    assert lib["supplier"] == "Example, Inc."
    assert lib["cpe"] == "cpe:/a:example:myapplication:1.0.0"
    assert lib["component_ref"] == "pkg:maven/com.example/myapplication@1.0.0?packaging=war"
    assert json.loads(lib["hashes"])["SHA-256"].startswith("708f1f53")
    assert (lib["tool_name"], lib["tool_version"]) == ("Awesome Tool", "9.1.2")
    assert lib["sbom_created_at"].isoformat() == "2020-04-13T20:20:39+00:00"
    assert rows["myframework"]["component_type"] == "framework"


def test_syft_image_sbom_types_and_tool():
    _, tables = parse_fixture("sbom", "syft-cdx16__TestCycloneDxImageEncoder.golden.json")
    rows = tables["ci_sbom_components"]
    assert [r["component_type"] for r in rows] == ["library", "library", "operating-system"]
    assert rows[1]["purl"] == "pkg:deb/debian/package-2@2.0.1"
    assert (rows[0]["tool_name"], rows[0]["tool_version"]) == ("syft", "v0.42.0-bogus")
    # the image digest is redacted in this golden file: no digest rather than a wrong one
    assert rows[0]["subject_version"] == "sha256:redacted" and rows[0]["subject_digest"] is None


def test_spdx_package_fields():
    _, tables = parse_fixture("sbom", "syft-spdx23__TestSPDXJSONImageEncoder.golden.json")
    rows = {r["name"]: r for r in tables["ci_sbom_components"]}
    pkg1 = rows["package-1"]
    assert pkg1["license_concluded"] is None  # NOASSERTION
    assert pkg1["license_declared"] == "MIT" and json.loads(pkg1["licenses"]) == ["MIT"]
    assert pkg1["cpe"] == "cpe:2.3:*:some:package:1:*:*:*:*:*:*:*" and pkg1["purl"] == "a-purl-1"
    assert pkg1["parent_ref"] == "SPDXRef-DocumentRoot-Image-user-image-input"
    assert pkg1["supplier"] is None
    image = rows["user-image-input"]
    assert image["component_type"] == "container" and image["parent_ref"] is None
    assert (pkg1["tool_name"], pkg1["tool_version"]) == ("syft", "v0.42.0-bogus")
    _, tables = parse_fixture("sbom", "syft-spdx22__TestSPDX22JSONRequredProperties.golden.json")
    rows = tables["ci_sbom_components"]
    assert {r["tool_name"] for r in rows} == {None}  # creator "Tool: -"
    assert [r["parent_ref"] for r in rows] == [
        "SPDXRef-DocumentRoot-Unknown-",
        "SPDXRef-DocumentRoot-Unknown-",
        None,
    ]
    assert all(r["licenses"] is None for r in rows)


def test_cyclonedx_vex_becomes_a_suppressed_finding():
    _, tables = parse_fixture("sbom", "cdxspec__valid-vulnerability-1.5.json")
    (finding,) = tables["ci_findings"]
    assert finding["tool"] == "cyclonedx-vex"
    assert finding["rule_id"] == "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111"
    assert (finding["severity"], finding["cvss_score"]) == ("CRITICAL", 9.8)
    assert finding["status"] == "suppressed"  # analysis.state not_affected
    assert json.loads(finding["aliases"]) == ["CVE-2018-7489"]
    assert (finding["package_name"], finding["installed_version"]) == ("jackson-databind", "2.9.4")
    (scan,) = tables["ci_scans"]
    assert (scan["findings"], scan["open_findings"], scan["critical"]) == (1, 0, 1)


IMAGE_DIGEST = "sha256:" + "ab" * 32


def test_cyclonedx_17_nesting_services_and_image_digest():
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.7",
        "serialNumber": "urn:uuid:1",
        "metadata": {
            "timestamp": "2026-11-03T04:12:00Z",
            "component": {
                "type": "container",
                "name": "us-docker.pkg.dev/coditect/flow/runtime",
                "version": "1.8.0",
                "hashes": [{"alg": "SHA-256", "content": "ab" * 32}],
            },
        },
        "components": [
            {
                "bom-ref": "app",
                "type": "application",
                "name": "runtime",
                "components": [
                    {"bom-ref": "lib", "type": "library", "name": "serde", "version": "1.0.1",
                     "licenses": [{"license": {"id": "MIT"}}, {"license": {"id": "Apache-2.0"}}],
                     "components": [{"bom-ref": "sub", "type": "file", "name": "x.rs"}]},
                ],
            }
        ],
        "services": [
            {"bom-ref": "api", "name": "workflow-api", "version": "2",
             "provider": {"name": "Coditect"},
             "services": [{"bom-ref": "inner", "name": "queue"}]}
        ],
    }  # fmt: skip
    fmt, tables = parse(json.dumps(bom).encode(), "ci/wr-1/sbom.cdx.json")
    assert fmt == "cyclonedx-json"
    rows = {r["component_ref"]: r for r in tables["ci_sbom_components"]}
    assert list(rows) == ["app", "lib", "sub", "api", "inner"]
    assert [rows[k]["parent_ref"] for k in rows] == [None, "app", "lib", None, "api"]
    assert rows["api"]["component_type"] == rows["inner"]["component_type"] == "service"
    assert rows["api"]["supplier"] == "Coditect"
    assert json.loads(rows["lib"]["licenses"]) == ["MIT", "Apache-2.0"]
    assert {r["subject_digest"] for r in rows.values()} == {IMAGE_DIGEST}
    assert {r["pipeline_run_id"] for r in rows.values()} == {"wr-1"}
    bom["metadata"]["component"] = {"name": "img", "purl": f"pkg:oci/img@sha256%3A{'cd' * 32}"}
    _, tables = parse(json.dumps(bom).encode(), "ci/wr-1/sbom.cdx.json")
    assert tables["ci_sbom_components"][0]["subject_digest"] == "sha256:" + "cd" * 32


def test_spdx_suppliers_and_describes():
    doc = {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.com/spdx/1",
        "documentDescribes": ["SPDXRef-img"],
        "creationInfo": {"created": "2026-11-03T04:12:00Z", "creators": ["Tool: trivy-0.57.0"]},
        "packages": [
            {"SPDXID": "SPDXRef-img", "name": "runtime", "versionInfo": IMAGE_DIGEST,
             "supplier": "Organization: Coditect", "licenseConcluded": "NONE"},
            {"SPDXID": "SPDXRef-a", "name": "a", "supplier": "Person: Jane Doe (jane@example.com)",
             "licenseConcluded": "MIT OR Apache-2.0", "licenseDeclared": "MIT OR Apache-2.0"},
        ],
        "relationships": [
            {"spdxElementId": "SPDXRef-a", "relatedSpdxElement": "SPDXRef-img",
             "relationshipType": "CONTAINED_BY"}
        ],
    }  # fmt: skip
    rows = dict(parse_spdx(json.dumps(doc).encode(), "ci/r/sbom.spdx.json"))["ci_sbom_components"]
    assert [r["supplier"] for r in rows] == ["Coditect", "Jane Doe"]
    assert rows[0]["license_concluded"] is None
    assert json.loads(rows[1]["licenses"]) == ["MIT OR Apache-2.0"]
    assert rows[1]["parent_ref"] == "SPDXRef-img"
    assert {r["subject_digest"] for r in rows} == {IMAGE_DIGEST}
    assert (rows[0]["tool_name"], rows[0]["tool_version"]) == ("trivy", "0.57.0")
    assert rows[0]["serial_number"] == "https://example.com/spdx/1"


def test_broken_sboms_are_parse_errors():
    data = (FIXTURES / "sbom/cdxspec__valid-bom-1.6.json").read_bytes()
    with pytest.raises(ParseError, match="CycloneDX: invalid JSON"):
        list(parse_cyclonedx(data[: len(data) // 2], "ci/r/bom.json"))
    with pytest.raises(ParseError, match="bomFormat"):
        list(parse_cyclonedx(b'{"bomFormat": "SPDX"}', "ci/r/bom.json"))
    deep: dict = {"bom-ref": "leaf", "name": "leaf"}
    for i in range(100):
        deep = {"bom-ref": f"c{i}", "name": f"c{i}", "components": [deep]}
    hostile = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [deep]})
    with pytest.raises(ParseError, match="nested deeper than 64"):
        list(parse_cyclonedx(hostile.encode(), "ci/r/bom.json"))
    with pytest.raises(ParseError, match="SPDX: invalid JSON"):
        list(parse_spdx(b'{"spdxVersion": "SPDX-2.3", "packages": [', "ci/r/sbom.json"))


def test_a_large_sbom_parses_whole():
    components = [
        {"bom-ref": f"pkg:npm/p{i}@1.0.0", "type": "library", "name": f"p{i}", "version": "1.0.0"}
        for i in range(50_000)
    ]
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}
    _, tables = parse(json.dumps(bom).encode(), "ci/r/bom.json")
    assert len(tables["ci_sbom_components"]) == 50_000
