"""Dollars as people read them, for the admin, the dashboard and the terminal. Pure."""

from decimal import ROUND_HALF_UP, Decimal


def format_usd(value: Decimal | None) -> str:
    """Dollars for people: at least cents, up to millionths (a single call can cost less
    than a cent); ``None`` (nothing priced) is a dash, never "$0"."""
    if value is None:
        return "–"
    rounded = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    if value > 0 and not rounded:
        return "<$0.000001"  # spent, if very little: not "$0"
    text = f"{rounded:,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
