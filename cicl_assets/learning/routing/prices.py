"""config/prices.yaml: list prices of LLM models per 1M input and output tokens, with the date
each price took effect. A call is priced at the entry in effect when it started; a model with no
entry then has no price (the scorecard flags it rather than counting it as free)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = "prices.yaml"
ENTRY_KEYS = {
    "provider", "model", "effective_from", "input_per_mtok", "output_per_mtok", "long_context",
}  # fmt: skip
TIER_KEYS = {"above_input_tokens", "input_per_mtok", "output_per_mtok"}
PER_TOKEN = 1_000_000


class PriceTableError(ValueError):
    """The price table cannot be used as written; the message names the file and the entry."""


@dataclass(frozen=True)
class Price:
    provider: str
    model: str
    effective_from: date
    input_per_mtok: float
    output_per_mtok: float
    long_context_above: int | None = None
    long_input_per_mtok: float | None = None
    long_output_per_mtok: float | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD of one call with these token counts."""
        long = self.long_context_above is not None and input_tokens > self.long_context_above
        per_in = self.long_input_per_mtok if long else self.input_per_mtok
        per_out = self.long_output_per_mtok if long else self.output_per_mtok
        return (input_tokens * per_in + output_tokens * per_out) / PER_TOKEN  # type: ignore[operator]


@dataclass(frozen=True)
class PriceTable:
    prices: tuple[Price, ...]

    def at(self, provider: str | None, model: str | None, when: datetime) -> Price | None:
        """The price of the model in effect at ``when``; None when the table has none."""
        day = when.astimezone(UTC).date()
        found = [
            p
            for p in self.prices
            if p.provider == provider and p.model == model and p.effective_from <= day
        ]
        return max(found, key=lambda p: p.effective_from) if found else None


def _amount(where: str, entry: Mapping[str, Any], key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PriceTableError(f"{where}: {key} must be a number of USD >= 0, not {value!r}")
    return float(value)


def _date(where: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PriceTableError(
            f"{where}: effective_from must be a date (YYYY-MM-DD), not {value!r}"
        ) from None


def _price(where: str, entry: Any) -> Price:
    if not isinstance(entry, dict):
        raise PriceTableError(f"{where}: expected a mapping, not {entry!r}")
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise PriceTableError(
            f"{where}: unknown keys {sorted(unknown)} (known: {sorted(ENTRY_KEYS)})"
        )
    for key in ("provider", "model"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise PriceTableError(f"{where}: {key} must be a non-empty string")
    tier = entry.get("long_context")
    long: dict[str, Any] = {}
    if tier is not None:
        if not isinstance(tier, dict) or set(tier) != TIER_KEYS:
            raise PriceTableError(f"{where}: long_context must have exactly {sorted(TIER_KEYS)}")
        above = tier["above_input_tokens"]
        if isinstance(above, bool) or not isinstance(above, int) or above <= 0:
            raise PriceTableError(f"{where}: long_context.above_input_tokens must be an int > 0")
        long = {
            "long_context_above": above,
            "long_input_per_mtok": _amount(f"{where}.long_context", tier, "input_per_mtok"),
            "long_output_per_mtok": _amount(f"{where}.long_context", tier, "output_per_mtok"),
        }
    return Price(
        provider=entry["provider"],
        model=entry["model"],
        effective_from=_date(where, entry.get("effective_from")),
        input_per_mtok=_amount(where, entry, "input_per_mtok"),
        output_per_mtok=_amount(where, entry, "output_per_mtok"),
        **long,
    )


def parse_prices(text: str, source: str = PRICES_FILE) -> PriceTable:
    """The table in ``text``; PriceTableError naming the entry when one is malformed or two
    entries claim the same model from the same date."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceTableError(f"{source}: not YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("prices"), list):
        raise PriceTableError(f"{source}: expected a mapping with a 'prices' list")
    prices = tuple(_price(f"{source}: prices[{i}]", e) for i, e in enumerate(doc["prices"]))
    seen: set[tuple[str, str, date]] = set()
    for p in prices:
        key = (p.provider, p.model, p.effective_from)
        if key in seen:
            raise PriceTableError(
                f"{source}: two prices for {p.provider} {p.model} from {p.effective_from}"
            )
        seen.add(key)
    return PriceTable(prices)


def load_prices(config_dir: Path) -> PriceTable:
    """The price table of ``config_dir``; an empty one (every model unpriced) when absent."""
    path = config_dir / PRICES_FILE
    if not path.exists():
        return PriceTable(())
    return parse_prices(path.read_text(), str(path))
