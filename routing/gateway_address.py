"""Where this checkout's gateway listens, for the commands that launch its clients.

``manage.py serve`` records the address it listens on (``record_listening``) in
``~/.cache/vandamme/``, one file per checkout, with its process id; ``manage.py claude``
and ``manage.py codex`` read it back (``running_gateway_url``), so a gateway started with
``--port 9000`` or ``PORT=9000`` in one shell is found from another shell without
exporting anything. A record whose process is gone is ignored; without one, the address
is the settings' ``HOST``/``PORT`` (environment, then ``.env``), as ``serve`` would use.
"""

import contextlib
import hashlib
import json
import os
from pathlib import Path

from django.conf import settings

WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104  (listening on all interfaces: connect locally)


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches ``host:port`` at."""
    host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _record_path() -> Path:
    """One record per checkout: two clones may each run a gateway."""
    checkout = hashlib.sha256(str(settings.BASE_DIR).encode()).hexdigest()[:12]
    return Path.home() / ".cache" / "vandamme" / f"gateway-{checkout}.json"


def record_listening(host: str, port: int) -> None:
    """Note the address this process (pid kept across exec) is about to serve on. Best
    effort: a read-only home (a container) only loses the convenience."""
    path = _record_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"url": local_url(host, port), "pid": os.getpid()}))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def running_gateway_url() -> str | None:
    """The URL recorded by this checkout's running gateway, if one is running."""
    try:
        record = json.loads(_record_path().read_text())
        url, pid = record["url"], record["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(url, str) or not isinstance(pid, int) or pid <= 0 or not _process_alive(pid):
        return None
    return url


def gateway_url() -> str:
    """The running gateway's URL, else the one the settings give ``serve``."""
    return running_gateway_url() or local_url(settings.HOST, settings.PORT)
