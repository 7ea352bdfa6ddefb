"""Admin forms for providers and API keys: a key's secret is write-only (entered once,
never rendered); secret-looking custom header values are shown masked."""

from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.masking import MASK, mask_headers
from providers.headers import provider_headers_set
from providers.models import ApiKey, Provider, ProviderLoadResult, Source

MANAGED_SOURCES = (Source.ENV, Source.FILE)


class ProviderForm(forms.ModelForm):
    """The page shows secret-named header values (Authorization, *key*, *token*, *auth*…)
    masked, as the API does; a masked value posted back keeps the stored one. Every value is
    stored encrypted (``providers.headers``). No Meta: the admin builds it with the fields
    of its fieldsets."""

    instance: Provider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("custom_headers")
        if field is not None:
            field.help_text = f"Secret-looking values show as {MASK}; leave them so to keep them."
            if self.instance.pk:
                self.initial["custom_headers"] = mask_headers(self.instance.custom_headers or {})

    def clean_custom_headers(self) -> Any:
        """The shown form of the headers; the instance gets their sealed values too."""
        headers = self.cleaned_data.get("custom_headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise forms.ValidationError('Custom headers are a JSON object of strings: {"X-Name": "value"}.')
        try:
            provider_headers_set(provider=self.instance, headers=headers)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return self.instance.custom_headers


def key_variable(provider_name: str) -> str:
    """The environment variable whose keys the loader gave this provider ({NAME}_API_KEY)."""
    return f"{provider_name.upper().replace('-', '_')}_API_KEY"


def key_origin(key: ApiKey) -> str:
    """Where a loaded key comes from, as the operator would change it: "set by OPENAI_API_KEY",
    or by the TOML file(s) the last load read."""
    if key.source == Source.ENV:
        return f"set by {key_variable(key.provider.name)}"
    result = ProviderLoadResult.objects.filter(provider_name=key.provider.name).first()
    files = [origin for origin in (result.sources if result else []) if origin.endswith(".toml")]
    return f"set by {', '.join(files)}" if files else "set by a TOML file"


class PlainText(forms.Widget):
    """Text in place of a disabled input, so a value set elsewhere reads as a value, not
    as an empty box: ``note`` when given, else the field's own value."""

    def __init__(self, note: str = "") -> None:
        super().__init__()
        self.note = note

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return format_html('<span class="plain-value">{}</span>', self.note or value or "—")


class ApiKeyForm(forms.ModelForm):
    """``secret`` is required for a new key, optional ("leave blank to keep") for an existing one."""

    secret = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, shown afterwards only as fingerprint and last 4 characters.",
    )

    class Meta:
        model = ApiKey
        fields = ("label", "enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].help_text = "Leave blank to keep the current key."
            if self.instance.source in MANAGED_SOURCES:
                self._show_as_loaded()

    def _show_as_loaded(self) -> None:
        """A key from the environment or a file: its origin and label as text, not empty
        disabled boxes; only ``enabled`` stays editable (the next load would undo the rest)."""
        secret, label = self.fields["secret"], self.fields["label"]
        secret.disabled = label.disabled = True
        secret.widget = PlainText(key_origin(self.instance))
        label.widget = PlainText()
        secret.help_text = "Change it there: the next load would override an edit here."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        is_new = not self.instance.pk
        if is_new and self.has_changed() and not cleaned.get("secret") and not cleaned.get("DELETE"):
            self.add_error("secret", "Enter the API key.")
        return cleaned


class ApiKeyInlineFormSet(forms.BaseInlineFormSet):
    """Keys set by the environment or a file cannot be deleted here: the next load restores them."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if not hasattr(form, "cleaned_data"):
                continue
            if (
                form.cleaned_data.get("DELETE")
                and form.instance.pk
                and form.instance.source in MANAGED_SOURCES
            ):
                raise forms.ValidationError(
                    f"Key {form.instance.masked} is set by the {form.instance.get_source_display()}: "
                    "remove it there instead."
                )
