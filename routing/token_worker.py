"""The local token count runs in a helper process that exits when idle.

The o200k_base BPE costs about 140 MiB once loaded (66 MiB of it when its Rust module
is merely imported) and never gives it back: one ``count_tokens`` call made the gateway
grow from 73 to 212 MiB for the rest of its life (issue 10, item 15). In a spawned
helper (a fresh interpreter that imports only ``routing.token_count``) the gateway's own
RSS stays where it was, the memory goes back to the system ``IDLE_SECONDS`` after the
last count, and a large count no longer holds the event loop (about 0.2 s per MB).
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.process import BaseProcess
from typing import Any

from routing.token_count import check_countable, count_request_tokens

IDLE_SECONDS = 120.0
JOIN_SECONDS = 2.0  # at gateway shutdown: how long to wait for the terminated helper


class TokenWorker:
    """One helper process, started on first use, stopped after ``idle_seconds``."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._running = 0

    async def count(self, body: dict[str, Any]) -> int:
        """``count_request_tokens(body)`` in the helper (``TooLongToCount`` is raised here,
        before anything is sent to it)."""
        check_countable(body)
        loop = asyncio.get_running_loop()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._running += 1
        try:
            return await loop.run_in_executor(self._pool, count_request_tokens, body)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle_timer = loop.call_later(self.idle_seconds, self.stop)

    def stop(self) -> None:
        """Stop the helper (it is started again by the next count)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pool is not None and self._running == 0:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def processes(self) -> list[BaseProcess]:
        """The helper's live processes (``ProcessPoolExecutor`` has no public accessor for
        them before Python 3.14's ``terminate_workers``)."""
        if self._pool is None:
            return []
        return list((getattr(self._pool, "_processes", None) or {}).values())

    async def shutdown(self, join_seconds: float = JOIN_SECONDS) -> None:
        """At gateway shutdown: terminate the helper and wait briefly for it to go, so a
        drained gateway leaves no orphan behind. ``stop`` only asks the pool to wind
        down (the helper would outlive a server that re-raises SIGTERM); a count still
        running is abandoned, its request is being torn down anyway."""
        processes = self.processes()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        for process in processes:
            process.terminate()
        if processes:  # join blocks: off the event loop
            await asyncio.to_thread(_join_all, processes, join_seconds)

    @property
    def alive(self) -> bool:
        return self._pool is not None


def _join_all(processes: list[BaseProcess], seconds: float) -> None:
    for process in processes:
        process.join(seconds)


token_worker = TokenWorker()
