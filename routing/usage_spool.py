"""The usage spool: records a stopping process could not write, kept on local disk.

At shutdown with the database unreachable, ``spool()`` writes what is still buffered to
a new file in ``VANDAMME_USAGE_SPOOL_DIR``: JSON lines, written to a temporary name,
fsynced, then renamed, so a file is either whole or absent. The next process replays
the files (``replay()``, from its first flush): a file is claimed by renaming it to a
name with the claimer's pid (one rename wins, so two processes never replay the same
file), written with row isolation, and deleted only once its records are in the
database. If the database fails again midway, the file is rewritten with the records
still unwritten and given back, so nothing is written twice.

Only a crash between a batch's commit and the file's rewrite could replay that batch
again; the window is a file write long.
"""

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from routing.usage_event import UsageEvent
from routing.usage_writer import WriteOutcome

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
CLAIMED = re.compile(r"^(?P<name>usage-[\w.-]+\.jsonl)\.replaying-(?P<pid>\d+)$")
_replaying = threading.Lock()  # one replay at a time in a process


def spool_dir() -> Path:
    return Path(settings.VANDAMME_USAGE_SPOOL_DIR)


def spool(events: list[UsageEvent]) -> Path:
    """Write ``events`` to a new spool file, atomically; returns its path."""
    directory = spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"usage-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    _write_atomically(path, events)
    return path


def _write_atomically(path: Path, events: Iterable[UsageEvent]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="ascii") as file:
        file.writelines(json.dumps(event.as_json(), ensure_ascii=True) + "\n" for event in events)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def _read(path: Path) -> list[UsageEvent]:
    events = []
    for number, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), 1):
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict):
            events.append(UsageEvent.from_json(data))
        elif line.strip():
            logger.error("usage spool %s: line %d is not a usage record; skipped", path.name, number)
    return events


def _claimable(directory: Path) -> list[Path]:
    """Unclaimed spool files, and claims left by a process that is gone, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        claim = CLAIMED.match(path.name)
        unclaimed = path.name.startswith("usage-") and path.name.endswith(SUFFIX)
        if unclaimed or (claim and not _is_running(int(claim["pid"]))):
            found.append(path)
    return sorted(found, key=lambda path: path.name)


def _is_running(pid: int) -> bool:
    # Our own pid on a claim is a previous container's (this process replays under a lock).
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(path: Path) -> tuple[Path, Path] | None:
    """Rename a file to this process's claim: (claimed path, name to give it back under)."""
    match = CLAIMED.match(path.name)
    original = path.with_name(match["name"]) if match else path
    claimed = original.with_name(f"{original.name}.replaying-{os.getpid()}")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None  # another process claimed it first
    return claimed, original


@dataclass
class ReplayOutcome:
    written: int = 0
    dead: int = 0
    left: int = 0  # still in the spool: the database failed again

    @property
    def done(self) -> bool:
        return self.left == 0


Writer = Callable[[list[UsageEvent]], WriteOutcome]


def replay(write: Writer, batch: int) -> ReplayOutcome:
    """Write every spool file's records with ``write``, ``batch`` at a time."""
    outcome = ReplayOutcome()
    if not _replaying.acquire(blocking=False):
        return outcome
    try:
        for path in _claimable(spool_dir()):
            claim = _claim(path)
            if claim is not None and not _replay_file(*claim, write, batch, outcome):
                break  # the database is away again: the other files wait too
    finally:
        _replaying.release()
    if outcome.written or outcome.dead or outcome.left:
        logger.info(
            "usage spool: wrote %d records, dead-lettered %d, %d left for later",
            outcome.written,
            outcome.dead,
            outcome.left,
        )
    return outcome


def _replay_file(claimed: Path, original: Path, write: Writer, batch: int, outcome: ReplayOutcome) -> bool:
    """Replay one claimed file; False if the database failed (the rest is given back)."""
    events = _read(claimed)
    for start in range(0, len(events), batch):
        result = write(events[start : start + batch])
        outcome.written += result.written
        outcome.dead += result.dead
        if result.error is not None:
            rest = result.unwritten + events[start + batch :]
            _write_atomically(claimed, rest)
            claimed.rename(original)
            outcome.left += len(rest)
            logger.warning(
                "usage spool: database unreachable (%s); %d records stay in %s",
                type(result.error).__name__,
                len(rest),
                original.name,
            )
            return False
    claimed.unlink()
    return True
