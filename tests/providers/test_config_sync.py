"""Applying configuration to the database: idempotent, transactional, secrets encrypted."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from aliases.models import Alias
from providers.crypto import decrypt_secret, fingerprint_secret
from providers.loaders import build_config
from providers.models import ApiKey, ConfigGeneration, LoadStatus, Provider, ProviderLoadResult, Source
from providers.services import api_key_create
from providers.summary import COLUMNS, render_summary_table
from vandamme.configuration import config_apply, config_load_from_disk

pytestmark = pytest.mark.django_db

SECRET = "sk-plaintext-secret-4242424242"
BASE = "[openai]\nbase-url = 'https://api.openai.com/v1'\n[poe]\nbase-url = 'https://api.poe.com/v1'\n"


def _apply(env: dict[str, str], toml: str = BASE, *, dry_run: bool = False):
    return config_apply(
        config=build_config(environ=env, toml_layers=[(toml, "defaults.toml")]), dry_run=dry_run
    )


def test_openai_key_alone_gives_a_default_provider_with_one_key() -> None:
    _apply({"OPENAI_API_KEY": SECRET})
    provider = Provider.objects.get(name="openai")
    assert provider.is_default
    assert provider.enabled
    assert provider.source == Source.ENV
    assert provider.field_sources["base_url"] == "file"
    key = provider.keys.get()
    assert key.fingerprint == fingerprint_secret(SECRET)
    assert decrypt_secret(key.ciphertext) == SECRET
    assert not Provider.objects.filter(name="poe").exists()  # no key: inactive, no row
    assert ProviderLoadResult.objects.get(provider_name="poe").status == LoadStatus.INACTIVE


def test_the_raw_column_holds_no_plaintext() -> None:
    _apply({"OPENAI_API_KEY": SECRET})
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext, fingerprint, last4 FROM providers_apikey")
        rows = cursor.fetchall()
    assert rows
    for row in rows:
        assert all(SECRET not in str(value) for value in row)


def test_reload_is_idempotent(django_capture_on_commit_callbacks) -> None:
    env = {"OPENAI_API_KEY": f"{SECRET} sk-second-key-000000000000", "VDM_ALIAS_FAST": "openai:gpt-4o-mini"}
    first = _apply(env)
    assert first.changes
    stamps = list(Provider.objects.values_list("updated_at", flat=True))
    with django_capture_on_commit_callbacks() as callbacks:
        second = _apply(env)
    assert second.changes == []
    assert callbacks == []  # no generation bump: nothing was saved
    assert list(Provider.objects.values_list("updated_at", flat=True)) == stamps
    assert ApiKey.objects.count() == 2
    assert Alias.objects.count() == 1


def test_removing_an_env_key_removes_it_but_keeps_admin_keys() -> None:
    _apply({"OPENAI_API_KEY": f"{SECRET} sk-second-key-000000000000"})
    admin_key = api_key_create(provider=Provider.objects.get(name="openai"), secret="sk-admin-added-key-1111")
    _apply({"OPENAI_API_KEY": SECRET})
    fingerprints = set(ApiKey.objects.values_list("fingerprint", flat=True))
    assert fingerprints == {fingerprint_secret(SECRET), admin_key.fingerprint}


def test_a_failing_provider_does_not_stop_the_others() -> None:
    report = _apply(
        {
            "OPENAI_API_KEY": SECRET,
            "BROKEN_API_KEY": "k",
            "BROKEN_API_FORMAT": "gopher",
            "BROKEN_BASE_URL": "https://b",
        }
    )
    assert Provider.objects.filter(name="openai").exists()
    assert not Provider.objects.filter(name="broken").exists()
    broken = ProviderLoadResult.objects.get(provider_name="broken")
    assert broken.status == LoadStatus.FAILURE
    assert "gopher" in broken.message
    assert any(r.provider_name == "openai" and r.status == LoadStatus.SUCCESS for r in report.results)


def test_admin_edits_of_unmanaged_fields_survive_a_reload() -> None:
    _apply({"OPENAI_API_KEY": SECRET})
    Provider.objects.filter(name="openai").update(max_retries=9, enabled=False)
    _apply({"OPENAI_API_KEY": SECRET})
    provider = Provider.objects.get(name="openai")
    assert provider.max_retries == 9
    assert provider.enabled is False


def test_env_overrides_an_admin_value_of_a_managed_field() -> None:
    _apply({"OPENAI_API_KEY": SECRET})
    Provider.objects.filter(name="openai").update(base_url="https://edited.example/v1")
    _apply({"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "https://env.example/v1"})
    provider = Provider.objects.get(name="openai")
    assert provider.base_url == "https://env.example/v1"
    assert provider.field_sources["base_url"] == "env"


def test_dry_run_writes_nothing() -> None:
    report = _apply({"OPENAI_API_KEY": SECRET}, dry_run=True)
    assert report.changes
    assert not Provider.objects.exists()
    assert not ApiKey.objects.exists()


def test_only_active_provider_becomes_default() -> None:
    _apply({"POE_API_KEY": "poe-key"}, toml="[defaults]\ndefault-provider = 'openai'\n" + BASE)
    assert Provider.objects.get(is_default=True).name == "poe"


def test_aliases_follow_the_configuration() -> None:
    _apply({"OPENAI_API_KEY": SECRET, "VDM_ALIAS_FAST": "openai:a", "OPENAI_ALIAS_HAIKU": "b"})
    assert set(Alias.objects.values_list("name", "target")) == {("fast", "openai:a"), ("haiku", "b")}
    assert Alias.objects.get(name="haiku").provider.name == "openai"
    Alias.objects.create(name="mine", target="openai:c")  # admin-made: kept
    _apply({"OPENAI_API_KEY": SECRET})
    assert set(Alias.objects.values_list("name", flat=True)) == {"mine"}


def test_changes_bump_the_generation(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _apply({"OPENAI_API_KEY": SECRET})
    assert ConfigGeneration.objects.get(pk=1).value >= 1


def test_summary_table_shows_fingerprints_never_secrets() -> None:
    report = _apply({"OPENAI_API_KEY": SECRET})
    table = render_summary_table(report.results)
    assert SECRET not in table
    assert fingerprint_secret(SECRET) in table
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["provider", "status", "format"]
    assert lines[2].startswith("openai")
    assert "success" in lines[2]
    assert "inactive" in lines[-1]


def test_summary_separator_has_dashes_under_every_column() -> None:
    report = _apply({"OPENAI_API_KEY": SECRET})
    separator = render_summary_table(report.results).splitlines()[1]
    dashes = separator.split("  ")
    assert len(dashes) == len(COLUMNS)
    longest_message = max(len(result.message) for result in report.results)
    assert len(dashes[-1]) == max(len("message"), longest_message)
    assert all(set(run) == {"-"} for run in dashes)


def test_commands_print_the_summary(tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "vandamme-config.toml"
    local.write_text("[mine]\nbase-url = 'https://mine.example/v1'\napi-key = 'sk-from-file-99999999'\n")
    settings.VANDAMME_CONFIG_FILE = str(local)
    settings.VANDAMME_USER_CONFIG_FILE = str(tmp_path / "absent.toml")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = StringIO()
    call_command("load_config", "--dry-run", stdout=out)
    assert "would change: provider mine: created" in out.getvalue()
    assert not Provider.objects.filter(name="mine").exists()
    call_command("load_config", stdout=StringIO())
    assert Provider.objects.get(name="mine").keys.get().source == Source.FILE
    summary = StringIO()
    call_command("config_summary", stdout=summary)
    assert "mine" in summary.getvalue()
    assert "sk-from-file-99999999" not in summary.getvalue() + out.getvalue()


def test_unparseable_file_is_a_command_error(tmp_path: Path, settings) -> None:
    local = tmp_path / "vandamme-config.toml"
    local.write_text("[broken\n")
    settings.VANDAMME_CONFIG_FILE = str(local)
    with pytest.raises(CommandError, match=r"vandamme-config\.toml"):
        call_command("load_config", stdout=StringIO())


def test_fernet_key_rotation_reencrypts(settings) -> None:
    from tests.conftest import TEST_FERNET_KEYS

    _apply({"OPENAI_API_KEY": SECRET})
    before = ApiKey.objects.get().ciphertext
    settings.VANDAMME_FERNET_KEYS = [TEST_FERNET_KEYS[1], TEST_FERNET_KEYS[0]]
    call_command("rotate_fernet_keys", stdout=StringIO())
    after = ApiKey.objects.get().ciphertext
    assert after != before
    settings.VANDAMME_FERNET_KEYS = [TEST_FERNET_KEYS[1]]  # the old key is gone: still readable
    assert decrypt_secret(after) == SECRET


def test_config_load_from_disk_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path
) -> None:
    settings.VANDAMME_CONFIG_FILE = str(tmp_path / "none.toml")
    settings.VANDAMME_USER_CONFIG_FILE = str(tmp_path / "none.toml")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek-777777777")
    config_load_from_disk()
    assert Provider.objects.get(name="deepseek").base_url == "https://api.deepseek.com/v1"


def test_fallbacks_naming_no_active_provider_are_reported_in_the_summary() -> None:
    report = _apply(
        {
            "OPENAI_API_KEY": SECRET,
            "OPENAI_FALLBACKS": "poe:some-bot nowhere:model backup",
            "BACKUP_API_KEY": "sk-backup-key-00000000000",
            "BACKUP_BASE_URL": "https://backup.example/v1",
        }
    )
    result = ProviderLoadResult.objects.get(provider_name="openai")
    assert result.status == LoadStatus.PARTIAL  # it serves; two of its fallbacks never will
    assert "fallback 'poe:some-bot': provider 'poe' is not active" in result.message
    assert "fallback 'nowhere:model': provider 'nowhere' is not active" in result.message
    assert "'backup'" not in result.message
    assert "fallback 'poe:some-bot'" in render_summary_table(report.results)
    assert ProviderLoadResult.objects.get(provider_name="backup").status == LoadStatus.SUCCESS
