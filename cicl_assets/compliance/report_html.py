"""The auditor's report as one self-contained HTML file: no script, no external resource.

Every value comes from ingested data, so every value is escaped, in text and in attributes.
Each figure carries a stable ``data-figure`` name and each table cell its ``data-col`` and
``data-value`` (the exact value, machine-readable), so a reader or a test can check what is
shown against the warehouse. The same data renders the same bytes (the plots too): a rerun
over unchanged data publishes nothing new.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cicl_assets.compliance.report_data import ReportData
from cicl_assets.compliance.report_plots import dora_png, slo_budget_png, verdicts_png

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #212121; max-width: 80em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
tr.fail td, td.fail { background: #ffebee; }
dl.figures { display: grid; grid-template-columns: max-content max-content; gap: 0.2em 1em; }
dl.figures dt { font-weight: bold; }
p.note { color: #555; font-size: 0.9em; }
"""

Column = tuple[str, str]  # (key in the row, header)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def exact(value: Any) -> str:
    """The machine-readable form of a value (data-value)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def shown(value: Any) -> str:
    """The human-readable form of a value."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _short(key: str, text: str) -> str:
    """Digests shown by their first 12 hex digits (data-value keeps them whole)."""
    if key.endswith("digest") and len(text) > 19:
        return text[:19] + "…"
    return text


def table(
    table_id: str,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    row_key: str | None = None,
    failing: str | None = None,
) -> str:
    """A table whose rows carry ``data-row`` (the row_key value) and cells ``data-col``;
    rows where ``failing`` is false or 'fail' are marked."""
    if not rows:
        return f'<p class="empty" id="{esc(table_id)}">none in this period</p>'
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    body = []
    for row in rows:
        marked = failing is not None and row.get(failing) in (False, "fail")
        attrs = f' data-row="{esc(row[row_key])}"' if row_key else ""
        attrs += ' class="fail"' if marked else ""
        cells = "".join(
            f'<td data-col="{esc(k)}" data-value="{esc(exact(row.get(k)))}">'
            f"{esc(_short(k, shown(row.get(k))))}</td>"
            for k, _ in columns
        )
        body.append(f"<tr{attrs}>{cells}</tr>")
    return (
        f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def picture(png: bytes | None, sentence: str, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(sentence)}</figcaption></figure>"
    )


FIGURE_WORDS = {
    "deployments": "deployments started in the period",
    "production_deploys_failing_gate": "production deployments that ran with a failing verdict",
    "failed_gate_reasons": "failing reasons, all environments",
    "waivers_used": "waivers that let a deployment through",
    "waivers_expired_blocking": "waivers that had expired when a deployment needed them",
    "rollbacks": "rollbacks",
    "rollbacks_not_known_good": "rollbacks to a digest that was not known good",
    "retention_rows_deleted": "rows deleted by retention",
    "drift_issues_open_at_end": "drift issues open at the period's end",
    "drift_issues_opened": "drift issues opened",
    "drift_issues_closed": "drift issues closed",
    "audit_events_in_period": "audit events in the period",
    "audit_chain_verified": "audit chain verified against its signed heads",
    "slo_page_evaluations": "SLO evaluations alerting page",
}


def figures_list(figures: dict[str, Any]) -> str:
    items = []
    for key, value in figures.items():
        words = FIGURE_WORDS.get(key) or key.replace("deployments/", "deployments: ").replace(
            "/", " "
        )
        items.append(
            f'<dt>{esc(words)}</dt><dd data-figure="{esc(key)}" data-value="{esc(exact(value))}">'
            f"{esc(shown(value))}</dd>"
        )
    return f'<dl class="figures" id="figures">{"".join(items)}</dl>'


def _section(section_id: str, title: str, *parts: str) -> str:
    return f'<section id="{esc(section_id)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def render_report(data: ReportData) -> str:
    figures = data.figures()
    environments = sorted({d["environment"] or "unknown" for d in data.deployments})
    by_env = [
        _section(
            f"deployments-{env}",
            f"Deployments: {env}",
            table(
                f"deployments-{env}-table",
                [
                    ("deployment_id", "deployment"),
                    ("service", "service"),
                    ("version", "version"),
                    ("status", "status"),
                    ("started_at", "started"),
                    ("rollback_of", "rollback of"),
                    ("verdict", "verdict"),
                    ("reasons", "reasons"),
                ],
                [d for d in data.deployments if (d["environment"] or "unknown") == env],
                "deployment_id",
                "verdict",
            ),
        )
        for env in environments
    ]
    chain = data.chain
    chain_rows = [
        {"source": source, "events": n} for source, n in sorted(chain.events_in_period.items())
    ]
    period = f"{shown(data.start)} to {shown(data.end)} (end exclusive)"
    body = [
        f"<h1>{esc(data.title)}</h1>",
        f'<p id="period" data-start="{esc(exact(data.start))}" data-end="{esc(exact(data.end))}">'
        f"Period: {esc(period)}</p>",
        _section("summary", "Headline figures", figures_list(figures)),
        picture(
            verdicts_png(data),
            "Deployments started per day, by environment and verdict.",
            "deployments per day",
        ),
        *by_env,
        _section(
            "failed-gates",
            "Failed gates",
            _note("Every failing reason of every deployment of the period, by check."),
            table(
                "failed-gates-table",
                [
                    ("deployment_id", "deployment"),
                    ("environment", "environment"),
                    ("service", "service"),
                    ("check", "check"),
                    ("reason", "reason"),
                ],
                data.failed_gates,
            ),
        ),
        _section(
            "waivers",
            "Waivers (config/policies/gates.yaml)",
            _note(
                "A waiver lets a finding of a blocking severity through until it expires; "
                "'let through' lists the deployments it covered, 'expired for' those that "
                "started after it expired and failed on the finding."
            ),
            table(
                "waivers-table",
                [
                    ("rule_id", "rule"),
                    ("services", "services"),
                    ("owner", "owner"),
                    ("reason", "reason"),
                    ("expires", "expires"),
                    ("state", "at period end"),
                    ("waived", "let through"),
                    ("blocked", "expired for"),
                ],
                data.waivers,
                "rule_id",
            ),
        ),
        _section(
            "approvals",
            "Production approvals",
            _note("The approver must be someone other than the person who triggered the deploy."),
            table(
                "approvals-table",
                [
                    ("deployment_id", "deployment"),
                    ("service", "service"),
                    ("started_at", "started"),
                    ("actor", "triggered by"),
                    ("approver", "approved by"),
                    ("approved_at", "approved at"),
                    ("approval", "approval check"),
                ],
                data.approvals,
                "deployment_id",
            ),
        ),
        _section(
            "rollbacks",
            "Rollbacks",
            _note("Each rollback's target against the last known-good digest at its start."),
            table(
                "rollbacks-table",
                [
                    ("deployment_id", "deployment"),
                    ("service", "service"),
                    ("environment", "environment"),
                    ("rollback_of", "rolls back"),
                    ("from_digest", "from"),
                    ("to_digest", "to"),
                    ("known_good_digest", "last known good"),
                    ("ok", "to known good"),
                    ("finding", "finding"),
                ],
                data.rollbacks,
                "deployment_id",
                "ok",
            ),
        ),
        _section(
            "retention",
            "Retention actions",
            _note(
                "Plan artifacts are kept 30 days, apply logs 90; drift issues, evidence bundles, "
                "reports and the audit chain are never deleted."
            ),
            table(
                "retention-table",
                [
                    ("run_at", "run at"),
                    ("table_name", "table"),
                    ("keep_days", "days kept"),
                    ("as_of", "expiry measured at"),
                    ("as_of_basis", "clock"),
                    ("rows_deleted", "rows deleted"),
                ],
                data.retention,
            ),
        ),
        _section(
            "drift",
            "Drift issues open during the period",
            table(
                "drift-table",
                [
                    ("environment", "environment"),
                    ("address", "resource"),
                    ("opened_at", "opened"),
                    ("resolved_at", "closed"),
                    ("occurrences", "checks reporting it"),
                    ("open_at_end", "open at period end"),
                ],
                data.drift,
                "drift_issue_id",
            ),
        ),
        _section(
            "audit-chain",
            "Audit chain",
            f'<p id="chain-verdict" data-passed="{esc(exact(chain.passed))}">'
            f"{esc(chain.description)}</p>",
            _note(
                f"Chain {chain.chain_id or '—'}: {chain.chain_length} events in all, "
                f"{chain.heads_checked} published heads checked, signed by "
                f"{chain.signed_by or 'no key'}. The verification covers the whole chain as it "
                "stood when this report was rendered; below, the period's events by source."
            ),
            table(
                "chain-table", [("source", "source"), ("events", "events")], chain_rows, "source"
            ),
        ),
        _section(
            "slo",
            "SLO summary",
            table(
                "slo-table",
                [
                    ("slo_name", "SLO"),
                    ("service", "service"),
                    ("target", "target"),
                    ("last_evaluated_at", "last evaluated"),
                    ("sli", "SLI"),
                    ("error_budget_remaining", "error budget left"),
                    ("worst_budget_remaining", "lowest budget left"),
                    ("page_evaluations", "page evaluations"),
                    ("ticket_evaluations", "ticket evaluations"),
                ],
                data.slos,
                "slo_name",
            ),
            picture(
                slo_budget_png(data),
                "Each SLO's lowest error budget left per day (1 = untouched, below 0 = spent).",
                "error budget per day",
            ),
        ),
        _section(
            "dora",
            "DORA figures (30 days)",
            _note("As of the period's last evaluated day, per service and environment."),
            table(
                "dora-table",
                [
                    ("service", "service"),
                    ("environment", "environment"),
                    ("period_end", "30 days to"),
                    ("deployments", "deploys"),
                    ("deploys_per_day", "deploys/day"),
                    ("deployment_frequency_band", "band"),
                    ("lead_time_median_h", "lead time h (median)"),
                    ("lead_time_band", "band"),
                    ("change_failure_rate", "change failure rate"),
                    ("change_failure_rate_band", "band"),
                    ("recovery_median_h", "recovery h (median)"),
                    ("recovery_band", "band"),
                ],
                [{**r, "key": f"{r['service']}/{r['environment']}"} for r in data.dora],
                "key",
            ),
            picture(
                dora_png(data),
                "Production change failure rate over the 30 days ending each day, per service.",
                "change failure rate",
            ),
        ),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(data.title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
