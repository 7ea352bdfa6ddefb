"""What ``serve`` checks before it serves, and whether it loads the environment/TOML layer.

- A replica that cannot reach its database, or whose Redis URL is wrong or unreachable,
  stops with one line saying which and why (``CommandError``: no traceback), before it
  migrates, loads or listens: it never serves half-configured.
- Fleet mode: on a shared database (anything but SQLite) ``serve`` does not load the
  environment and TOML files unless ``--load`` is given. The load is a deploy step
  (``manage.py load_config``, run once as a job); replicas run ``serve --skip-load`` and
  one replica's environment never rewrites the rows every replica serves. On SQLite (one
  machine) ``serve`` loads as before. A ``--load`` on a shared database lists every
  change it made to the shared rows, as warnings.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from vandamme.redis_breaker import redis_errors, redis_location, sync_client

STARTUP_TIMEOUT_SECONDS = 5.0


def database_is_shared() -> bool:
    return bool(connection.vendor != "sqlite")


def _database_location() -> str:
    params = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return str(params.get("NAME", ""))
    host, port = params.get("HOST") or "localhost", params.get("PORT") or "default port"
    return f"{host}:{port}/{params.get('NAME', '')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_database() -> None:
    if connection.vendor == "postgresql":  # a stalled server must not hang the start
        options = connection.settings_dict.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", int(STARTUP_TIMEOUT_SECONDS))
    try:
        connection.ensure_connection()
    except Exception as exc:
        where = _database_location()
        raise CommandError(f"cannot reach the database at {where} ({_first_line(exc)})") from exc


def _check_redis(name: str, url: str) -> None:
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise CommandError(f"{name} is not a Redis URL (redis://, rediss:// or unix://)")
    try:
        client = sync_client(url, STARTUP_TIMEOUT_SECONDS)
    except ValueError as exc:
        raise CommandError(f"{name} is not a valid Redis URL ({exc})") from exc
    try:
        client.ping()
    except redis_errors() as exc:
        where = redis_location(url)
        raise CommandError(f"cannot reach Redis at {where} ({name}: {_first_line(exc)})") from exc
    finally:
        client.close()


def check_redis() -> None:
    checked: set[str] = set()
    for name in ("REDIS_URL", "VANDAMME_LIMITS_REDIS_URL"):  # the latter defaults to the former
        url = getattr(settings, name)
        if url and url not in checked:
            checked.add(url)
            _check_redis(name, url)


def startup_checks() -> None:
    """Raise ``CommandError`` (one line) when the database or a configured Redis is unusable."""
    check_database()
    check_redis()


def load_decision(*, load: bool, skip_load: bool) -> tuple[bool, str]:
    """(load the environment/TOML layer?, a line to print when it is not loaded)."""
    if skip_load:
        return False, "--skip-load: serving the configuration in the database"
    if load or not database_is_shared():
        return True, ""
    return False, (
        f"shared database ({connection.vendor}): serving the configuration in the database, "
        "not this process's environment/TOML (apply those with `manage.py load_config` as a "
        "deploy job, or pass `serve --load`)"
    )


def shared_changes_warnings(changes: list[str]) -> list[str]:
    """What a ``serve --load`` on a shared database changed in rows every replica serves."""
    if not database_is_shared():
        return []
    return [f"serve --load changed the shared configuration: {change}" for change in changes]
