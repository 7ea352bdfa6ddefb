"""Google Vertex AI for Anthropic models: URLs and bodies. Pure.

``POST {base}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/
{model}:rawPredict`` answers with Anthropic's message JSON, ``:streamRawPredict`` with
Anthropic's SSE stream; the body is Anthropic's without ``model`` (it is in the URL),
plus ``anthropic_version``. Counting goes to the ``count-tokens:rawPredict`` model with
the model named in the body.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from routing.table import ProviderConfig

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
OAUTH_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def _models_root(provider: ProviderConfig) -> str:
    root = provider.base_url.removesuffix("/v1")
    project, region = quote(provider.project, safe=""), quote(provider.region, safe="")
    return f"{root}/v1/projects/{project}/locations/{region}/publishers/anthropic/models"


def predict_url(provider: ProviderConfig, model: str, *, stream: bool) -> str:
    specifier = "streamRawPredict" if stream else "rawPredict"
    # Vertex model ids carry their version after '@' (claude-sonnet-4-5@20250929).
    return f"{_models_root(provider)}/{quote(model, safe='@')}:{specifier}"


def count_tokens_url(provider: ProviderConfig) -> str:
    return f"{_models_root(provider)}/count-tokens:rawPredict"


def predict_body(body: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in body.items() if key != "model"}
    out["anthropic_version"] = VERTEX_ANTHROPIC_VERSION
    return out


def count_tokens_body(body: Mapping[str, Any], *, model: str) -> dict[str, Any]:
    out = {key: value for key, value in body.items() if key not in ("max_tokens", "stream")}
    out["model"] = model
    out["anthropic_version"] = VERTEX_ANTHROPIC_VERSION
    return out
