"""Does an upstream 401/403 say the KEY is bad, or only that this one request is not
allowed? Pure: status, body and headers in, a yes or no out.

Only the first kind counts toward disabling a key of the shared pool. A 403 that names
a model, a resource or a policy ("Project does not have access to model", Google's
``PERMISSION_DENIED`` on a resource, Anthropic's ``permission_error``, a content
policy) is about the request: any client could send it, and it must not take a key
away from everyone. So:
- 401 always means the credentials were refused;
- 403 counts only with a signature of an invalid, expired or revoked key or token
  (AWS ``UnrecognizedClientException``/``InvalidSignatureException``/``ExpiredToken…``,
  Google ``UNAUTHENTICATED``/``API_KEY_INVALID``, OpenAI ``invalid_api_key``, …);
- any other 403 does not.
"""

import re
from collections.abc import Mapping

# Matched case-insensitively in the error-type headers and the start of the body.
KEY_REJECTION_SIGNATURES = (
    # AWS (the x-amzn-errortype header or the JSON message)
    "unrecognizedclientexception",
    "invalidsignatureexception",
    "expiredtoken",  # ExpiredToken, ExpiredTokenException
    "invalidclienttokenid",
    "incompletesignature",
    "missingauthenticationtoken",
    "security token included in the request is invalid",
    "security token included in the request is expired",
    "signature we calculated does not match",
    # Google
    "unauthenticated",
    "api_key_invalid",
    "api key not valid",
    "access_token_expired",
    "invalid authentication credentials",
    "credentials_missing",
    # OpenAI, Anthropic and compatible APIs
    "invalid_api_key",
    "incorrect api key",
    "invalid api key",
    "invalid x-api-key",
    "authentication_error",
    "api key has been revoked",
    "api key is revoked",
    "api key has expired",
    "api key expired",
    "key has been disabled",
)
_SIGNATURE = re.compile("|".join(re.escape(s) for s in KEY_REJECTION_SIGNATURES), re.IGNORECASE)
_ERROR_TYPE_HEADERS = ("x-amzn-errortype", "x-amz-errortype", "www-authenticate")
# Error bodies are short; a long body is read only this far (the signature is near the top).
BODY_SCAN_LIMIT = 8192


def is_key_rejection(status: int, body: bytes | str, headers: Mapping[str, str]) -> bool:
    """True when a 401/403 answer means the key itself is invalid, expired or revoked."""
    if status == 401:
        return True
    if status != 403:
        return False
    text = body[:BODY_SCAN_LIMIT]
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    typed = " ".join(headers.get(name, "") for name in _ERROR_TYPE_HEADERS)
    return _SIGNATURE.search(typed) is not None or _SIGNATURE.search(text) is not None
