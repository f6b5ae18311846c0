"""config/prices.yaml: the shipped table loads, a call is priced at the entry in effect when it
started, and each malformed entry is refused with a message naming it."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicl_assets.learning.routing.prices import PriceTableError, load_prices, parse_prices

CONFIG = Path(__file__).parents[4] / "config"

TABLE = """
prices:
  - {provider: openai, model: m, effective_from: 2025-01-01, input_per_mtok: 2, output_per_mtok: 8}
  - {provider: openai, model: m, effective_from: 2025-06-01, input_per_mtok: 1, output_per_mtok: 4}
  - provider: anthropic
    model: s
    effective_from: 2025-01-01
    input_per_mtok: 3
    output_per_mtok: 15
    long_context: {above_input_tokens: 200000, input_per_mtok: 6, output_per_mtok: 22.5}
"""


def at(month: int, day: int) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "model", "when", "tokens", "cost"),
    [
        ("openai", "m", at(3, 1), (1_000_000, 1_000_000), 10.0),
        ("openai", "m", at(6, 1), (1_000_000, 1_000_000), 5.0),  # the later price from its day
        ("anthropic", "s", at(3, 1), (200_000, 1000), 0.615),  # at the threshold: base rate
        ("anthropic", "s", at(3, 1), (200_001, 1000), 1.222506),  # above: the whole call long
    ],
)
def test_a_call_is_priced_at_the_entry_in_effect(provider, model, when, tokens, cost):
    price = parse_prices(TABLE).at(provider, model, when)
    assert price is not None
    assert price.cost(*tokens) == pytest.approx(cost, abs=1e-9)


@pytest.mark.parametrize(
    ("provider", "model", "when"),
    [("openai", "m", datetime(2024, 12, 31, 23, tzinfo=UTC)), ("openai", "other", at(3, 1))],
)
def test_no_price_before_the_first_entry_or_for_an_unknown_model(provider, model, when):
    assert parse_prices(TABLE).at(provider, model, when) is None


def test_the_shipped_table_prices_the_demo_models():
    table = load_prices(CONFIG)
    when = datetime(2026, 11, 4, tzinfo=UTC)
    assert {(p.provider, p.model) for p in table.prices} == {
        ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4"), ("gcp.gemini", "gemini-2.5-pro"),
    }  # fmt: skip
    assert table.at("openai", "gpt-4.1", when).cost(1000, 100) == pytest.approx(0.0028)


ENTRY = (
    "{provider: openai, model: m, effective_from: 2025-01-01, input_per_mtok: 2, output_per_mtok: 8"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prices: 3", "expected a mapping with a 'prices' list"),
        ("prices: [{provider: openai}]", "prices[0]: model must be a non-empty string"),
        (f"prices: [{ENTRY}, colour: red}}]", "prices[0]: unknown keys ['colour']"),
        (ENTRY.replace("2025-01-01", "soon").join(["prices: [", "}]"]),
         "prices[0]: effective_from must be a date (YYYY-MM-DD), not 'soon'"),
        (ENTRY.replace("input_per_mtok: 2", "input_per_mtok: -2").join(["prices: [", "}]"]),
         "prices[0]: input_per_mtok must be a number of USD >= 0, not -2"),
        (f"prices: [{ENTRY}}}, {ENTRY}}}]", "two prices for openai m from 2025-01-01"),
        (f"prices: [{ENTRY}, long_context: {{above_input_tokens: 5}}}}]",
         "prices[0]: long_context must have exactly"),
    ],
)  # fmt: skip
def test_a_malformed_table_is_refused_naming_the_entry(text, message):
    with pytest.raises(PriceTableError) as raised:
        parse_prices(text, "prices.yaml")
    assert message in str(raised.value)
    assert str(raised.value).startswith("prices.yaml: ")
