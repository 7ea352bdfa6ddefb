"""Open or closed: whether a client must present a key. One rule, shown everywhere.

``VDM_GATEWAY_MODE`` says it:

- ``closed``: every call needs ``PROXY_API_KEY`` or an enabled team's gateway key;
- ``open``: anyone on the network may call; a team's gateway key still names its team
  (limits, budgets, allow lists), any other key is ignored. ``PROXY_API_KEY`` cannot be
  set with it (settings refuse the contradiction);
- ``auto`` (the default): open while there is neither a ``PROXY_API_KEY`` nor any team,
  closed from then on. Creating the first team therefore closes the gateway: the start-up
  output, ``/ready``, the admin (a warning when the team is created) and a log line of
  every gateway process (``routing.snapshot``) say so.

``gateway_mode`` is pure; ``configured_mode`` reads the settings, ``mode_now`` the teams
in the database too (a routing snapshot knows whether teams exist: ``teams_configured``).
"""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from teams.models import Team


class ModeSetting(StrEnum):
    AUTO = "auto"
    OPEN = "open"
    CLOSED = "closed"


MODE_SETTING_VARIABLE = "VDM_GATEWAY_MODE"


@dataclass(frozen=True)
class GatewayMode:
    """The mode in force and why, in words a person reads (start-up, /ready, admin, 401s)."""

    closed: bool
    reason: str

    @property
    def name(self) -> str:
        return "closed" if self.closed else "open"

    def as_dict(self) -> dict[str, str]:
        return {"mode": self.name, "reason": self.reason}


def gateway_mode(setting: str, *, proxy_key_set: bool, teams_exist: bool) -> GatewayMode:
    """The mode for ``setting`` (a ``ModeSetting`` value) given what is configured."""
    if setting == ModeSetting.OPEN:
        return GatewayMode(False, f"{MODE_SETTING_VARIABLE}=open: no key is required")
    if setting == ModeSetting.CLOSED:
        return GatewayMode(True, f"{MODE_SETTING_VARIABLE}=closed: a gateway key is required")
    if proxy_key_set:
        return GatewayMode(True, "PROXY_API_KEY is set")
    if teams_exist:
        return GatewayMode(
            True,
            f"a team exists and {MODE_SETTING_VARIABLE}=auto closes the gateway then: "
            "clients send a team's gateway key",
        )
    return GatewayMode(
        False,
        f"no PROXY_API_KEY and no team yet, {MODE_SETTING_VARIABLE}=auto: for local single-user use; "
        "the first team closes it",
    )


def mode_change_message(before: GatewayMode, after: GatewayMode) -> str | None:
    """The log line when the mode changes between two snapshots; None when it did not."""
    if before.closed == after.closed:
        return None
    return f"gateway mode changed: {before.name} → {after.name} ({after.reason})"


def configured_mode(*, teams_exist: bool) -> GatewayMode:
    """The mode under this process's settings."""
    return gateway_mode(
        settings.VDM_GATEWAY_MODE, proxy_key_set=bool(settings.PROXY_API_KEY), teams_exist=teams_exist
    )


def mode_now() -> GatewayMode:
    """The mode as the database says now (start-up output, the admin; sync)."""
    return configured_mode(teams_exist=Team.objects.exists())


def team_created_warning(team_name: str, before: GatewayMode, after: GatewayMode) -> str | None:
    """What the admin tells whoever created a team on an open gateway; None if it was closed."""
    if before.closed:
        return None
    if after.closed:
        return (
            f"The gateway was open; creating team '{team_name}' closed it ({after.reason}). "
            "Clients without a gateway key now get 401: give each a key of its team "
            "(the team's 'Gateway keys' rows, or the action 'Create a new gateway key'), "
            "or set VDM_GATEWAY_MODE=open to keep the gateway open."
        )
    return (
        f"The gateway is open ({after.reason}): anyone may call it without a key. Team "
        f"'{team_name}' applies its limits and allow lists only to calls that send one of its "
        "gateway keys; set VDM_GATEWAY_MODE=closed to require one."
    )
