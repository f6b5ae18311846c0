"""The platform's model groups (LiteLLM router ``model_list``) and the routing policy.

LiteLLM names a deployment ``<provider>/<model>`` in ``litellm_params.model``; spans name the
provider by the GenAI semantic conventions' ``gen_ai.provider.name``. PROVIDER_NAMES maps one
to the other, so a deployment finds its scorecards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.platform_repo import MODEL_GROUPS, PlatformRepo

ROUTING_FILE = "routing.yaml"
POLICY_FILE = Path("policies") / "routing.yaml"
# LiteLLM provider prefix -> gen_ai.provider.name
PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "mistral": "mistral_ai",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "xai": "x_ai",
}
# LiteLLM model_info.mode -> gen_ai.operation.name of the calls the group serves
OPERATIONS = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings"}


class RoutingConfigError(ValueError):
    """The routing file or policy cannot be used as written; the message says where."""


@dataclass(frozen=True)
class Deployment:
    name: str  # litellm_params.model, e.g. anthropic/claude-sonnet-4
    provider: str  # gen_ai.provider.name
    model: str
    weight: float


@dataclass(frozen=True)
class ModelGroup:
    name: str
    operation: str
    deployments: tuple[Deployment, ...]

    @property
    def shares(self) -> dict[str, float]:
        total = sum(d.weight for d in self.deployments)
        return {d.name: d.weight / total for d in self.deployments}


@dataclass(frozen=True)
class RoutingPolicy:
    baseline_days: int = 7
    min_calls: int = 30
    latency_ratio: float = 1.5
    error_ratio: float = 1.5
    min_error_increase: float = 0.02
    max_error_rate: float = 0.10
    floor_share: float = 0.05
    max_step: float = 0.20


def _deployment(where: str, entry: Any) -> tuple[str, str, Deployment]:
    if not isinstance(entry, dict) or not isinstance(entry.get("litellm_params"), dict):
        raise RoutingConfigError(f"{where}: expected model_name and a litellm_params mapping")
    group, params = entry.get("model_name"), entry["litellm_params"]
    if not isinstance(group, str) or not group:
        raise RoutingConfigError(f"{where}: model_name must be a non-empty string")
    model = params.get("model")
    if not isinstance(model, str) or "/" not in model:
        raise RoutingConfigError(f"{where}: litellm_params.model must read <provider>/<model>")
    prefix, name = model.split("/", 1)
    if prefix not in PROVIDER_NAMES:
        raise RoutingConfigError(
            f"{where}: provider {prefix!r} is not one of {', '.join(sorted(PROVIDER_NAMES))}"
        )
    weight = params.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise RoutingConfigError(f"{where}: litellm_params.weight must be a number >= 0")
    mode = (entry.get("model_info") or {}).get("mode", "chat")
    if mode not in OPERATIONS:
        raise RoutingConfigError(
            f"{where}: model_info.mode {mode!r} is not one of {list(OPERATIONS)}"
        )
    return group, OPERATIONS[mode], Deployment(model, PROVIDER_NAMES[prefix], name, float(weight))


def parse_groups(text: str, source: str = ROUTING_FILE) -> list[ModelGroup]:
    """The model groups of a LiteLLM ``model_list``, in file order."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("model_list"), list):
        raise RoutingConfigError(f"{source}: expected a mapping with a 'model_list' list")
    groups: dict[str, tuple[str, list[Deployment]]] = {}
    for i, entry in enumerate(doc["model_list"]):
        group, operation, deployment = _deployment(f"{source}: model_list[{i}]", entry)
        _, members = groups.setdefault(group, (operation, []))
        if groups[group][0] != operation:
            raise RoutingConfigError(f"{source}: group {group!r} mixes modes")
        if any(d.name == deployment.name for d in members):
            raise RoutingConfigError(f"{source}: {deployment.name} is twice in group {group!r}")
        members.append(deployment)
    out = []
    for name, (operation, members) in groups.items():
        if sum(d.weight for d in members) <= 0:
            raise RoutingConfigError(f"{source}: group {name!r} has no weight above zero")
        out.append(ModelGroup(name, operation, tuple(members)))
    return out


def load_groups(config_dir: Path) -> list[ModelGroup]:
    path = config_dir / ROUTING_FILE
    return parse_groups(path.read_text(), str(path)) if path.exists() else []


def current_groups(config_dir: Path, repo: PlatformRepo | None) -> tuple[list[ModelGroup], str]:
    """The model groups as production routes today, and where they were read: the platform
    repository's routing/model_groups.yaml at HEAD when a repository is configured and holds it
    (releases change that file), else config/routing.yaml."""
    if repo is not None:
        head = repo.head()
        text = repo.read(MODEL_GROUPS, head)
        if text is not None:
            where = f"{MODEL_GROUPS} at {head[:12]}"
            return parse_groups(text, where), where
    return load_groups(config_dir), str(config_dir / ROUTING_FILE)


def load_policy(config_dir: Path) -> RoutingPolicy:
    """The policy in ``config_dir``; the defaults where the file or a key is absent."""
    path = config_dir / POLICY_FILE
    doc = yaml.safe_load(path.read_text()) if path.exists() else {}
    if not isinstance(doc, dict):
        raise RoutingConfigError(f"{path}: expected a mapping")
    base = RoutingPolicy()
    unknown = set(doc) - set(base.__dataclass_fields__)
    if unknown:
        raise RoutingConfigError(f"{path}: unknown keys {sorted(unknown)}")
    policy = RoutingPolicy(**{k: type(getattr(base, k))(v) for k, v in doc.items()})
    if not 0 <= policy.floor_share < 0.5 or not 0 < policy.max_step <= 1:
        raise RoutingConfigError(f"{path}: floor_share must be in [0, 0.5), max_step in (0, 1]")
    return policy
