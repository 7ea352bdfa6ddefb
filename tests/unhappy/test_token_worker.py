"""The local token count's helper process: the gateway never loads the BPE itself, and
the helper (about 140 MiB with the BPE loaded) exits once idle."""

import asyncio
import subprocess
import sys

from routing.token_count import count_request_tokens
from routing.token_worker import TokenWorker

BODY = {"messages": [{"role": "user", "content": "hello world " * 1000}]}


async def test_the_helper_counts_as_the_module_does_then_exits_when_idle() -> None:
    worker = TokenWorker(idle_seconds=0.3)
    try:
        assert await worker.count(BODY) == count_request_tokens(BODY)
        assert worker.alive
        await asyncio.sleep(1.0)
        assert not worker.alive
        assert await worker.count(BODY) == count_request_tokens(BODY)  # started again
    finally:
        worker.stop()


def test_counting_through_the_helper_leaves_the_bpe_out_of_the_calling_process() -> None:
    script = (
        "import asyncio, sys\n"
        "from routing.token_worker import TokenWorker\n"
        "worker = TokenWorker()\n"
        "print(asyncio.run(worker.count({'messages': [{'role': 'user', 'content': 'hi there'}]})))\n"
        "worker.stop()\n"
        "assert 'bpe_openai' not in sys.modules, 'the BPE was loaded in the gateway process'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 3
