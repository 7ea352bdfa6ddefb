"""Configured middleware (``routing.middleware``) as providers and teams store it. Pure
but for ``check_importable``, which imports the named class to check it exists.

Stored form: a JSON list of ``{"path": "package.module.Class", "options": {...},
"on_error": "refuse" | "pass"}``. Accepted as: that JSON (the environment), a TOML
array of tables, or plain dotted paths (space or comma separated).
"""

import importlib
import json
import re
from typing import Any

ON_ERROR_CHOICES = ("refuse", "pass")
DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
SPEC_KEYS = frozenset({"path", "options", "on_error"})
HOOKS = ("on_request", "on_stream_event", "on_response")


def _one_spec(entry: Any, position: int) -> dict[str, Any]:
    where = f"middleware[{position}]"
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be a dotted path or a table with path, options, on_error")
    unknown = set(entry) - SPEC_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: path, options, on_error)"
        )
    path = entry.get("path")
    if not isinstance(path, str) or not DOTTED_PATH.match(path):
        raise ValueError(f"{where}.path: must be a dotted path such as 'package.module.ClassName'")
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise ValueError(f"{where}.options: must be a JSON object")
    on_error = entry.get("on_error", "refuse")
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"{where}.on_error: must be 'refuse' or 'pass', got {on_error!r}")
    return {"path": path, "options": options, "on_error": on_error}


def parse_specs(value: Any) -> list[dict[str, Any]]:
    """Configured middleware in its canonical JSON form (a list of ``{path, options,
    on_error}``); accepts a JSON text (environment), a list of tables (TOML) or of
    dotted paths. Raises ValueError with a message an operator can act on."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if not text.startswith(("[", "{")):
            return [_one_spec(part, index) for index, part in enumerate(re.split(r"[\s,]+", text))]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"middleware: not valid JSON ({exc})") from exc
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError("middleware: must be a list of {path, options, on_error}")
    return [_one_spec(entry, index) for index, entry in enumerate(value)]


def check_importable(specs: list[dict[str, Any]]) -> None:
    """Raise ValueError unless every path names a middleware class (its three hooks)
    that accepts its options: what the admin and the API check before they save."""
    for spec in specs:
        path = spec["path"]
        module_name, _, class_name = path.rpartition(".")
        try:
            found = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"middleware '{path}' cannot be imported ({type(exc).__name__}: {exc})") from exc
        if not isinstance(found, type) or not all(hasattr(found, hook) for hook in HOOKS):
            raise ValueError(f"middleware '{path}' is not a routing.middleware.Middleware subclass")
        try:
            found(spec["options"])
        except (KeyError, TypeError, ValueError, re.error) as exc:
            raise ValueError(f"middleware '{path}' refused its options: {exc}") from exc


def middleware_note(specs: list[dict[str, Any]]) -> str:
    """The load summary's word on a provider's configured middleware, in the order it runs."""
    if not specs:
        return ""
    names = ", ".join(
        f"{spec['path']}{' (on_error=pass)' if spec.get('on_error') == 'pass' else ''}" for spec in specs
    )
    return f"middleware: {names}"


def validate_middleware(value: Any) -> None:
    """The model fields' validator: Django's ValidationError with the parser's message."""
    from django.core.exceptions import ValidationError

    try:
        check_importable(parse_specs(value))
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
