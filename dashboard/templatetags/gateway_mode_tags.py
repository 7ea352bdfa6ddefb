"""The gateway mode on the admin index (open or closed, and why)."""

from django import template

from teams.gateway_mode import GatewayMode, mode_now

register = template.Library()


@register.simple_tag
def gateway_mode_now() -> GatewayMode:
    return mode_now()
