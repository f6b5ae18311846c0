"""The compliance_report asset: the auditor's report of a calendar month, published in the outbox.

Monthly partitions of data time (UTC), like the daily partitions of the other derived assets:
a month is the period an auditor asks for, a backfill of months renders past ones, and the UI
shows each month's report, path and figures. Only complete months are partitions; a month in
progress, or any other range, is rendered by `scripts/cicl.py compliance-report`.

Reports are create-only like everything in the outbox: ``reports/compliance/<period>/<n>.html``,
a new number only when the rendered bytes differ from the newest one (a rerun over unchanged
data publishes nothing). Retention never deletes them.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from cicl_assets.charts import chart_markdown
from cicl_assets.compliance.policy import load_gates
from cicl_assets.compliance.report_data import ReportData, gather_report
from cicl_assets.compliance.report_html import render_report
from cicl_assets.compliance.report_plots import verdicts_png
from cicl_assets.outbox import CreateOnlyStore, open_outbox
from cicl_assets.partitions import PARTITIONS_START
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse

REPORT_ASSET = "compliance_report"
REPORTS_FOLDER = "reports/compliance"
REPORTS_BRANCH = "cicl-reports"
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
REPORT_DESCRIPTION = (
    "One row per calendar month (a file, not a table): the auditor's HTML report in the outbox "
    "under reports/compliance/<YYYY-MM>/<n>.html: deployments by environment with verdicts, "
    "failed gates and waivers, approvals, rollbacks, retention actions, drift issues, the audit "
    "chain's verification against its signed heads, the SLO summary and the DORA figures."
)


@dataclass(frozen=True)
class Publication:
    location: str  # the outbox URI and the name
    name: str
    sha256: str
    created: bool  # False: the newest report of the period already held these bytes


def _numbered(store: CreateOnlyStore, folder: str) -> list[tuple[int, str]]:
    found = []
    for name in store.list(folder):
        stem = name.rsplit("/", 1)[-1].removesuffix(".html")
        if name.endswith(".html") and stem.isdigit():
            found.append((int(stem), name))
    return sorted(found)


def publish_report(store: CreateOnlyStore, folder: str, data: bytes) -> Publication:
    """``data`` as the next numbered report of ``folder``, unless the newest one holds it."""
    sha = hashlib.sha256(data).hexdigest()
    numbered = _numbered(store, folder)
    if numbered and hashlib.sha256(store.read(numbered[-1][1])).hexdigest() == sha:
        name = numbered[-1][1]
        return Publication(f"{store.uri}/{name}", name, sha, created=False)
    name = f"{folder}/{(numbered[-1][0] if numbered else 0) + 1}.html"
    store.create(name, data)
    return Publication(f"{store.uri}/{name}", name, sha, created=True)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00 UTC, the day after last 00:00 UTC)."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC)
    return start, end + timedelta(days=1)


def render_period(
    warehouse: Warehouse, cicl_config: CiclConfig, start: datetime, end: datetime, title: str
) -> tuple[ReportData, str]:
    """The report of [start, end): its data and its HTML."""
    try:
        notary = cicl_config.chain_notary(warehouse)
    except ValueError as exc:
        notary = str(exc)
    data = gather_report(warehouse, notary, load_gates(cicl_config.path), start, end, title)
    return data, render_report(data)


def report_metadata(data: ReportData, publication: Publication) -> dict:
    png = verdicts_png(data)
    sentence = (
        f"{data.title}: {len(data.deployments)} deployments, "
        f"{data.figures()['production_deploys_failing_gate']} production deployments ran "
        "failing their gate; the picture shows deployments per day by environment and verdict."
    )
    return {
        "path": dg.MetadataValue.path(publication.location),
        "sha256": publication.sha256,
        "published_new_file": publication.created,
        **{f"figures/{k}": v for k, v in data.figures().items()},
        "preview": dg.MetadataValue.md(
            chart_markdown(sentence, png, "deployments per day") if png else sentence
        ),
    }


@dg.asset(
    name=REPORT_ASSET,
    partitions_def=MONTHLY,
    group_name="compliance",
    kinds={"python", "html"},
    owners=["team:compliance"],
    deps=[
        "deployment_evidence",
        "rollback_checks",
        "evidence_retention",
        "infra_drift_issues",
        "audit_events",
        "slo_status",
        "dora_metrics",
    ],
    description=REPORT_DESCRIPTION,
)
def compliance_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    label = start.strftime("%Y-%m")
    data, page = render_period(
        warehouse, cicl_config, start, end, f"Compliance report {label} (cicl)"
    )
    store = open_outbox(cicl_config.outbox_uri, git_branch=REPORTS_BRANCH)
    publication = publish_report(store, f"{REPORTS_FOLDER}/{label}", page.encode())
    return dg.MaterializeResult(metadata=report_metadata(data, publication))
