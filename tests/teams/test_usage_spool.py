"""The usage spool: what the database refused at shutdown is kept on disk and written by
the next process, once, even when the database fails again during the replay."""

import json
import os
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from routing import usage, usage_spool, usage_writer
from routing.usage import UsageEvent, usage_recorder
from teams.models import UsageRecord


@pytest.fixture
def spool_dir(settings: object, tmp_path: Path) -> Path:
    settings.VANDAMME_USAGE_SPOOL_DIR = tmp_path / "spool"  # type: ignore[attr-defined]
    settings.VANDAMME_USAGE_BATCH = 4  # type: ignore[attr-defined]
    return tmp_path / "spool"


def _events(count: int) -> list[UsageEvent]:
    return [UsageEvent("p", f"m{index:02d}", "m", 200, 1, False) for index in range(count)]


def _database_down_after(batches: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database answers ``batches`` writes, then is unreachable."""
    real_write = usage_writer.write
    calls = iter(range(10_000))

    def write(events: list[UsageEvent]) -> None:
        if next(calls) >= batches:
            raise OperationalError("connection refused")
        real_write(events)

    monkeypatch.setattr(usage_writer, "write", write)


def _spooled(directory: Path) -> list[str]:
    lines = [line for path in sorted(directory.glob("usage-*")) for line in path.read_text().splitlines()]
    return [json.loads(line)["model_requested"] for line in lines]


@pytest.mark.django_db(transaction=True)
def test_at_exit_the_records_the_database_refused_are_spooled_and_counted_right(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _database_down_after(1, monkeypatch)
    for event in _events(10):
        usage_recorder.record(event)
    usage._flush_at_exit()
    assert UsageRecord.objects.count() == 4
    assert usage_recorder.pending == 0
    assert _spooled(spool_dir) == [f"m{index:02d}" for index in range(4, 10)]
    assert "6 usage records spooled" in caplog.text
    assert not list(spool_dir.glob(".*.tmp"))  # written under a temporary name, then renamed


@pytest.mark.django_db(transaction=True)
async def test_a_replay_interrupted_by_the_database_leaves_only_the_rest_in_the_spool(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage_spool.spool(_events(10))
    _database_down_after(2, monkeypatch)
    assert await usage_recorder.flush() == 0  # replayed 8, then the database went away
    assert await UsageRecord.objects.acount() == 8
    assert _spooled(spool_dir) == ["m08", "m09"]

    monkeypatch.undo()
    await usage_recorder.flush()
    await usage_recorder.flush()  # nothing left: nothing written twice
    models = [r.model_requested async for r in UsageRecord.objects.order_by("model_requested")]
    assert models == [f"m{index:02d}" for index in range(10)]
    assert list(spool_dir.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_a_file_claimed_by_a_live_process_is_left_alone_and_a_dead_ones_claim_is_taken_over(
    spool_dir: Path,
) -> None:
    alive = usage_spool.spool(_events(2))
    alive.rename(alive.with_name(f"{alive.name}.replaying-{os.getppid()}"))
    dead = usage_spool.spool(_events(3))
    dead.rename(dead.with_name(f"{dead.name}.replaying-{2**22 + 12345}"))  # above pid_max: gone
    outcome = usage_spool.replay(usage_writer.write_isolating, batch=100)
    assert (outcome.written, outcome.done) == (3, True)
    assert [path.name.split(".")[-1] for path in spool_dir.iterdir()] == [f"replaying-{os.getppid()}"]


@pytest.mark.django_db(transaction=True)
async def test_a_line_that_is_not_a_record_is_skipped(spool_dir: Path) -> None:
    path = usage_spool.spool(_events(2))
    path.write_text(path.read_text() + "not json\n[1, 2]\n")
    await sync_to_async(usage_spool.replay)(usage_writer.write_isolating, 100)
    assert await UsageRecord.objects.acount() == 2
    assert list(spool_dir.iterdir()) == []
