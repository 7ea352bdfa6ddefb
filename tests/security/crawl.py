"""Harvesting everything the gateway shows or keeps, as (place, text) pairs, for the leak
crawl to search: log lines (text and JSON, as the configured formatters write them),
``/metrics``, every admin page, every REST API response, the terminal commands and every
database row.
"""

import io
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from vandamme.logs import JsonFormatter, TextFormatter

Harvest = list[tuple[str, str]]
# Objects per model whose change and history pages are crawled: enough to reach every
# row the crawl's traffic makes, bounded for a table that grew.
ROWS_PER_MODEL = 60
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Leak:
    place: str
    secret: str  # the secret's name, never its value (the report is printed)


def find_leaks(harvest: Iterable[tuple[str, str]], secrets: Mapping[str, str]) -> list[Leak]:
    """Every (place, secret name) where a secret's value appears."""
    leaks = {Leak(place, name) for place, text in harvest for name, value in secrets.items() if value in text}
    return sorted(leaks, key=lambda leak: (leak.place, leak.secret))


def log_lines(records: Iterable[logging.LogRecord]) -> Harvest:
    """Each record as the text and the JSON formatter write it (tracebacks included)."""
    formatters = (TextFormatter(), JsonFormatter())
    return [
        (f"log {record.name}", formatter.format(record))
        for record in records
        # Not the gateway's: the mock upstream's lines and those of the test's SDK clients.
        if not record.name.startswith(("tests.", "anthropic.", "openai."))
        for formatter in formatters
    ]


def admin_pages(client: Client) -> Harvest:
    """The admin index, the dashboard, and for every registered model its changelist,
    add page and the change and history pages of its rows."""
    pages = [("admin index", reverse("admin:index")), ("dashboard", reverse("dashboard"))]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append((f"{info} changelist", reverse(f"{info}_changelist")))
        pages.append((f"{info} changelist search", reverse(f"{info}_changelist") + "?q=sk"))
        for pk in model._default_manager.values_list("pk", flat=True)[:ROWS_PER_MODEL]:
            pages.append((f"{info} change", reverse(f"{info}_change", args=[pk])))
            pages.append((f"{info} history", reverse(f"{info}_history", args=[pk])))
        pages.append((f"{info} add", reverse(f"{info}_add")))
    harvest: Harvest = []
    for place, url in pages:
        response = client.get(url)
        # 403: an add page of a read-only admin (usage records, audit log, load results).
        allowed = (200, 403) if place.endswith(" add") else (200,)
        assert response.status_code in allowed, f"{place} {url}: {response.status_code}"
        harvest.append((place, response.content.decode(errors="replace")))
    return harvest


def api_responses(client: APIClient) -> Harvest:
    """Every GET operation of the OpenAPI schema: list endpoints as they are, detail
    endpoints for each row the list returned; the usage aggregate by every grouping."""
    schema = client.get("/api/schema/", {"format": "json"}).json()
    harvest: Harvest = []
    listed: dict[str, list[dict[str, object]]] = {}
    paths = [path for path, operations in schema["paths"].items() if "get" in operations]
    for path in sorted(paths, key=lambda p: p.count("{")):
        for url in _urls_for(path, listed):
            response = client.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code} {response.content[:300]!r}"
            harvest.append((f"api {path}", response.content.decode(errors="replace")))
            if "{" not in path:
                listed[path] = _rows(response.json())
    for group in ("day", "week", "month", "provider", "model", "team", "key"):
        url = f"/api/usage/aggregate/?group_by={group}"
        harvest.append((f"api {url}", client.get(url).content.decode(errors="replace")))
    url = "/api/usage/aggregate/?group_by=key&period=month&format=csv"
    harvest.append((f"api {url}", client.get(url).content.decode(errors="replace")))
    return harvest


def _rows(body: object) -> list[dict[str, object]]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        body = body["results"]
    return [row for row in body if isinstance(row, dict)] if isinstance(body, list) else []


def _urls_for(path: str, listed: Mapping[str, list[dict[str, object]]]) -> Iterator[str]:
    parameters = _PATH_PARAMETER.findall(path)
    if not parameters:
        yield path
        return
    if len(parameters) > 1 or path.endswith("/schema/"):
        return
    list_path = path[: path.index("{")]
    for row in listed.get(list_path, []):
        value = row.get(parameters[0], row.get("id"))
        if value is not None:
            yield path.replace(f"{{{parameters[0]}}}", str(value))


def command_outputs(*names: str) -> Harvest:
    harvest: Harvest = []
    for name in names:
        out, err = io.StringIO(), io.StringIO()
        call_command(name, stdout=out, stderr=err)
        harvest.append((f"manage.py {name}", out.getvalue() + err.getvalue()))
    return harvest


def database_rows() -> Harvest:
    """Every row of every model, as JSON: what is stored at rest."""
    return [
        (f"table {model._meta.db_table}", json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False))
        for model in apps.get_models()
        for row in model._default_manager.values()
    ]
