"""List fields (a JSON list of strings: models, fallbacks, allow lists) edited in the admin
as a textarea, one item per line, instead of raw JSON. Used by every app's admin."""

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.text import capfirst

LINES_HINT = "One per line."


def _pasted_json(text: str) -> list[Any] | None:
    """A JSON list pasted in (as this field was edited before, and as the API writes it):
    its items, rather than one item holding the brackets. None for anything else."""
    if not text.lstrip().startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None


class LinesField(forms.Field):
    """One item per line; blank lines and surrounding spaces are dropped. The cleaned value
    is the list the model's JSONField stores, so the API and the admin store the same."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60, "class": "vLinesField", "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value  # a bound form shows the text as typed

    def to_python(self, value: Any) -> list[str]:
        if value in self.empty_values:
            return []
        items = value if isinstance(value, list | tuple) else _pasted_json(str(value))
        if items is None:
            items = str(value).splitlines()
        return [str(item).strip() for item in items if str(item).strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)


class LinesFieldsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose ``lines_fields`` (JSON lists of strings) are edited one per line."""

    lines_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(
        self, db_field: "models.Field[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name not in self.lines_fields:
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        help_text = f"{db_field.help_text} {LINES_HINT}".strip()
        label = capfirst(db_field.verbose_name)
        return LinesField(label=label, help_text=help_text, required=not db_field.blank)
