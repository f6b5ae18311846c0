"""The production Dagster instance on a real PostgreSQL (deploy/dagster/dagster-vm.yaml and, for
the Kubernetes launcher, dagster.yaml): the landing sensor's tick and its ingest run, the SLO
day jobs, the breach sensor reading the event log, the review queue's partitions, the run
queue's daemon keeping audit-chain appenders apart (a breach review and a decision of the review
gate), the same reviewer's second decision refused, and the pod the Kubernetes launcher would
start. Runs execute in this process (a run worker process costs a Dagster start-up per run). The
tests of this module run in order on one database."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from dagster._cli import cli as dagster_cli
from dagster._cli.job import _create_run
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import DagsterEventType
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)

import definitions
from cicl_assets.audit.chain import read_chain
from cicl_assets.audit.judge import judge_chain
from cicl_assets.resources import build_resources
from cicl_assets.review.queue import CANDIDATE_PARTITIONS
from cicl_assets.settings import Settings
from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text
from demo import story
from demo.platform_repo import write_platform_repo
from jobs import ALL_JOBS
from jobs.candidates import CANDIDATES_JOB, REVIEW_JOB
from jobs.concurrency import CHAIN_TAG, only_concurrency_tags
from sensors import ALL_SENSORS
from sensors.in_process import evaluate_sensor
from sensors.slo_partitions import run_day_ranges
from tests.unit.candidates.scenario import write_stories
from tests.unit.slo.spans import story_spans, write_spans

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "dagster"
AUDIT_FIXTURES = ROOT / "tests" / "fixtures" / "audit-logs"
FIRST_AUDIT = "gogithub-extract__orgs_audit_log.json"
START = story.BREACH_START - timedelta(hours=28)
END = story.BREACH_END + timedelta(hours=1)
GATEWAY_BREACH = "slo-breach:gateway-availability:page:2026-11-05T14"
INVOICE_BREACH = f"slo-breach:workflow-{story.BREACH_WORKFLOW}-availability:page:2026-11-05T14"
IMAGE = "europe-docker.pkg.dev/cicl-prod/cicl/cicl@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def world(postgres_server, tmp_path_factory):
    """A database of its own, a DAGSTER_HOME holding the VM config, cicl's settings in the
    environment and the Definitions they make."""
    root = tmp_path_factory.mktemp("pg_world")
    db = postgres_server.create_database(f"cicl_{uuid.uuid4().hex[:10]}")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster-vm.yaml", home / "dagster.yaml")
    signer = Ed25519Signer.generate()
    (root / "trust.yaml").write_text(
        trust_file_text([trust_entry(signer.public_key(), story.BREACH_START - timedelta(days=9))])
    )
    (root / "zone" / "audit").mkdir(parents=True)
    shutil.copy(AUDIT_FIXTURES / FIRST_AUDIT, root / "zone" / "audit" / FIRST_AUDIT)
    write_platform_repo(root / "platform")
    env = {
        **postgres_server.env(db),
        "DAGSTER_HOME": str(home),
        "CICL_WAREHOUSE": "duckdb",
        "CICL_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "CICL_LANDING_URI": str(root / "zone"),
        "CICL_OUTBOX_URI": str(root / "outbox"),
        "CICL_CONFIG_DIR": str(ROOT / "config"),
        "CICL_STATE_DIR": str(root / "state"),
        "CICL_SIGNING_KEY": signer.private_key_pem(),
        "CICL_TRUST_FILE": str(root / "trust.yaml"),
        "CICL_PLATFORM_REPO": str(root / "platform"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("CICL_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        defs = dg.Definitions(
            assets=[a for d in definitions.DOMAINS for a in d.ASSETS],
            asset_checks=[c for d in definitions.DOMAINS for c in d.CHECKS],
            jobs=ALL_JOBS,
            sensors=ALL_SENSORS,
            resources=build_resources(Settings.from_env()),
            executor=dg.in_process_executor,
        )
        # Runs launched here load the code location from its module, already imported with
        # the environment of its import: they get these Definitions instead.
        patch.setattr(definitions, "defs", defs)
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            yield {
                "root": root,
                "home": home,
                "defs": defs,
                "instance": instance,
                "state": {},
                "signing_key": env["CICL_SIGNING_KEY"],
            }
        finally:
            instance.dispose()


def _warehouse(world):
    return world["defs"].resources["warehouse"]


def test_the_instance_stores_runs_and_events_in_postgres(world):
    instance = world["instance"]
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_a_landing_tick_launches_the_audit_ingest_and_the_next_tick_nothing(world):
    defs, instance = world["defs"], world["instance"]
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)
    result = defs.resolve_sensor_def("landing_arrivals_sensor")(context)
    [request] = result.run_requests
    assert request.tags["cicl/landing_folder"] == "audit"
    assert sorted(only_concurrency_tags(request.tags)) == [
        CHAIN_TAG,
        "cicl/writes-audit",
        "cicl/writes-compliance",
    ]
    run = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=list(request.asset_selection),
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key},
    )
    assert run.success
    stored = instance.get_run_by_id(run.run_id)  # read back from PostgreSQL
    assert stored.status == DagsterRunStatus.SUCCESS
    assert stored.tags[CHAIN_TAG] == "true"
    assert instance.get_latest_materialization_event(dg.AssetKey("audit_events")) is not None
    world["state"]["first_audit_events"] = len(read_chain(_warehouse(world)))
    assert world["state"]["first_audit_events"] > 0
    again = dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources, cursor=result.cursor
    )
    assert defs.resolve_sensor_def("landing_arrivals_sensor")(again).run_requests == []


def test_the_day_jobs_and_the_breach_sensor_read_postgres(world):
    defs, instance = world["defs"], world["instance"]
    write_spans(_warehouse(world), story_spans(START, END, runs_per_minute=2))
    days = [START.date(), END.date()]
    runs = run_day_ranges(defs, instance, "slo_counts_by_day", days)
    runs += run_day_ranges(defs, instance, "slo_status_by_day", days)
    assert [r.success for r in runs] == [True, True]
    status = instance.fetch_materializations(dg.AssetKey("slo_status"), limit=10).records
    assert sorted(r.asset_materialization.partition for r in status) == [
        d.isoformat() for d in days
    ]
    requests = evaluate_sensor(defs, instance, "slo_breach_sensor")
    assert sorted(r.run_key for r in requests) == [GATEWAY_BREACH, INVOICE_BREACH]
    world["state"]["breaches"] = {r.run_key: r for r in requests}


def _decisions(warehouse) -> list[tuple]:
    if not warehouse.table_exists("candidate_decisions"):
        return []
    rows = warehouse.query(
        "SELECT candidate_id, reviewer, decision, candidate_status_after, audit_event_hash "
        "FROM candidate_decisions ORDER BY decided_at"
    ).to_pylist()
    return [tuple(r.values()) for r in rows]


def test_a_refresh_puts_the_review_queue_in_postgres(world):
    defs, instance = world["defs"], world["instance"]
    warehouse = _warehouse(world)
    write_stories(warehouse)
    assert instance.get_dynamic_partitions(CANDIDATE_PARTITIONS) == []
    result = defs.resolve_job_def(CANDIDATES_JOB).execute_in_process(instance=instance)
    assert result.success
    open_ids = {
        r["candidate_id"]: r["kind"]
        for r in warehouse.query(
            "SELECT candidate_id, kind FROM improvement_candidates WHERE status = 'open'"
        ).to_pylist()
    }
    assert "provider_routing" in open_ids.values()
    # A new instance on the same database: the partitions are PostgreSQL's, not this process's.
    with dg.DagsterInstance.from_config(str(world["home"])) as fresh:
        assert sorted(fresh.get_dynamic_partitions(CANDIDATE_PARTITIONS)) == sorted(open_ids)
    world["state"]["routing"] = next(c for c, k in open_ids.items() if k == "provider_routing")


def _review_run(instance, workspace, candidate_id: str, reviewer: str):
    config = {"decision": "approve", "reviewer": reviewer, "justification": "the p95 drops"}
    return _create(
        instance,
        workspace,
        REVIEW_JOB,
        run_config={"ops": {"candidate_review": {"config": config}}},
        tags={"dagster/partition": candidate_id},
    )


def _workspace(instance):
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="definitions", working_directory=str(ROOT)),
        container_image=IMAGE,
        location_name="cicl",  # workspace.yaml's: the daemon launches from its own server
    )
    return WorkspaceProcessContext(instance, InProcessTestWorkspaceLoadTarget(origin))


def _create(instance, workspace, job_name, run_config=None, tags=None, asset_selection=None):
    """A run as the UI or a sensor makes it, from the code location's snapshot."""
    location = workspace.get_code_location("cicl")
    repo = location.get_repository("__repository__")
    remote_job = location.get_job(
        JobSubsetSelector(
            location_name="cicl",
            repository_name=repo.name,
            job_name=job_name,
            op_selection=None,
            asset_selection=asset_selection,
        )
    )
    if asset_selection is None:
        return _create_run(
            instance=instance,
            code_location=location,
            remote_repo=repo,
            remote_job=remote_job,
            run_config=run_config or {},
            tags=tags,
            op_selection=None,
            run_id=None,
        )
    plan = location.get_execution_plan(remote_job, {}, None, None, instance=instance)
    return instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config={},
        resolved_op_selection=None,
        step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**remote_job.tags, **(tags or {})},
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=frozenset(asset_selection),
        asset_check_selection=None,
        asset_graph=repo.asset_graph,
    )


def _queue_home(world) -> Path:
    """The VM config as it is (storage, run queue and its tag limits), except that a dequeued run
    executes in this process: a run worker process would cost a Dagster start-up per run."""
    home = world["root"] / "queue_home"
    home.mkdir()
    config = yaml.safe_load((DEPLOY / "dagster-vm.yaml").read_text())
    config["run_launcher"] = {
        "module": "dagster._core.launcher.sync_in_memory_run_launcher",
        "class": "SyncInMemoryRunLauncher",
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _dequeue(process_context) -> None:
    """One pass of the daemon's queue: what `dagster-daemon run` does every few seconds."""
    with QueuedRunCoordinatorDaemon(interval_seconds=2) as daemon:
        list(daemon.run_iteration(process_context))


def _status(instance, runs) -> list[DagsterRunStatus]:
    return [instance.get_run_by_id(r.run_id).status for r in runs]


def test_the_queue_runs_chain_appenders_one_at_a_time_and_the_chain_verifies(world):
    breach = world["state"]["breaches"][GATEWAY_BREACH]
    instance = dg.DagsterInstance.from_config(str(_queue_home(world)))
    try:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        with _workspace(instance) as process_context:
            workspace = process_context.create_request_context()
            review = _create(
                instance,
                workspace,
                "cl_evaluation",
                run_config=breach.run_config,
                tags={**breach.tags, "dagster/run_key": breach.run_key},
            )
            # A reviewer's approval of the routing candidate (it needs two: it stays open).
            approve = _review_run(instance, workspace, world["state"]["routing"], "dana")
            # The only limited tag they share is the chain's.
            shared = set(only_concurrency_tags(review.tags)) & set(
                only_concurrency_tags(approve.tags)
            )
            assert shared == {CHAIN_TAG}
            queued = [review, approve]
            for run in queued:
                instance.submit_run(run.run_id, workspace)
            assert _status(instance, queued) == [DagsterRunStatus.QUEUED] * 2
            # Two runs may run at once, yet the first pass dequeues one: the chain's limit holds
            # the other back until the first has finished.
            _dequeue(process_context)
            assert _status(instance, queued) == [DagsterRunStatus.SUCCESS, DagsterRunStatus.QUEUED]
            _dequeue(process_context)
            assert _status(instance, queued) == [DagsterRunStatus.SUCCESS] * 2
        records = {
            r.dagster_run.run_id: r
            for r in instance.get_run_records(RunsFilter(run_ids=[r.run_id for r in queued]))
        }
        assert records[approve.run_id].start_time >= records[review.run_id].end_time
    finally:
        instance.dispose()
    # Both appended: the review the breach triggered, then the approval; the chain verifies
    # against the heads published after each append.
    warehouse = _warehouse(world)
    rows = read_chain(warehouse)
    reviews = [r for r in rows if r["action"] == "cl_review_triggered"]
    assert [r["resource"] for r in reviews] == ["slo/gateway-availability"]
    decided = [r for r in rows if r["action"].startswith("candidate_")]
    assert [(r["action"], r["actor"]) for r in decided] == [("candidate_approve", "dana")]
    assert rows.index(decided[0]) > rows.index(reviews[0])
    # The resource holds the key as an EnvVar, resolved only inside a run: here it is given.
    defs = world["defs"]
    config = defs.resources["cicl_config"].model_copy(update={"signing_key": world["signing_key"]})
    verdict = judge_chain(rows, config.chain_notary(warehouse))
    assert verdict.passed, verdict.description


def test_the_review_recorded_once_and_refused_the_same_reviewer(world):
    defs, instance, warehouse = world["defs"], world["instance"], _warehouse(world)
    routing = world["state"]["routing"]
    config = {"decision": "approve", "reviewer": "dana", "justification": "the p95 drops"}
    again = defs.resolve_job_def(REVIEW_JOB).execute_in_process(
        instance=instance,
        partition_key=routing,
        run_config={"ops": {"candidate_review": {"config": config}}},
        raise_on_error=False,
    )
    assert not again.success
    assert instance.get_run_by_id(again.run_id).status == DagsterRunStatus.FAILURE
    # One decision (routing needs two people: still open), chained once; the refusal wrote
    # neither a row nor an event.
    [decision] = _decisions(warehouse)
    assert decision[:4] == (routing, "dana", "approve", "open")
    decided = [r for r in read_chain(warehouse) if r["action"].startswith("candidate_")]
    assert [(r["action"], r["actor"], r["hash"]) for r in decided] == [
        ("candidate_approve", "dana", decision[4])
    ]
    [failure] = instance.all_logs(again.run_id, of_type=DagsterEventType.STEP_FAILURE)
    reason = failure.dagster_event.step_failure_data.user_failure_data.description
    assert reason.startswith(
        f"Decision refused, nothing recorded: dana already decided on candidate {routing} "
        "(approve at "
    ), reason
    assert reason.endswith("one decision per reviewer; another reviewer must add theirs"), reason
    # Still waiting for a second reviewer: its partition stays in the queue.
    assert routing in instance.get_dynamic_partitions(CANDIDATE_PARTITIONS)


def _k8s_home(world, kubeconfig: Path) -> Path:
    """The production config as it is, except that the launcher reads a kubeconfig (no cluster
    here) instead of the in-cluster service account."""
    home = world["root"] / "k8s_home"
    home.mkdir()
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["run_launcher"]["config"]["load_incluster_config"] = False
    config["run_launcher"]["config"]["kubeconfig_file"] = str(kubeconfig)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


class _BatchApi:
    """Kubernetes' batch API as far as the launcher uses it: the Job it would create."""

    def __init__(self):
        self.created = []

    def create_namespaced_job(self, body, namespace, **_):
        self.created.append((namespace, body))
        return body


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_the_k8s_launcher_runs_the_images_own_dagster_command(world):
    kubeconfig = world["root"] / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    home = _k8s_home(world, kubeconfig)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        launcher = instance.run_launcher
        assert type(launcher).__name__ == "K8sRunLauncher"
        batch = _BatchApi()
        launcher._api_client.batch_api = batch
        with _workspace(instance) as process_context:
            workspace = process_context.create_request_context()
            run = _create(instance, workspace, "deployments_ingest")
            instance.launch_run(run.run_id, workspace)
        [(namespace, job)] = batch.created
        assert namespace == "cicl"
        pod = job.spec.template.spec
        assert pod.service_account_name == "cicl"
        [container] = pod.containers
        assert container.image == IMAGE  # the code location's image, by digest
        assert container.args[:3] == ["dagster", "api", "execute_run"]
        env = {e.name: e for e in container.env}
        assert env["DAGSTER_HOME"].value == "/opt/dagster/dagster_home"
        assert env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref.name == (
            "dagster-postgresql-secret"
        )
        # The pod's command line, run here by the `dagster` command the environment installs
        # (the image installs the same lock), in this process: the run succeeds in PostgreSQL.
        [command] = entry_points(group="console_scripts", name=container.args[0])
        assert command.value == "dagster._cli:main"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DAGSTER_HOME", str(home))
            done = CliRunner().invoke(dagster_cli, container.args[1:])
        assert done.exit_code == 0, (done.output[-3000:], done.exception)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.SUCCESS
    finally:
        instance.dispose()
