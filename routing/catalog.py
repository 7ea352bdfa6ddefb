"""The model catalogue shown by ``GET /v1/models``: provider models and aliases. Pure."""

from typing import Any

from routing.table import RoutingTable

# A fixed timestamp: the catalogue is configuration, not a record of releases.
CATALOG_CREATED = 1735689600
CATALOG_CREATED_ISO = "2025-01-01T00:00:00Z"


def catalog_ids(table: RoutingTable) -> list[tuple[str, str]]:
    """(id, owner) pairs: ``provider:model`` for every listed model, then aliases."""
    entries: list[tuple[str, str]] = []
    for name in sorted(table.providers):
        entries.extend((f"{name}:{model}", name) for model in table.providers[name].models)
    entries.extend((alias, "vandamme-alias") for alias in sorted(table.global_aliases))
    entries.extend(
        (f"{provider}:{alias}", provider)
        for (provider, alias) in sorted(table.scoped_aliases)
        if provider in table.providers
    )
    return entries


def anthropic_model_list(table: RoutingTable) -> dict[str, Any]:
    data = [
        {"id": model_id, "type": "model", "display_name": model_id, "created_at": CATALOG_CREATED_ISO}
        for model_id, _ in catalog_ids(table)
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def openai_model_list(table: RoutingTable) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": CATALOG_CREATED, "owned_by": owner}
            for model_id, owner in catalog_ids(table)
        ],
    }
