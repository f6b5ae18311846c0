"""Source-code scanners' own JSON reports: bandit, semgrep and gitleaks, each read into
`Scan`s."""

from __future__ import annotations

from typing import Any

from cicl_assets.ci.findings.model import Scan
from cicl_assets.ci.findings.native import line_location
from cicl_assets.ci.security_json import as_dict, as_list, iter_dicts, text_of
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import parse_time

# --- bandit, semgrep ---------------------------------------------------------------------------


def read_bandit(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("bandit JSON: no 'results' array")
    generated = parse_time(doc.get("generated_at"))
    scan = Scan(source_file, "bandit-json", "bandit", None, None, generated, index)
    for r in iter_dicts(doc["results"]):
        cwe = as_dict(r.get("issue_cwe"))
        scan.add(
            rule_id=r.get("test_id"),
            kind="code",
            title=r.get("test_name"),
            description=r.get("issue_text"),
            label=r.get("issue_severity"),
            location=line_location(r.get("filename"), r.get("line_number")),
            references=[text_of(r.get("more_info")), text_of(cwe.get("link"))],
            raw={k: r.get(k) for k in ("test_id", "issue_severity", "issue_confidence", "code")},
        )
    return [scan]


def read_semgrep(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("semgrep JSON: no 'results' array")
    scan = Scan(source_file, "semgrep-json", "semgrep", text_of(doc.get("version")), index=index)
    for r in iter_dicts(doc["results"]):
        extra = as_dict(r.get("extra"))
        meta = as_dict(extra.get("metadata"))
        rule_id = text_of(r.get("check_id"))
        is_secret = "secret" in (rule_id or "").lower() or "secret" in str(meta.get("category"))
        scan.add(
            rule_id=rule_id,
            kind="secret" if is_secret else "code",
            title=(rule_id or "").rsplit(".", 1)[-1] or None,
            description=extra.get("message"),
            label=extra.get("severity"),
            location=line_location(r.get("path"), as_dict(r.get("start")).get("line")),
            status="suppressed" if extra.get("is_ignored") else "open",
            references=[x for x in as_list(meta.get("references")) if isinstance(x, str)],
            raw={"check_id": rule_id, "metadata": meta, "lines": extra.get("lines")},
        )
    return [scan]


# --- gitleaks ----------------------------------------------------------------------------------


def read_gitleaks(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    """``gitleaks detect -f json``: a list of leaks (v8 ``RuleID``/``Secret``/``Match``, v7
    ``rule``/``offender``). The secret itself is redacted before anything is stored."""
    if not isinstance(doc, list):
        raise ParseError("gitleaks JSON: the report is not a list of leaks")
    scan = Scan(source_file, "gitleaks-json", "gitleaks", None, None, None, index)
    for leak in iter_dicts(doc):
        scan.add(
            rule_id=leak.get("RuleID") or leak.get("rule"),
            kind="secret",
            title=leak.get("Description") or leak.get("rule"),
            location=line_location(
                leak.get("File") or leak.get("file"),
                leak.get("StartLine") or leak.get("lineNumber"),
            ),
            references=[text_of(leak.get("Link"))],
            raw=leak,
            commit=leak.get("Commit") or leak.get("commit"),
        )
    return [scan]
