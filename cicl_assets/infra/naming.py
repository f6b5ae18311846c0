"""What a landing path and its file name say: environment, a timestamp."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ENVIRONMENT_ALIASES = {
    "prod": "production",
    "prd": "production",
    "production": "production",
    "live": "production",
    "stg": "staging",
    "stage": "staging",
    "staging": "staging",
    "dev": "dev",
    "develop": "dev",
    "development": "dev",
}

# 2026-11-03T09:12:00Z, 2026-11-03T0912Z, 20261103T091200Z, 2026-11-03_09-12-00, 2026-11-03
_NAME_TIME = re.compile(
    r"(?P<y>20\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T_ -]?(?P<H>[0-2]\d)[:-]?(?P<M>[0-5]\d)(?:[:-]?(?P<S>[0-5]\d))?)?"
)


def normalise_environment(value: object) -> str | None:
    """prod/production/prd -> production, stg/stage -> staging, dev/development -> dev."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    return _ENVIRONMENT_ALIASES.get(text, text)


def environment_from_path(source_file: str, root: str) -> str | None:
    """``infra/<environment>/...`` -> the normalised environment; None directly under root."""
    parts = [p for p in source_file.replace("\\", "/").split("/") if p]
    if len(parts) >= 3 and parts[0] == root:
        return normalise_environment(parts[1])
    return None


def folder_of(source_file: str) -> str:
    return source_file.rsplit("/", 1)[0] if "/" in source_file else ""


def time_from_name(source_file: str) -> datetime | None:
    """A UTC timestamp written into the file name (apply-2026-11-03T0912Z.log), if any."""
    name = source_file.rsplit("/", 1)[-1]
    for m in _NAME_TIME.finditer(name):
        try:
            return datetime(
                int(m["y"]),
                int(m["m"]),
                int(m["d"]),
                int(m["H"] or 0),
                int(m["M"] or 0),
                int(m["S"] or 0),
                tzinfo=UTC,
            )
        except ValueError:
            continue
    return None
