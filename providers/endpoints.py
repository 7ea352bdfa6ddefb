"""Facts about provider formats that the loaders, the models and the data plane share. Pure.

- Bedrock and Vertex are addressed by region: their base URL follows from it when none
  is configured.
- Bedrock and Vertex can authenticate without a key in the pool, from the platform's
  own credential chain (the AWS environment and profiles; Google Application Default
  Credentials), but only when the operator chose it (``ambient_credentials``): a pool
  whose keys were all disabled must never fall back to the host's identity. Any other
  provider can be declared keyless (``requires_key = false``, e.g. Ollama), and then
  sends no credentials at all.
"""

import json
import re

from providers.families import ApiFormat

BEDROCK = ApiFormat.BEDROCK
VERTEX = ApiFormat.VERTEX
AMBIENT_CREDENTIAL_FORMATS = frozenset({BEDROCK, VERTEX})
_BEDROCK_HOST = re.compile(r"^https?://bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com")
# Vertex multi-region endpoints, as Google's and Anthropic's clients spell them.
_VERTEX_MULTI_REGION_HOSTS = {
    "global": "https://aiplatform.googleapis.com",
    "us": "https://aiplatform.us.rep.googleapis.com",
    "eu": "https://aiplatform.eu.rep.googleapis.com",
}


def default_base_url(api_format: str, region: str) -> str:
    """The public endpoint of a regional format, or ``""`` when it cannot be derived."""
    if not region:
        return ""
    if api_format == BEDROCK:
        return f"https://bedrock-runtime.{region}.amazonaws.com"
    if api_format == VERTEX:
        return _VERTEX_MULTI_REGION_HOSTS.get(region, f"https://{region}-aiplatform.googleapis.com")
    return ""


def effective_base_url(api_format: str, base_url: str, region: str) -> str:
    """The configured base URL, else the one the region implies."""
    return base_url.strip().rstrip("/") or default_base_url(api_format, region)


def region_from_base_url(api_format: str, base_url: str) -> str:
    """The AWS region named by a Bedrock endpoint (``bedrock-runtime.REGION.amazonaws.com``)."""
    if api_format != BEDROCK:
        return ""
    match = _BEDROCK_HOST.match(base_url.strip())
    return match.group(1) if match else ""


def can_run_without_keys(api_format: str, requires_key: bool, ambient_credentials: bool = False) -> bool:
    """True when an empty key pool still lets the provider serve: a cloud format only
    with the platform's credential chain switched on, any other when it needs no key."""
    if api_format in AMBIENT_CREDENTIAL_FORMATS:
        return ambient_credentials
    return not requires_key


def looks_like_json_secret(secret: str) -> bool:
    """A service-account key (JSON) rather than a token: never split on spaces or commas."""
    return secret.lstrip().startswith("{")


def service_account_project(secret: str) -> str:
    """The ``project_id`` of a Google service-account JSON key, or ``""``."""
    if not looks_like_json_secret(secret):
        return ""
    try:
        info = json.loads(secret)
    except ValueError:
        return ""
    project = info.get("project_id") if isinstance(info, dict) else None
    return project if isinstance(project, str) else ""
