"""``{% load money %}``: ``{{ value|usd }}`` shows dollars as the dashboard does (``format_usd``)."""

from decimal import Decimal

from django import template

from teams.money_text import format_usd

register = template.Library()


@register.filter
def usd(value: Decimal | None) -> str:
    return format_usd(value)
