"""Team allow lists: may this team use what its request resolved to? Pure."""

from fnmatch import fnmatchcase

from routing.errors import GatewayError
from routing.resolution import Resolution
from routing.table import TeamConfig


def _model_allowed(team: TeamConfig, requested: str, resolution: Resolution) -> bool:
    names = {
        requested.strip().lower().lstrip("!"),
        resolution.upstream_model.lower(),
        f"{resolution.provider.name}:{resolution.upstream_model}".lower(),
    }
    return any(fnmatchcase(name, pattern) for pattern in team.allowed_models for name in names)


def check_team_access(team: TeamConfig | None, requested: str, resolution: Resolution) -> None:
    """Raise 403 (permission_error) when ``team`` may not use this provider or model."""
    if team is None:
        return
    provider = resolution.provider.name
    if team.allowed_providers and provider not in team.allowed_providers:
        allowed = ", ".join(sorted(team.allowed_providers))
        raise GatewayError(403, f"team '{team.name}' may not use provider '{provider}' (allowed: {allowed})")
    if team.allowed_models and not _model_allowed(team, requested, resolution):
        raise GatewayError(
            403,
            f"team '{team.name}' may not use model '{requested}' ({provider}:{resolution.upstream_model})",
        )
