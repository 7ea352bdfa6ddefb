"""The shape of a model group and the checks on it. Pure: no Django, no I/O.

A group is an alias with several targets (deployments). Each has a ``weight`` (a
positive number), a ``tier`` (1 is tried first; tier 2 only when no tier-1 target is
available, and so on) and optional ``rpm``/``tpm`` capacities. The same shape comes
from TOML (a list of strings or tables), the environment (``target;weight=3;tier=2``
entries separated by commas), the admin and the REST API (a JSON list).
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

STRATEGIES = ("weighted-random", "least-busy", "lowest-latency", "capacity-aware")
DEFAULT_STRATEGY = "weighted-random"
DEPLOYMENT_FIELDS = ("target", "weight", "tier", "rpm", "tpm")


@dataclass(frozen=True, slots=True)
class Deployment:
    """One target of a group: a ``provider:model`` or the name of another alias."""

    target: str
    weight: float = 1.0
    tier: int = 1
    rpm: int | None = None
    tpm: int | None = None

    def as_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {"target": self.target, "weight": self.weight, "tier": self.tier}
        if self.rpm is not None:
            shown["rpm"] = self.rpm
        if self.tpm is not None:
            shown["tpm"] = self.tpm
        return shown


@dataclass(frozen=True, slots=True)
class GroupConfig:
    name: str
    strategy: str
    deployments: tuple[Deployment, ...]
    affinity: bool = True  # keep a conversation on one deployment while it is healthy

    @property
    def tiers(self) -> tuple[int, ...]:
        return tuple(sorted({deployment.tier for deployment in self.deployments}))


class GroupConfigError(ValueError):
    """A group that cannot be used; the message says what to fix."""


def parse_deployments(raw: object) -> tuple[Deployment, ...]:
    """Deployments from a list of ``"target"`` strings or ``{target, weight, tier, rpm, tpm}``
    mappings (TOML, JSON); raises GroupConfigError."""
    if not isinstance(raw, list | tuple):
        raise GroupConfigError("targets must be a list of targets")
    if not raw:
        raise GroupConfigError("an empty group: name at least one target")
    return tuple(_deployment(entry, index) for index, entry in enumerate(raw, start=1))


def _deployment(entry: object, index: int) -> Deployment:
    if isinstance(entry, str):
        entry = {"target": entry}
    if not isinstance(entry, Mapping):
        raise GroupConfigError(f"target {index}: must be a string or a table with 'target'")
    unknown = sorted(set(entry) - set(DEPLOYMENT_FIELDS))
    if unknown:
        raise GroupConfigError(f"target {index}: unknown field(s) {', '.join(map(str, unknown))}")
    target = entry.get("target")
    if not isinstance(target, str) or not target.strip():
        raise GroupConfigError(f"target {index}: 'target' must be a non-empty string")
    where = f"target {index} ({target.strip()})"
    return Deployment(
        target=target.strip(),
        weight=_weight(entry.get("weight", 1), where),
        tier=_positive_int(entry.get("tier", 1), f"{where}: tier"),
        rpm=_optional_positive_int(entry.get("rpm"), f"{where}: rpm"),
        tpm=_optional_positive_int(entry.get("tpm"), f"{where}: tpm"),
    )


def _weight(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise GroupConfigError(f"{where}: weight must be a positive number, not {value!r}")
    try:
        weight = float(value)
    except ValueError:
        raise GroupConfigError(f"{where}: weight must be a positive number, not {value!r}") from None
    if not math.isfinite(weight) or weight <= 0:
        raise GroupConfigError(f"{where}: weight must be a positive number, not {value!r}")
    return weight


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GroupConfigError(f"{where} must be a whole number ≥ 1, not {value!r}")
    return value


def _optional_positive_int(value: object, where: str) -> int | None:
    return None if value is None or value == "" else _positive_int(value, where)


def parse_strategy(raw: object) -> str:
    strategy = str(raw or DEFAULT_STRATEGY).strip().lower()
    if strategy not in STRATEGIES:
        raise GroupConfigError(f"strategy '{raw}' is unknown; use one of {', '.join(STRATEGIES)}")
    return strategy


def parse_env_group(value: str) -> tuple[Deployment, ...]:
    """``anthropic:claude-sonnet-4;weight=3, bedrock:anthropic.claude-sonnet-4;tier=2``:
    comma-separated targets, each with optional ``;key=value`` options."""
    entries: list[dict[str, str]] = []
    for part in value.split(","):
        if not part.strip():
            continue
        target, *options = part.split(";")
        entry = {"target": target.strip()}
        for option in options:
            key, equals, setting = option.partition("=")
            if not equals:
                raise GroupConfigError(f"option '{option.strip()}' of '{target.strip()}' must be key=value")
            entry[key.strip().lower()] = setting.strip()
        entries.append(entry)
    return parse_deployments(entries)


def is_env_group(value: str) -> bool:
    """An env alias value that names a group (more than one target, or options)."""
    return "," in value or ";" in value


def target_problems(
    deployments: Iterable[Deployment], is_provider: Callable[[str], bool], is_alias: Callable[[str], bool]
) -> list[str]:
    """Targets that name neither a loaded provider's model (``provider:model``) nor an alias."""
    problems = []
    for deployment in deployments:
        prefix, colon, model = deployment.target.partition(":")
        if colon and model.strip() and is_provider(prefix.strip().lower()):
            continue
        if is_alias(deployment.target.lower()):
            continue
        problems.append(
            f"unknown target '{deployment.target}': name a configured provider's model "
            "(provider:model) or another alias"
        )
    return problems


def find_cycle(start: str, edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A path from ``start`` back to itself through ``edges`` (alias name → the alias names
    its targets are), or None."""
    path: list[str] = [start]
    on_path = {start}
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        for following in edges.get(name, ()):
            if following == start or following in on_path:
                return [*path, following] if following == start else None
            if following in done:
                continue
            path.append(following)
            on_path.add(following)
            found = visit(following)
            if found is not None:
                return found
            path.pop()
            on_path.discard(following)
            done.add(following)
        return None

    return visit(start)
