"""Group breakers and capacity counts shared by every process through Redis
(``VANDAMME_GROUPS_REDIS_URL``).

Capacity: requests and tokens sent to each deployment are added to the hash
``vdm:group-capacity:<minute>`` (fields ``<deployment> r`` / ``<deployment> t``, kept two
minutes); each pull reads the current minute's totals back.

An opening (or a 429's cooling) is written as ``vdm:group-breaker:<deployment>`` =
``open <until>`` / ``cooling <until>`` (epoch seconds) that expires at ``until``; a
probe's success that closes a breaker writes ``closed <when>`` (kept a few seconds), and
every process closes a breaker opened before then. Each process reads the keys of the groups it
serves at most every ``PULL_SECONDS`` (one MGET, in the background: no request waits
for Redis) and takes on what others saw. Failures are counted per process; the opening
they lead to is shared. A process that has not heard of a closing half-opens on its own
when the cooldown is over, so it may send a probe of its own. Redis going away is the Redis breaker's business
(``vandamme.redis_breaker``): breakers are then kept per process until it answers.
"""

import asyncio
import contextlib
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from providers.groups import GroupConfig
from routing.groups.breaker import CLOSED, OPEN, BreakerBoard
from routing.groups.capacity import CapacityCounters, minute_of
from routing.groups.strategies import deployment_key
from vandamme.redis_breaker import async_client, redis_breaker, redis_errors

if TYPE_CHECKING:
    import redis.asyncio

logger = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "vdm:group-breaker:"
PULL_SECONDS = 0.25
CAPACITY_PREFIX = "vdm:group-capacity:"
CAPACITY_TTL_SECONDS = 120
# How long a closing stays readable: every process pulls well within it.
CLOSED_MARK_SECONDS = 10.0


class _Connection:
    def __init__(self, url: str, epoch: int) -> None:
        self.epoch = epoch
        self.client: redis.asyncio.Redis = async_client(url)


class RedisGroupShare:
    """A ``BreakerListener`` that writes this process's breaker changes to Redis and
    reads the others' into ``board``."""

    def __init__(self, url: str, board: BreakerBoard, capacity: CapacityCounters) -> None:
        self.url = url
        self.board = board
        self.capacity = capacity
        self.breaker = redis_breaker(url)
        self.watched: set[str] = set()
        self._last_pull = 0.0
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    def watching(self, group: GroupConfig, now: float) -> None:
        for deployment in group.deployments:
            self.watched.add(deployment_key(deployment))
        if now - self._last_pull >= PULL_SECONDS:
            self._last_pull = now
            self._spawn(self.pull())
            if group.strategy == "capacity-aware":
                self._spawn(self.pull_capacity())

    def opened(self, key: str, until: float) -> None:
        self._spawn(self._write(key, f"{OPEN} {until}", until))

    def cooled(self, key: str, until: float) -> None:
        self._spawn(self._write(key, f"cooling {until}", until))

    def closed(self, key: str) -> None:
        now = time.time()
        self._spawn(self._write(key, f"{CLOSED} {now}", now + CLOSED_MARK_SECONDS))

    def counted(self, key: str, now: float, requests: int, tokens: int) -> None:
        minute = minute_of(now)
        self._spawn(self._add(CAPACITY_PREFIX + str(minute), key, requests, tokens))

    async def _add(self, name: str, key: str, requests: int, tokens: int) -> None:
        async def add(client: "redis.asyncio.Redis") -> None:
            async with client.pipeline(transaction=False) as pipe:
                if requests:
                    pipe.hincrby(name, f"{key} r", requests)
                if tokens:
                    pipe.hincrby(name, f"{key} t", tokens)
                pipe.expire(name, CAPACITY_TTL_SECONDS)
                await pipe.execute()

        await self._call(add)

    async def pull_capacity(self) -> None:
        minute = minute_of(time.time())
        totals = await self._call(lambda client: client.hgetall(CAPACITY_PREFIX + str(minute)))
        counts: dict[str, list[int]] = {}
        for field_name, value in (totals or {}).items():
            key, _, kind = str(field_name).rpartition(" ")
            counts.setdefault(key, [0, 0])[kind == "t"] = int(value)
        for key, (requests, tokens) in counts.items():
            self.capacity.set_totals(key, minute, requests, tokens)

    async def pull(self) -> None:
        """Take on the openings and coolings other processes wrote, and the closings (an
        open breaker whose key is gone was closed by a probe elsewhere)."""
        keys = sorted(self.watched)
        if not keys:
            return
        values = await self._call(lambda client: client.mget([PREFIX + key for key in keys]))
        for key, value in zip(keys, values or (), strict=False):
            if value:
                self._apply(key, str(value))

    def _apply(self, key: str, value: str) -> None:
        state, _, when_text = value.partition(" ")
        try:
            when = float(when_text)
        except ValueError:
            return
        if state == CLOSED:  # a probe elsewhere succeeded after this process's opening
            if self.board.until(key) - self.board.policy.cooldown < when:
                self.board.succeeded(key)
            return
        until = when
        if until <= time.time() or self.board.until(key) >= until:
            return  # over already, or known here
        if state == OPEN:
            self.board.open(key, until)
        else:
            self.board.cool(key, until)

    async def _write(self, key: str, value: str, until: float) -> None:
        milliseconds = max(1, math.ceil((until - time.time()) * 1000))
        await self._call(lambda client: client.set(PREFIX + key, value, px=milliseconds))

    async def _call(self, command: "Callable[[redis.asyncio.Redis], Awaitable[T]]") -> T | None:
        """Run ``command(client)`` unless Redis is known to be away; None on failure."""
        if self.breaker.is_open:
            return None
        try:
            result = await command(self._connection().client)
        except redis_errors() as exc:
            self.breaker.failed(exc)
            return None
        self.breaker.succeeded()
        return result

    def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is None or connection.epoch != self.breaker.epoch:
            connection = self._connections[loop] = _Connection(self.url, self.breaker.epoch)
        return connection

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a management command): nothing to share with
            coroutine.close()
            return
        task: asyncio.Task[Any] = loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait for the writes and reads under way (tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.settled()
        for connection in list(self._connections.values()):
            with contextlib.suppress(*redis_errors()):
                await connection.client.aclose()
        self._connections.clear()
