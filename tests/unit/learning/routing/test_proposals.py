"""Routing proposals from scorecard rows: who violates what, where the freed share goes, the
floor and the step cap, the expected effect, and no proposal when nothing is wrong."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.routing.groups import (
    RoutingConfigError,
    RoutingPolicy,
    load_groups,
    load_policy,
    parse_groups,
)
from cicl_assets.learning.routing.prices import load_prices, parse_prices
from cicl_assets.learning.routing.proposals import propose
from cicl_assets.learning.routing.stats import wilson
from tests.unit.learning.routing.test_prices import CONFIG

AS_OF = datetime(2026, 11, 5, tzinfo=UTC)
POLICY = RoutingPolicy()
PRICES = load_prices(CONFIG)
GROUPS = {g.name: g for g in load_groups(CONFIG)}
KEYS = {
    "anthropic": ("anthropic", "claude-sonnet-4"),
    "openai": ("openai", "gpt-4.1"),
    "gemini": ("gcp.gemini", "gemini-2.5-pro"),
}


def row(p50: float, errors: int = 1, calls: int = 100, quality: float | None = None) -> dict:
    low, high = wilson(errors, calls)
    return {
        "calls": calls, "errors": errors, "error_rate": errors / calls, "error_rate_low": low,
        "error_rate_high": high, "latency_p50_ms": p50, "input_tokens": 1000 * calls,
        "output_tokens": 100 * calls, "quality": quality,
    }  # fmt: skip


def history(**p50s: float) -> dict:
    return {KEYS[k]: [row(v) for _ in range(3)] for k, v in p50s.items()}


def shares(proposal: dict) -> dict[str, float]:
    return {
        e["litellm_params"]["model"]: e["litellm_params"]["weight"]
        for e in json.loads(proposal["proposed_weights"])
    }


def test_the_shipped_groups_are_litellm_model_lists():
    assert {n: [(d.name, d.provider, d.weight) for d in g.deployments] for n, g in GROUPS.items()} == {
        "drafting": [("anthropic/claude-sonnet-4", "anthropic", 7.0), ("openai/gpt-4.1", "openai", 3.0)],
        "classification": [("gemini/gemini-2.5-pro", "gcp.gemini", 6.0), ("openai/gpt-4.1", "openai", 4.0)],
        "general": [("openai/gpt-4.1", "openai", 4.0), ("anthropic/claude-sonnet-4", "anthropic", 3.0),
                    ("gemini/gemini-2.5-pro", "gcp.gemini", 3.0)],
    }  # fmt: skip
    assert load_policy(CONFIG) == POLICY


def test_a_slowed_deployment_gives_up_share_capped_at_one_step():
    today = {KEYS["anthropic"]: row(5000), KEYS["openai"]: row(1800)}
    found = propose(GROUPS["drafting"], today, history(anthropic=2000, openai=1800), POLICY,
                    PRICES, AS_OF)  # fmt: skip
    # 0.7 / 2.5 = 0.28 wanted, 0.42 freed to openai; the 0.42 move is scaled to the 0.20 cap.
    assert shares(found) == {"anthropic/claude-sonnet-4": 5.0, "openai/gpt-4.1": 5.0}
    assert json.loads(found["current_weights"]) == [
        {"model_name": "drafting", "litellm_params": {"model": "anthropic/claude-sonnet-4", "weight": 7.0}},
        {"model_name": "drafting", "litellm_params": {"model": "openai/gpt-4.1", "weight": 3.0}},
    ]  # fmt: skip
    assert (found["severity"], found["title"]) == (
        "high",
        "drafting: shift traffic from anthropic/claude-sonnet-4 to openai/gpt-4.1",
    )
    assert found["reasons"].splitlines() == [
        "anthropic/claude-sonnet-4: p50 latency 5,000 ms is 2.5x its 3-day baseline (2,000 ms); "
        "share 70% -> 50%.",
        "openai/gpt-4.1: within its constraints; share 30% -> 50%.",
    ]
    # Expected effect: share-weighted p50 and USD per 1k calls at the group's 1000/100 tokens.
    assert (
        found["expected_latency_p50_ms_current"],
        found["expected_latency_p50_ms_proposed"],
    ) == (4040.0, 3400.0)
    # anthropic 1000x3 + 100x15 = 4.5 USD per 1k calls, openai 1000x2 + 100x8 = 2.8
    assert found["expected_cost_per_1k_calls_current"] == pytest.approx(0.7 * 4.5 + 0.3 * 2.8)
    assert found["expected_cost_per_1k_calls_proposed"] == pytest.approx(0.5 * 4.5 + 0.5 * 2.8)
    assert found["expected_quality_current"] is None  # no quality known: not guessed
    again = propose(GROUPS["drafting"], today, history(anthropic=2000, openai=1800), POLICY,
                    PRICES, AS_OF)  # fmt: skip
    assert again["proposal_id"] == found["proposal_id"]
    later = propose(GROUPS["drafting"], today, history(anthropic=2000, openai=1800), POLICY,
                    PRICES, AS_OF + timedelta(days=1))  # fmt: skip
    assert later["proposal_id"] != found["proposal_id"]


def test_errors_apart_from_the_baseline_move_share():
    today = {KEYS["gemini"]: row(1500, errors=12, calls=200), KEYS["openai"]: row(1800)}
    past = {KEYS["gemini"]: [row(1500, errors=2, calls=200)] * 3, KEYS["openai"]: [row(1800)] * 3}
    found = propose(GROUPS["classification"], today, past, POLICY, PRICES, AS_OF)
    # 6% against 1% (Wilson 3.5% lower vs 2.2% upper): 0.6 / 6 wanted, move capped at 0.2.
    assert shares(found) == {"gemini/gemini-2.5-pro": 4.0, "openai/gpt-4.1": 6.0}
    assert found["reasons"].splitlines()[0] == (
        "gemini/gemini-2.5-pro: error rate 6.0% (12 of 200 calls) is 6.0x its baseline (1.0%), "
        "Wilson 95% intervals apart; share 60% -> 40%."
    )


def test_freed_share_goes_by_quality_per_dollar_and_the_floor_holds():
    group = GROUPS["general"]
    past = history(openai=1800, anthropic=2000, gemini=1500)
    today = {KEYS["openai"]: row(1800, quality=0.8), KEYS["anthropic"]: row(4000, quality=0.8),
             KEYS["gemini"]: row(1500, quality=0.8)}  # fmt: skip
    uncapped = replace(POLICY, max_step=1.0, floor_share=0.0)
    # anthropic 0.3 / 2 = 0.15; 0.15 freed by share x quality / USD per call at 1000/100 tokens:
    # openai 0.4 x 0.8 / 0.0028, gemini 0.3 x 0.8 / 0.00225.
    assert shares(propose(group, today, past, uncapped, PRICES, AS_OF)) == {
        "openai/gpt-4.1": 4.78, "anthropic/claude-sonnet-4": 1.5, "gemini/gemini-2.5-pro": 3.72,
    }  # fmt: skip
    today[KEYS["anthropic"]] = row(20000)
    # anthropic 0.3 / 10 = 0.03; 0.27 freed (openai 0.5397, gemini 0.4303); anthropic is lifted
    # to the 5% floor, the 0.02 taken from the others in proportion to their share above it.
    floored = replace(POLICY, max_step=1.0)
    assert shares(propose(group, today, past, floored, PRICES, AS_OF)) == {
        "openai/gpt-4.1": 5.28, "anthropic/claude-sonnet-4": 0.5, "gemini/gemini-2.5-pro": 4.22,
    }  # fmt: skip


@pytest.mark.parametrize(
    "today",
    [
        {KEYS["anthropic"]: row(2100), KEYS["openai"]: row(1850, errors=2)},  # quiet day
        {KEYS["anthropic"]: row(5000, calls=20), KEYS["openai"]: row(1800)},  # too few calls
        {KEYS["openai"]: row(1800)},  # a deployment without calls is not judged
    ],
)
def test_nothing_to_propose(today):
    past = history(anthropic=2000, openai=1800)
    assert propose(GROUPS["drafting"], today, past, POLICY, PRICES, AS_OF) is None


def test_without_a_baseline_only_the_absolute_error_limit_applies():
    today = {KEYS["anthropic"]: row(9000, errors=30), KEYS["openai"]: row(1800)}
    found = propose(GROUPS["drafting"], today, {}, POLICY, PRICES, AS_OF)
    assert found["reasons"].splitlines()[0] == (
        "anthropic/claude-sonnet-4: error rate 30.0% is above the 10% limit (Wilson 95% lower "
        "bound 21.9%); share 70% -> 50%."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model_list: [{model_name: g, litellm_params: {model: gpt-4.1}}]",
         "model_list[0]: litellm_params.model must read <provider>/<model>"),
        ("model_list: [{model_name: g, litellm_params: {model: acme/x}}]",
         "model_list[0]: provider 'acme' is not one of"),
        ("model_list: [{model_name: g, litellm_params: {model: openai/x, weight: -1}}]",
         "model_list[0]: litellm_params.weight must be a number >= 0"),
        ("model_list: [{model_name: g, litellm_params: {model: openai/x}}, "
         "{model_name: g, litellm_params: {model: openai/x}}]", "openai/x is twice in group 'g'"),
        ("model_list: [{model_name: g, litellm_params: {model: openai/x, weight: 0}}]",
         "group 'g' has no weight above zero"),
    ],
)  # fmt: skip
def test_a_malformed_model_list_is_refused(text, message):
    with pytest.raises(RoutingConfigError) as raised:
        parse_groups(text)
    assert message in str(raised.value)


def test_unpriced_models_keep_their_share_split_by_current_weights():
    group = GROUPS["general"]
    past = history(openai=1800, anthropic=2000, gemini=1500)
    today = {KEYS["openai"]: row(1800, quality=0.8), KEYS["anthropic"]: row(4000, quality=0.8),
             KEYS["gemini"]: row(1500, quality=0.8)}  # fmt: skip
    no_prices = parse_prices("prices: []")
    found = propose(group, today, past, replace(POLICY, max_step=1.0), no_prices, AS_OF)
    # 0.15 freed, split 4:3: openai 0.4857, gemini 0.3643
    assert shares(found) == {
        "openai/gpt-4.1": 4.86, "anthropic/claude-sonnet-4": 1.5, "gemini/gemini-2.5-pro": 3.64,
    }  # fmt: skip
    assert found["expected_cost_per_1k_calls_current"] is None
