"""The pipeline history of the demo: CI runs, releases and deployments over a few weeks.

Everyday runs are drawn from a seeded generator; the runs and deployments the stories need
(releases, the failed scan, the unsigned image, the rollback, the slow deploy) are scripted.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from demo import story

REPO = "github.com/coditect/flow"
REGISTRY = "us-docker.pkg.dev/coditect/flow"
IMAGE = {"flow-gateway": "gateway", "workflow-runtime": "runtime", "tool-worker": "tool-worker"}
RUN_PREFIX = {"flow-gateway": "gw", "workflow-runtime": "wr", "tool-worker": "tw"}
CI_STAGES = ("lint", "unit", "integration", "sast", "dependency-audit", "build", "container-scan")
MAIN_STAGES = (*CI_STAGES, "sign", "promote")
DEVELOPERS = (
    "ana.silva@coditect.example",
    "ben.okafor@coditect.example",
    "chen.wei@coditect.example",
    "dara.novak@coditect.example",
    "eli.haddad@coditect.example",
)
APPROVER = "sre-lead@coditect.example"
RELEASE_MANAGER = "release-manager@coditect.example"

# (service, version, CI run start, staging promotion, production deploy)
RELEASES = (
    ("workflow-runtime", "1.7.2", "2026-10-09T10:05", "2026-10-09T14:00", "2026-10-13T09:00"),
    ("tool-worker", "0.9.1", "2026-10-09T11:40", "2026-10-09T15:00", "2026-10-12T09:30"),
    ("tool-worker", "0.9.2", "2026-10-14T10:15", "2026-10-14T13:00", "2026-10-15T09:00"),
    ("flow-gateway", "2.4.0", "2026-10-15T10:30", "2026-10-15T14:30", "2026-10-20T09:00"),
    ("workflow-runtime", "1.7.3", "2026-10-20T10:45", "2026-10-20T15:00", "2026-10-22T09:00"),
    ("tool-worker", "0.9.3", "2026-10-21T09:50", "2026-10-21T14:00", "2026-10-27T09:30"),
    ("flow-gateway", "2.4.1", "2026-10-28T10:10", "2026-10-28T14:00", "2026-10-29T09:00"),
    (
        "workflow-runtime",
        story.SLOW_DEPLOY_VERSION_AFTER,
        "2026-11-03T10:20",
        "2026-11-03T15:00",
        story.SLOW_DEPLOY_AT.strftime("%Y-%m-%dT%H:%M"),
    ),
)
ROLLED_BACK_RELEASE = ("tool-worker", "0.9.2")
# Its scan's CRITICAL (story.EXPIRED_WAIVER_CVE) is waived until a day before its deploy.
WAIVED_CRITICAL_RELEASE = ("tool-worker", "0.9.3")
# A hotfix shipped on a Friday afternoon, rolled back to 0.9.3 35 minutes later. Planned apart from
# RELEASES, with a generator of its own, so the seeded history around it stays as it was.
HOTFIX_RELEASE = (
    "tool-worker",
    "0.9.4",
    "2026-10-28T10:30",
    "2026-10-28T15:00",
    "2026-10-30T13:00",
)
HOTFIX_ROLLBACK_AFTER = timedelta(minutes=35)
FAILED_SCAN_AT = ("flow-gateway", "2026-10-19T11:20")
UNSIGNED_AT = ("tool-worker", "2026-10-26T10:40", "2026-10-26T15:30")  # CI start, staging
FAILING_TEST_RUNS = ("2026-10-22T13:10", "2026-10-22T16:25", "2026-10-23T10:05")
FAILING_TEST = story.FAILING_TEST
FAILING_TEST_BRANCH = "feature/priority-routing"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=story.TRAFFIC_START.tzinfo)


def sha1_of(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


def sha256_of(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


@dataclass
class Stage:
    name: str
    status: str  # success | failed | skipped
    started: datetime
    finished: datetime


@dataclass
class CiRun:
    run_id: str
    service: str
    commit: str
    branch: str
    trigger: str  # push | pull_request | tag
    actor: str
    started: datetime
    version: str
    kind: str  # pr | main | release
    stages: list[Stage] = field(default_factory=list)
    status: str = "success"
    scan_critical: bool = False
    waived_critical: bool = False
    unsigned: bool = False
    failing_test: str = ""

    @property
    def finished(self) -> datetime:
        return self.stages[-1].finished

    @property
    def digest(self) -> str:
        return f"sha256:{sha256_of('image', self.service, self.version, self.commit)}"

    @property
    def image(self) -> str:
        return f"{REGISTRY}/{IMAGE[self.service]}"

    @property
    def signed(self) -> bool:
        return any(s.name == "sign" and s.status == "success" for s in self.stages)

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)


@dataclass
class Deployment:
    deployment_id: str
    environment: str
    run: CiRun
    started: datetime
    finished: datetime
    actor: str
    status: str = "succeeded"
    approver: str | None = None
    approved_at: datetime | None = None
    change_window: tuple[datetime, datetime] | None = None
    rollback_of: str | None = None
    via_github: bool = False


@dataclass
class History:
    runs: list[CiRun]
    deployments: list[Deployment]

    def run(self, run_id: str) -> CiRun:
        return next(r for r in self.runs if r.run_id == run_id)


def _weekdays() -> list[datetime]:
    days, day = [], story.HISTORY_START
    while day < story.TRAFFIC_END:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _stages(run: CiRun, rng: random.Random) -> None:
    names = MAIN_STAGES if run.kind != "pr" else CI_STAGES
    now, failed = run.started, False
    for name in names:
        if failed:
            run.stages.append(Stage(name, "skipped", now, now))
            continue
        duration = timedelta(seconds=int(rng.uniform(25, 90) * (6 if name == "build" else 1)))
        status = "success"
        if name == "unit" and run.failing_test:
            status = "failed"
        elif name == "container-scan" and run.scan_critical:
            status = "failed"
        elif name == "sign" and run.unsigned:
            status = "skipped"
        run.stages.append(Stage(name, status, now, now + duration))
        now += duration + timedelta(seconds=rng.randint(2, 20))
        failed = status == "failed"
    run.status = "failed" if failed else "success"


def _new_run(
    rng: random.Random, service: str, start: datetime, kind: str, counter: dict[str, int]
) -> CiRun:
    counter[service] = counter.get(service, 0) + 1
    run_id = f"{RUN_PREFIX[service]}-{start:%Y-%m-%d-%H%M}"
    branch = (
        "main"
        if kind != "pr"
        else f"feature/{rng.choice(('retry-budget', 'otel-attrs', 'tool-timeouts', 'provider-routing', 'ui-latency'))}"
    )
    trigger = {"pr": "pull_request", "main": "push", "release": "tag"}[kind]
    return CiRun(
        run_id=run_id,
        service=service,
        commit=sha1_of("commit", service, start.isoformat()),
        branch=branch,
        trigger=trigger,
        actor=rng.choice(DEVELOPERS) if kind != "release" else RELEASE_MANAGER,
        started=start,
        version="",
        kind=kind,
    )


def _next_release(service: str, when: datetime) -> str:
    releases = (*RELEASES, HOTFIX_RELEASE)
    later = [v for s, v, ci, _, _ in releases if s == service and at(ci) > when]
    if later:
        return later[0]
    last = [v for s, v, *_ in releases if s == service][-1]
    major, minor, patch = last.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def plan_history(seed: int = story.SEED) -> History:
    rng = random.Random(f"{seed}:history")
    counter: dict[str, int] = {}
    runs: list[CiRun] = []
    for service, version, ci, _, _ in RELEASES:
        run = _new_run(rng, service, at(ci), "release", counter)
        run.version = version
        run.waived_critical = (service, version) == WAIVED_CRITICAL_RELEASE
        runs.append(run)
    scan = _new_run(rng, FAILED_SCAN_AT[0], at(FAILED_SCAN_AT[1]), "main", counter)
    scan.scan_critical = True
    unsigned = _new_run(rng, UNSIGNED_AT[0], at(UNSIGNED_AT[1]), "main", counter)
    unsigned.unsigned = True
    runs += [scan, unsigned]
    for start in FAILING_TEST_RUNS:
        run = _new_run(rng, "flow-gateway", at(start), "pr", counter)
        run.branch, run.failing_test = FAILING_TEST_BRANCH, FAILING_TEST
        runs.append(run)
    taken = {r.run_id for r in runs}
    services = list(RUN_PREFIX)
    for day in _weekdays():
        scripted = sum(1 for r in runs if r.started.date() == day.date())
        for _ in range(max(0, rng.randint(4, 8) - scripted)):
            service = rng.choices(services, weights=(0.3, 0.4, 0.3))[0]
            start = day + timedelta(hours=8, minutes=rng.randrange(10 * 60))
            if (
                start >= story.TRAFFIC_END
                or f"{RUN_PREFIX[service]}-{start:%Y-%m-%d-%H%M}" in taken
            ):
                continue
            run = _new_run(rng, service, start, rng.choice(("pr", "main", "main")), counter)
            taken.add(run.run_id)
            runs.append(run)
    runs.sort(key=lambda r: (r.started, r.run_id))
    dev_builds: dict[str, int] = {}
    for run in runs:
        if run.kind == "pr":
            run.version = f"pr-{int(run.commit[:4], 16) % 900 + 100}"
        elif run.kind == "main":
            target = _next_release(run.service, run.started)
            dev_builds[target] = dev_builds.get(target, 0) + 1
            run.version = f"{target}-dev.{dev_builds[target]}"
        _stages(run, rng)
    planned = _deployments(runs, rng)
    hotfix = _new_run(rng, HOTFIX_RELEASE[0], at(HOTFIX_RELEASE[2]), "release", counter)
    hotfix.version = HOTFIX_RELEASE[1]
    _stages(hotfix, random.Random(f"{seed}:hotfix"))
    planned += _hotfix_deployments(hotfix, planned)
    runs.append(hotfix)
    runs.sort(key=lambda r: (r.started, r.run_id))
    return History(runs, planned)


def _hotfix_deployments(run: CiRun, planned: list[Deployment]) -> list[Deployment]:
    """The hotfix's dev, staging and production deploys and the rollback to the release before
    it, numbered after the seeded history's."""
    _, _, _, staging, production = HOTFIX_RELEASE
    dev = run.finished + timedelta(minutes=5)
    stg, prod = at(staging), at(production)
    deploy = Deployment(
        "",
        "production",
        run,
        prod,
        prod + timedelta(minutes=9),
        "deploy-bot",
        status="rolled_back",
        approver=APPROVER,
        approved_at=prod - timedelta(minutes=40),
        change_window=(prod - timedelta(minutes=prod.minute), prod + timedelta(hours=2)),
    )
    previous = max(
        (d for d in planned if d.environment == "production" and d.run.service == run.service),
        key=lambda d: d.started,
    )
    back = prod + HOTFIX_ROLLBACK_AFTER
    rollback = Deployment(
        "",
        "production",
        previous.run,
        back,
        back + timedelta(minutes=5),
        "deploy-bot",
        approver=APPROVER,
        approved_at=back - timedelta(minutes=3),
        change_window=deploy.change_window,
    )
    extra = [
        Deployment("", "dev", run, dev, dev + timedelta(minutes=4), "deploy-bot"),
        Deployment("", "staging", run, stg, stg + timedelta(minutes=6), RELEASE_MANAGER),
        deploy,
        rollback,
    ]
    _number(extra, planned)
    rollback.rollback_of = deploy.deployment_id
    return extra


_SHORT = {"dev": "dev", "staging": "stg", "production": "prod"}


def _number(deployments: list[Deployment], before: list[Deployment]) -> None:
    """Ids per environment in start order, after those ``before`` holds."""
    counters: dict[str, int] = {}
    for d in before:
        counters[d.environment] = counters.get(d.environment, 0) + 1
    for d in sorted(deployments, key=lambda d: (d.started, d.environment, d.run.run_id)):
        counters[d.environment] = counters.get(d.environment, 0) + 1
        d.deployment_id = f"dep-{_SHORT[d.environment]}-{counters[d.environment]:04d}"


def _deployments(runs: list[CiRun], rng: random.Random) -> list[Deployment]:
    planned: list[Deployment] = []
    for run in runs:
        if run.kind == "pr" or run.status != "success":
            continue
        start = run.finished + timedelta(minutes=rng.randint(3, 9))
        planned.append(
            Deployment(
                "",
                "dev",
                run,
                start,
                start + timedelta(minutes=4),
                "deploy-bot",
                via_github=run.service == "flow-gateway",
            )
        )
        if run.unsigned:
            stg = at(UNSIGNED_AT[2])
            planned.append(
                Deployment("", "staging", run, stg, stg + timedelta(minutes=6), run.actor)
            )
    by_release = {(r.service, r.version): r for r in runs if r.kind == "release"}
    for service, version, _, staging, production in RELEASES:
        run = by_release[(service, version)]
        stg, prod = at(staging), at(production)
        planned.append(
            Deployment("", "staging", run, stg, stg + timedelta(minutes=6), RELEASE_MANAGER)
        )
        deploy = Deployment(
            "",
            "production",
            run,
            prod,
            prod + timedelta(minutes=9),
            "deploy-bot",
            approver=APPROVER,
            approved_at=prod - timedelta(minutes=rng.randint(20, 90)),
            change_window=(prod - timedelta(minutes=prod.minute), prod + timedelta(hours=2)),
        )
        planned.append(deploy)
        if (service, version) == ROLLED_BACK_RELEASE:
            deploy.status = "rolled_back"
            good = next(
                d.run
                for d in reversed(planned)
                if d.environment == "production" and d.run.service == service and d is not deploy
            )
            back = prod + timedelta(minutes=35)
            planned.append(
                Deployment(
                    "",
                    "production",
                    good,
                    back,
                    back + timedelta(minutes=5),
                    "deploy-bot",
                    approver=APPROVER,
                    approved_at=back - timedelta(minutes=3),
                    change_window=deploy.change_window,
                    rollback_of="pending",
                )
            )
    planned.sort(key=lambda d: (d.started, d.environment, d.run.run_id))
    _number(planned, [])
    for index, deployment in enumerate(planned):
        if deployment.rollback_of == "pending":
            deployment.rollback_of = next(
                d.deployment_id for d in reversed(planned[:index]) if d.status == "rolled_back"
            )
    return planned
