"""A failure's signature: its error type plus its message with the variable parts masked.

The masking rules are data (masks.yaml beside this module), applied in order; the same message
always gives the same signature.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

MASKS_FILE = Path(__file__).with_name("masks.yaml")
MESSAGE_CAP = 400


@dataclass(frozen=True)
class MaskRule:
    name: str
    pattern: re.Pattern[str]
    token: str
    min_length: int = 0


def load_rules(path: Path = MASKS_FILE) -> tuple[MaskRule, ...]:
    doc = yaml.safe_load(path.read_text())
    return tuple(
        MaskRule(r["name"], re.compile(r["pattern"]), r["token"], int(r.get("min_length", 0)))
        for r in doc
    )


@cache
def default_rules() -> tuple[MaskRule, ...]:
    return load_rules()


def mask(message: str, rules: tuple[MaskRule, ...] | None = None) -> str:
    text = " ".join(message.split())[:MESSAGE_CAP]
    for rule in rules or default_rules():
        if rule.min_length:
            text = rule.pattern.sub(
                lambda m, r=rule: r.token if len(m.group(0)) >= r.min_length else m.group(0), text
            )
        else:
            text = rule.pattern.sub(rule.token, text)
    return text


def signature(error_type: str | None, message: str | None) -> str:
    return f"{error_type or 'error'}: {mask(message or '')}".strip()


def mode_id(sig: str) -> str:
    return hashlib.sha256(sig.encode()).hexdigest()[:16]
