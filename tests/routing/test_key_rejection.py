"""Which 401/403 answers say the key is bad (and count toward disabling it), table-driven
over the error bodies and headers the real upstreams send."""

import json

import pytest

from routing.key_rejection import BODY_SCAN_LIMIT, is_key_rejection


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


KEY_IS_BAD = [
    (401, _json({"error": {"message": "Incorrect API key provided: sk-…", "code": "invalid_api_key"}}), {}),
    (401, b"", {}),  # any 401: the credentials were refused
    (403, _json({"message": "The security token included in the request is invalid."}), {}),
    (403, _json({"message": "The security token included in the request is expired"}), {}),
    (403, b'{"message": "x"}', {"x-amzn-errortype": "UnrecognizedClientException:http://internal"}),
    (403, b'{"message": "x"}', {"x-amzn-errortype": "InvalidSignatureException"}),
    (403, _json({"__type": "ExpiredTokenException", "message": "token expired"}), {}),
    (403, _json({"error": {"code": 403, "status": "UNAUTHENTICATED", "message": "…"}}), {}),
    (
        403,
        _json(
            {
                "error": {
                    "message": "API key not valid. Please pass a valid API key.",
                    "details": [{"reason": "API_KEY_INVALID"}],
                }
            }
        ),
        {},
    ),
    (403, _json({"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}), {}),
    (
        403,
        _json({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        {},
    ),
]

ABOUT_THE_REQUEST = [
    (
        403,
        _json(
            {
                "error": {
                    "message": "Project `proj_1` does not have access to model `gpt-5`",
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
            }
        ),
        {},
    ),
    (
        403,
        _json({"message": "You don't have access to the model with the specified model ID."}),
        {"x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/coral/"},
    ),
    (
        403,
        _json(
            {
                "error": {
                    "code": 403,
                    "status": "PERMISSION_DENIED",
                    "message": "Permission 'aiplatform.endpoints.predict' denied on resource "
                    "'//aiplatform.googleapis.com/projects/p/locations/us-east5/publishers/"
                    "anthropic/models/claude-opus-4'",
                }
            }
        ),
        {},
    ),
    (
        403,
        _json(
            {
                "type": "error",
                "error": {
                    "type": "permission_error",
                    "message": "Your API key does not have permission to use the specified resource.",
                },
            }
        ),
        {},
    ),
    (
        403,
        _json(
            {"error": {"message": "Request blocked by content policy", "code": "content_policy_violation"}}
        ),
        {},
    ),
    (403, b"<html>Forbidden</html>", {}),
    (403, b"", {}),
    (400, _json({"error": {"code": "invalid_api_key"}}), {}),  # not an auth status at all
    (429, b"", {}),
]


@pytest.mark.parametrize(("status", "body", "headers"), KEY_IS_BAD)
def test_answers_that_reject_the_key_count(status: int, body: bytes, headers: dict[str, str]) -> None:
    assert is_key_rejection(status, body, headers)


@pytest.mark.parametrize(("status", "body", "headers"), ABOUT_THE_REQUEST)
def test_answers_about_one_request_do_not_count(status: int, body: bytes, headers: dict[str, str]) -> None:
    assert not is_key_rejection(status, body, headers)


def test_text_bodies_and_undecodable_bytes_are_read() -> None:
    assert is_key_rejection(403, "ExpiredToken", {})
    assert not is_key_rejection(403, b"\xff\xfe no access to model", {})


def test_only_the_start_of_a_huge_body_is_scanned() -> None:
    padding = b" " * BODY_SCAN_LIMIT
    assert not is_key_rejection(403, padding + b"invalid_api_key", {})
