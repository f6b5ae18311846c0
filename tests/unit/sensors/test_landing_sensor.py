import json

import dagster as dg

from cicl_assets.landing import LandingZone
from sensors.landing import landing_arrivals_sensor


@dg.asset(group_name="ci")
def ci_probe() -> None: ...


@dg.asset(group_name="infra")
def infra_probe() -> None: ...


@dg.asset(group_name="slo", deps=[ci_probe])
def downstream_of_ci() -> None: ...


@dg.asset(group_name="learning", deps=[ci_probe])
def evaluation_probe() -> None: ...


def _evaluate(landing_root, cursor=None):
    defs = dg.Definitions(
        assets=[ci_probe, infra_probe, downstream_of_ci, evaluation_probe],
        sensors=[landing_arrivals_sensor],
        resources={"landing": LandingZone(uri=str(landing_root))},
    )
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
        )
        return landing_arrivals_sensor(context)


def test_new_ci_files_launch_ci_assets_and_downstream_once(tmp_path):
    (tmp_path / "ci" / "run-1").mkdir(parents=True)
    (tmp_path / "ci" / "run-1" / "run.json").write_text("{}")

    first = _evaluate(tmp_path)
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    # The key carries the listing's fingerprint the cursor keeps, so a tick never repeats it.
    assert request.run_key == f"landing:ci:{json.loads(first.cursor)['ci']}"
    assert request.tags == {"cicl/landing_folder": "ci", "cicl/files_listed": "1"}
    assert {k.to_user_string() for k in request.asset_selection} == {"ci_probe", "downstream_of_ci"}

    again = _evaluate(tmp_path, first.cursor)
    assert again.run_requests == []
    assert json.loads(again.cursor) == json.loads(first.cursor)


def test_a_changed_listing_gets_a_new_run_key(tmp_path):
    (tmp_path / "ci" / "run-1").mkdir(parents=True)
    (tmp_path / "ci" / "run-1" / "run.json").write_text("{}")
    first = _evaluate(tmp_path)
    (tmp_path / "infra" / "dev").mkdir(parents=True)
    (tmp_path / "infra" / "dev" / "plan.json").write_text("{}")
    (tmp_path / "ci" / "run-2").mkdir(parents=True)
    (tmp_path / "ci" / "run-2" / "run.json").write_text("{}")

    second = _evaluate(tmp_path, first.cursor)
    keys = sorted(r.run_key for r in second.run_requests)
    assert [k.split(":")[1] for k in keys] == ["ci", "infra"]
    assert first.run_requests[0].run_key not in keys


def test_empty_landing_zone_launches_nothing(tmp_path):
    assert _evaluate(tmp_path).run_requests == []
