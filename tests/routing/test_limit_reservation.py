"""The token reservation made at admission: body bytes over 4 plus a capped share of the
answer's ceiling, in each dialect's field."""

import pytest

from routing.limits.reservation import (
    INPUT_RESERVE_CAP,
    OUTPUT_RESERVE_CAP,
    OUTPUT_RESERVE_DEFAULT,
    reservation_estimate,
)


@pytest.mark.parametrize(
    ("body_size", "body", "expected"),
    [
        (400, {"max_tokens": 50}, 100 + 50),  # Anthropic
        (400, {"max_completion_tokens": 50}, 150),  # OpenAI chat
        (400, {"max_output_tokens": 50}, 150),  # OpenAI Responses
        (400, {"max_tokens": 32_000}, 100 + OUTPUT_RESERVE_CAP),  # a ceiling rarely reached
        (400, {}, 100 + OUTPUT_RESERVE_DEFAULT),  # no ceiling given
        (400, {"max_tokens": "50"}, 100 + OUTPUT_RESERVE_DEFAULT),  # not a number: ignored
        (400, {"max_tokens": True}, 100 + OUTPUT_RESERVE_DEFAULT),
        (400, {"max_tokens": -3}, 100 + OUTPUT_RESERVE_DEFAULT),
        (10**9, {"max_tokens": 1}, INPUT_RESERVE_CAP + 1),  # capped input
        (-1, {"max_tokens": 1}, 1),
    ],
)
def test_reservation_estimate(body_size: int, body: dict[str, object], expected: int) -> None:
    assert reservation_estimate(body_size, body) == expected
