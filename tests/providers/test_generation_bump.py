"""A configuration change whose generation bump finds the database locked still reaches
every process: the bump waits its turn instead of being lost (CI saw SQLite's
"database table is locked" drop the bump of a key disabled after five 401s, and the
process went on serving the key)."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import F

from providers.generation import config_generation_bump, config_generation_get
from providers.models import ConfigGeneration

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bump_that_finds_the_generation_row_locked_lands_once_the_lock_is_released() -> None:
    config_generation_bump()  # the row exists
    before = config_generation_get()
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        """Another writer: an open transaction that has written the row."""
        try:
            with transaction.atomic():
                ConfigGeneration.objects.filter(pk=1).update(value=F("value"))
                locked.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(5)
        threading.Timer(0.1, release.set).start()
        config_generation_bump()  # outside a transaction: bumps at once
    finally:
        release.set()
        holder.join(5)
    assert config_generation_get() == before + 1
