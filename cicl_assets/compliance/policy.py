"""The compliance policies as data: config/policies/gates.yaml and change_windows.yaml.

A policy file that cannot be read is an error naming the file and the entry, never a silent
default: a gate that quietly opens is worse than a run that stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import require_time

GATES_FILE = Path("policies") / "gates.yaml"
WINDOWS_FILE = Path("policies") / "change_windows.yaml"
EVIDENCE_FILE = Path("policies") / "evidence.yaml"
CHECKS = (
    "ci_stages",
    "scan",
    "sbom",
    "attestation",
    "approval",
    "change_window",
    "promotion",
    "post_deploy",
    "audit",
)
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """A policy file is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class Waiver:
    rule_id: str
    owner: str
    reason: str
    expires: datetime
    services: tuple[str, ...] = ()

    def covers(self, rule_id: str | None, service: str | None) -> bool:
        return rule_id == self.rule_id and (not self.services or service in self.services)


@dataclass(frozen=True)
class EnvironmentGate:
    block: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    promoted_from: str | None = None


@dataclass(frozen=True)
class GatePolicy:
    environments: dict[str, EnvironmentGate] = field(default_factory=dict)
    ci_stages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    post_deploy_steps: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    # What an infrastructure apply must be verified on afterwards (infra_apply_evidence).
    post_apply_targets: tuple[str, ...] = ()

    def gate(self, environment: str | None) -> EnvironmentGate | None:
        return self.environments.get(environment or "")


@dataclass(frozen=True)
class WeeklyWindow:
    days: tuple[int, ...]  # Monday is 0
    start: time
    end: time


@dataclass(frozen=True)
class Freeze:
    first: date
    last: date
    reason: str


@dataclass(frozen=True)
class ChangeWindows:
    time_zone: ZoneInfo
    weekly: tuple[WeeklyWindow, ...] = ()
    freezes: tuple[Freeze, ...] = ()


@dataclass(frozen=True)
class BundlePolicy:
    """When a production deployment's first bundle is cut, and the SLO window it states."""

    grace: timedelta = timedelta(hours=1)
    slo_before: timedelta = timedelta(hours=1)
    slo_after: timedelta = timedelta(hours=24)


def _mapping(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise PolicyError(f"{where}: expected a mapping")
    return doc


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: expected a list of names")
    return tuple(value)


def _load(config_dir: Path, name: Path) -> tuple[dict[str, Any], str]:
    path = config_dir / name
    if not path.is_file():
        raise PolicyError(f"{path}: missing (the compliance gates need it)")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not YAML ({exc})") from None
    return _mapping(doc, str(path)), str(path)


def _instant(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    try:
        return require_time(value, where)
    except ParseError as exc:
        raise PolicyError(str(exc)) from None


def _waiver(raw: Any, where: str) -> Waiver:
    raw = _mapping(raw, where)
    for key in ("rule_id", "owner", "reason", "expires"):
        if not raw.get(key):
            raise PolicyError(f"{where}: a waiver needs {key}")
    return Waiver(
        rule_id=str(raw["rule_id"]),
        owner=str(raw["owner"]),
        reason=str(raw["reason"]),
        expires=_instant(raw["expires"], f"{where}: expires"),
        services=_names(raw.get("services"), f"{where}: services"),
    )


def parse_gates(doc: dict[str, Any], origin: str) -> GatePolicy:
    environments = {}
    for env, raw in _mapping(doc.get("environments") or {}, f"{origin}: environments").items():
        where = f"{origin}: environments.{env}"
        raw = _mapping(raw or {}, where)
        block = tuple(s.upper() for s in _names(raw.get("block"), f"{where}.block"))
        unknown = [s for s in block if s not in SEVERITIES]
        if unknown:
            raise PolicyError(f"{where}.block: {unknown[0]} is not one of {', '.join(SEVERITIES)}")
        requires = _names(raw.get("requires"), f"{where}.requires")
        unknown = [c for c in requires if c not in CHECKS]
        if unknown:
            raise PolicyError(f"{where}.requires: {unknown[0]} is not one of {', '.join(CHECKS)}")
        promoted_from = raw.get("promoted_from")
        if "promotion" in requires and not promoted_from:
            raise PolicyError(f"{where}: requires promotion but names no promoted_from")
        environments[str(env)] = EnvironmentGate(block, requires, promoted_from)
    stages = {
        str(label): _names(names, f"{origin}: ci_stages.{label}")
        for label, names in _mapping(doc.get("ci_stages") or {}, f"{origin}: ci_stages").items()
    }
    waivers = doc.get("waivers") or []
    if not isinstance(waivers, list):
        raise PolicyError(f"{origin}: waivers must be a list")
    return GatePolicy(
        environments=environments,
        ci_stages=stages,
        post_deploy_steps=_names(doc.get("post_deploy_steps"), f"{origin}: post_deploy_steps"),
        post_apply_targets=_names(
            doc.get("post_apply_verifications"), f"{origin}: post_apply_verifications"
        ),
        waivers=tuple(_waiver(w, f"{origin}: waivers[{i}]") for i, w in enumerate(waivers)),
    )


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not a time of day HH:MM") from None


def _day(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not a date YYYY-MM-DD") from None


def parse_windows(doc: dict[str, Any], origin: str) -> ChangeWindows:
    try:
        zone = ZoneInfo(str(doc.get("time_zone") or ""))
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            f"{origin}: time_zone {doc.get('time_zone')!r} is not an IANA time zone name"
        ) from None
    weekly = []
    for i, raw in enumerate(doc.get("weekly") or []):
        where = f"{origin}: weekly[{i}]"
        raw = _mapping(raw, where)
        days = _names(raw.get("days"), f"{where}.days")
        if not days or any(d.lower()[:3] not in WEEKDAYS for d in days):
            raise PolicyError(f"{where}.days: expected day names among {', '.join(WEEKDAYS)}")
        start, end = _clock(raw.get("start"), f"{where}.start"), _clock(raw.get("end"), where)
        if end <= start:
            raise PolicyError(f"{where}: end is not after start")
        weekly.append(WeeklyWindow(tuple(WEEKDAYS.index(d.lower()[:3]) for d in days), start, end))
    freezes = []
    for i, raw in enumerate(doc.get("freezes") or []):
        where = f"{origin}: freezes[{i}]"
        raw = _mapping(raw, where)
        first, last = _day(raw.get("from"), f"{where}.from"), _day(raw.get("to"), f"{where}.to")
        if last < first:
            raise PolicyError(f"{where}: to is before from")
        freezes.append(Freeze(first, last, str(raw.get("reason") or "freeze")))
    return ChangeWindows(zone, tuple(weekly), tuple(freezes))


def load_gates(config_dir: Path) -> GatePolicy:
    doc, origin = _load(config_dir, GATES_FILE)
    return parse_gates(doc, origin)


def load_windows(config_dir: Path) -> ChangeWindows:
    doc, origin = _load(config_dir, WINDOWS_FILE)
    return parse_windows(doc, origin)


def _duration(
    raw: dict[str, Any], key: str, unit: str, default: timedelta, where: str
) -> timedelta:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PolicyError(f"{where}.{key}: {value!r} is not a number of {unit} >= 0")
    return timedelta(**{unit: value})


def parse_bundles(doc: dict[str, Any], origin: str) -> BundlePolicy:
    where = f"{origin}: bundles"
    raw = _mapping(doc.get("bundles") or {}, where)
    unknown = sorted(set(raw) - {"grace_minutes", "slo_before_hours", "slo_after_hours"})
    if unknown:
        raise PolicyError(f"{where}: unknown setting {unknown[0]}")
    default = BundlePolicy()
    return BundlePolicy(
        grace=_duration(raw, "grace_minutes", "minutes", default.grace, where),
        slo_before=_duration(raw, "slo_before_hours", "hours", default.slo_before, where),
        slo_after=_duration(raw, "slo_after_hours", "hours", default.slo_after, where),
    )


def load_bundles(config_dir: Path) -> BundlePolicy:
    doc, origin = _load(config_dir, EVIDENCE_FILE)
    return parse_bundles(doc, origin)
