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
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routing.limits.rules import CallLimits

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


def reservation_estimate(body_size: int, body: Mapping[str, Any]) -> int:
    """Tokens to reserve for a call whose JSON body is ``body_size`` bytes."""
    input_tokens = min(max(body_size, 0) // BYTES_PER_TOKEN, INPUT_RESERVE_CAP)
    ceiling = _max_output(body)
    output_tokens = OUTPUT_RESERVE_DEFAULT if ceiling is None else min(ceiling, OUTPUT_RESERVE_CAP)
    return input_tokens + output_tokens


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens a store added for an admitted call: settled once, against the same
    counters (``limits``), taking them back from the bucket they went into."""

    limits: CallLimits
    tokens: int
    bucket: int
