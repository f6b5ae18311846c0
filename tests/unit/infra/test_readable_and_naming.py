from datetime import UTC, datetime

import pytest

from cicl_assets.infra.linking import match_readable
from cicl_assets.infra.naming import environment_from_path, normalise_environment, time_from_name
from cicl_assets.ingest.values import checked_time
from tests.unit.infra.fixtures import parse_fixture, parse_infra


def test_plan_readable_text_is_an_artifact_reference():
    fmt, tables = parse_fixture("cicl-plan-readable.txt", "staging")
    assert fmt == "tofu-plan-readable"
    [row] = tables["infra_plan_artifacts"]
    assert row["artifact_path"] == "infra/staging/cicl-plan-readable.txt"
    assert (row["has_changes"], row["to_add"], row["to_change"], row["to_destroy"]) == (
        True,
        1,
        1,
        1,
    )
    assert row["tool"] == "opentofu"


def test_no_changes_text():
    _, tables = parse_fixture("cicl-plan-readable-nochanges.txt")
    [row] = tables["infra_plan_artifacts"]
    assert row["has_changes"] is False and row["to_add"] == 0


def test_failed_plan_text_is_a_plan_artifact_not_an_apply_log():
    text = (
        "Planning failed. OpenTofu encountered an error while generating this plan.\n\n"
        "\u2577\n\u2502 Error: Invalid reference\n\u2502 \n"
        '\u2502   on main.tf line 3, in resource "x" "y":\n\u2575\n'
    ).encode()
    fmt, tables = parse_infra(text, "infra/dev/plan-readable.txt")
    assert fmt == "tofu-plan-readable"
    [row] = tables["infra_plan_artifacts"]
    assert (row["has_changes"], row["plan_error"]) == (False, "Invalid reference")


def test_match_readable_by_folder_and_stem():
    plans = [
        "infra/production/run-1/plan.json",
        "infra/staging/plan-2026-11-03.json",
        "infra/staging/plan-2026-11-04.json",
        "infra/dev/plan.json",
    ]
    artifacts = [
        "infra/production/run-1/plan-readable.txt",
        "infra/staging/plan-2026-11-03-readable.txt",
        "infra/staging/plan-2026-11-04-readable.txt",
    ]
    assert match_readable(plans, artifacts) == {
        "infra/production/run-1/plan.json": "infra/production/run-1/plan-readable.txt",
        "infra/staging/plan-2026-11-03.json": "infra/staging/plan-2026-11-03-readable.txt",
        "infra/staging/plan-2026-11-04.json": "infra/staging/plan-2026-11-04-readable.txt",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod", "production"),
        ("PRD", "production"),
        ("stg", "staging"),
        ("stage", "staging"),
        ("development", "dev"),
        ("qa", "qa"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_environment(value, expected):
    assert normalise_environment(value) == expected


def test_environment_from_path():
    assert environment_from_path("infra/prod/plan.json", "infra") == "production"
    assert environment_from_path("infra/plan.json", "infra") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("infra/p/apply-2026-11-03T0912Z.log", datetime(2026, 11, 3, 9, 12, tzinfo=UTC)),
        ("infra/p/apply-20261103-091233.log", datetime(2026, 11, 3, 9, 12, 33, tzinfo=UTC)),
        ("infra/p/drift-2026-11-03.json", datetime(2026, 11, 3, tzinfo=UTC)),
        ("infra/p/apply.log", None),
    ],
)
def test_time_from_name(name, expected):
    assert time_from_name(name) == expected


def test_parse_time_variants():
    assert checked_time("2021-04-28 21:50:00 +0200", "t") == datetime(
        2021, 4, 28, 19, 50, tzinfo=UTC
    )
    assert checked_time("2026-11-05T07:30:01.1234567Z", "t") == datetime(
        2026, 11, 5, 7, 30, 1, 123456, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="not a timestamp"):
        checked_time("soon", "t")
