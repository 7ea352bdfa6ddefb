"""How many tokens to reserve for a call at admission, before its usage is known. Pure.

Token limits and budgets are checked when a call is admitted, but a call's tokens are
known only once it has answered. Without a reservation every call that arrives while
the counter is under its limit goes through, however many run at once (a 500 tokens a
minute limit let 5 000 through at 200 concurrent clients). So admission adds an
estimate to the counters at once, and the finished call replaces it with its real
usage (``Limiter.count``).

The estimate must be cheap (it runs for every limited call): the request body's size
in bytes over 4 (JSON and prose run at 3–5 bytes a token; counting exactly costs 2–5 ms
on big bodies), plus what the call may produce, ``max_tokens``, capped so a client that
asks for a 32k answer it rarely gets does not hold a whole minute's limit alone.

Spend budgets reserve the same estimate in money: the input part at the resolved model's
input price plus the capped output part at its output price (``spend_estimate``). A model
with no known price reserves nothing, and is settled with nothing: an unpriced call
cannot be charged.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

from pricing.costs import UnitPrices
from routing.limits.rules import MAX_NANOS, NANOS_PER_USD, CallLimits

BYTES_PER_TOKEN = 4
INPUT_RESERVE_CAP = 200_000  # the largest context a call can send
OUTPUT_RESERVE_CAP = 4_096
OUTPUT_RESERVE_DEFAULT = 1_024  # no max_tokens given (optional on the OpenAI doors)
# Where each dialect puts the answer's ceiling: Anthropic, OpenAI chat, OpenAI Responses.
MAX_OUTPUT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _max_output(body: Mapping[str, Any]) -> int | None:
    for name in MAX_OUTPUT_FIELDS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    input_tokens: int
    output_tokens: int

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def token_estimate(body_size: int, body: Mapping[str, Any]) -> TokenEstimate:
    """Input and output tokens to reserve for a call whose JSON body is ``body_size`` bytes."""
    input_tokens = min(max(body_size, 0) // BYTES_PER_TOKEN, INPUT_RESERVE_CAP)
    ceiling = _max_output(body)
    output_tokens = OUTPUT_RESERVE_DEFAULT if ceiling is None else min(ceiling, OUTPUT_RESERVE_CAP)
    return TokenEstimate(input_tokens, output_tokens)


def reservation_estimate(body_size: int, body: Mapping[str, Any]) -> int:
    """Tokens to reserve for a call whose JSON body is ``body_size`` bytes."""
    return token_estimate(body_size, body).total


def spend_estimate(estimate: TokenEstimate, prices: UnitPrices | None) -> int:
    """Nano-dollars to reserve: the token estimate at the model's unit prices, rounded
    up (a reservation errs on the side of the budget); 0 for an unpriced model."""
    if prices is None:
        return 0
    usd = estimate.input_tokens * prices.input_usd + estimate.output_tokens * prices.output_usd
    return _nanos(usd, ROUND_CEILING)


def cost_nanos(cost_usd: Decimal | None) -> int:
    """A recorded cost in whole nano-dollars (rounded to the nearest); None (unpriced) is 0."""
    if cost_usd is None or not cost_usd.is_finite():
        return 0
    return _nanos(cost_usd, ROUND_HALF_EVEN)


def _nanos(usd: Decimal, rounding: str) -> int:
    if usd <= 0:
        return 0
    return min(int((usd * NANOS_PER_USD).to_integral_value(rounding)), MAX_NANOS)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens (and nano-dollars, ``spend``) a store added for an admitted call: settled
    once, against the same counters (``limits``), taking them back from the bucket they
    went into."""

    limits: CallLimits
    tokens: int
    bucket: int
    spend: int = 0
