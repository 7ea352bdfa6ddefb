"""A seeded fuzz of both doors and ``count_tokens`` through the ASGI application, with a
real mock upstream on 127.0.0.1 (``tests.mock_upstream``) that records what reaches it.

Counts, printed as a summary and each asserted to be 0: 5xx of the gateway's own (the
mock always answers well), errors not in the door's dialect, requests closed without an
answer (the application raised), hostile requests that reached the upstream, and hostile
requests answered with a status other than the one they deserve.
"""

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from providers.models import ApiFormat
from tests.gateway.conftest import make_provider
from tests.mock_upstream import MockUpstream
from tests.unhappy.fuzz import CHAT, COUNT_TOKENS, MESSAGES, Fuzzer, FuzzRequest, is_dialect_error
from vandamme.asgi import application

SEED = int(os.environ.get("VANDAMME_FUZZ_SEED", "20261204"))
COUNT = int(os.environ.get("VANDAMME_FUZZ_COUNT", "2000"))
# One model per upstream format on each door: passthrough and translation both get fuzzed.
MODELS = {
    MESSAGES: ["mockant:claude-fuzz", "gpt-4o"],
    CHAT: ["gpt-4o", "mockant:claude-fuzz"],
    COUNT_TOKENS: ["mockant:claude-fuzz", "gpt-4o"],
}


@dataclass
class Tally:
    total: int = 0
    ours_5xx: int = 0
    wrong_dialect: int = 0
    closed: int = 0
    reached_upstream: int = 0
    wrong_status: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def fail(self, counter: str, request: FuzzRequest, detail: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.failures) < 20:
            self.failures.append(f"{counter}: {request.kind} {request.method} {request.path}: {detail[:200]}")

    def figures(self) -> dict[str, int]:
        names = ("ours_5xx", "wrong_dialect", "closed", "reached_upstream", "wrong_status")
        return {name: getattr(self, name) for name in names}

    def summary(self) -> str:
        figures = " ".join(f"{name}={value}" for name, value in self.figures().items())
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return f"fuzz seed={SEED} total={self.total} {figures} (statuses {statuses})"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    with MockUpstream(record=True) as upstream:
        yield upstream


@pytest.fixture
def fuzz_providers(transactional_db: None, mock: MockUpstream) -> None:
    make_provider("mockai", base_url=mock.base_url, keys=("sk-fuzz-openai-aaaaaaaa",), is_default=True)
    make_provider(
        "mockant", base_url=mock.origin, api_format=ApiFormat.ANTHROPIC, keys=("sk-ant-fuzz-bbbbbbbb",)
    )


def judge(tally: Tally, request: FuzzRequest, response: httpx.Response, upstream_calls: int) -> None:
    tally.statuses[response.status_code] += 1
    if response.status_code >= 500:
        tally.fail("ours_5xx", request, response.text)
    if response.status_code >= 400:
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if not is_dialect_error(request.dialect, payload):
            tally.fail("wrong_dialect", request, response.text)
    if request.hostile:
        if upstream_calls:
            tally.fail("reached_upstream", request, f"{upstream_calls} upstream call(s)")
        if response.status_code != request.status:
            tally.fail("wrong_status", request, f"{response.status_code} {response.text}")


async def run_fuzz(mock: MockUpstream, requests: Iterator[FuzzRequest]) -> Tally:
    tally = Tally()
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        for request in requests:
            tally.total += 1
            try:
                response = await client.request(
                    request.method, request.path, content=request.body, headers=list(request.headers)
                )
            except Exception as exc:  # the application raised: no answer at all
                tally.fail("closed", request, repr(exc))
                continue
            upstream_calls = len(mock.requests())
            mock.reset()
            judge(tally, request, response, upstream_calls)
    return tally


@pytest.mark.usefixtures("fuzz_providers")
async def test_seeded_fuzz_gets_no_5xx_of_ours_and_only_dialect_errors(mock: MockUpstream) -> None:
    started = time.monotonic()
    tally = await run_fuzz(mock, Fuzzer(SEED, models=MODELS, counted_locally="gpt-4o").requests(COUNT))
    print(f"\n{tally.summary()} in {time.monotonic() - started:.1f} s")  # noqa: T201  (the figures)
    assert tally.total == COUNT
    assert tally.figures() == dict.fromkeys(tally.figures(), 0), "\n".join(tally.failures)
    # Careless requests do get answers: the fuzz is not refusing everything.
    assert tally.statuses[200] > COUNT // 10
