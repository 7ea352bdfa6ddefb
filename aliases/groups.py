"""Checks on model groups against the configuration in the database (admin, API, loads).

What is checked: every target parses (positive weights, whole tiers), names a configured
provider's model or another alias, and no group reaches itself again through its targets.
"""

from collections.abc import Iterable, Mapping

from aliases.models import Alias
from providers.groups import Deployment, find_cycle, target_problems
from providers.models import Provider


def alias_edges(extra: Mapping[str, Iterable[str]] = {}) -> dict[str, list[str]]:
    """Global alias name → the names its targets are, from the database, with ``extra``
    (the aliases being checked) overriding rows of the same name."""
    edges: dict[str, list[str]] = {}
    for alias in Alias.objects.filter(provider__isnull=True, is_pattern=False):
        members = [str(entry.get("target", "")) for entry in alias.targets or () if isinstance(entry, dict)]
        edges[alias.name] = [name.strip().lower() for name in members or [alias.target]]
    edges.update({name: list(targets) for name, targets in extra.items()})
    return edges


def group_problems(
    name: str,
    deployments: tuple[Deployment, ...],
    *,
    providers: Iterable[str],
    edges: Mapping[str, Iterable[str]],
) -> list[str]:
    """What is wrong with group ``name`` (empty when it may be saved)."""
    provider_names = set(providers)
    problems = target_problems(deployments, provider_names.__contains__, edges.__contains__)
    cycle = find_cycle(name, edges)
    if cycle is not None:
        problems.append(f"a cycle through groups: {' → '.join(cycle)}")
    return problems


def group_problems_in_database(name: str, deployments: tuple[Deployment, ...]) -> list[str]:
    """``group_problems`` against the providers and aliases in the database (admin, API)."""
    members = [deployment.target.lower() for deployment in deployments]
    return group_problems(
        name,
        deployments,
        providers=Provider.objects.values_list("name", flat=True),
        edges=alias_edges({name: members}),
    )
