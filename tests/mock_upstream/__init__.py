"""A fast, scriptable mock upstream speaking OpenAI Chat Completions, OpenAI Responses and
Anthropic Messages (and playing Codex CLI's shell round trip: see ``shell_round_trip``).

In tests: ``with MockUpstream() as mock:`` then point a provider at ``mock.base_url`` and use
``mock.script([...])``, ``mock.add_rule({...})``, ``mock.requests()``, ``mock.reset()``.
Standalone (the benchmark): ``python -m tests.mock_upstream --port 0 --port-file PATH``.
The same controls are served over HTTP under ``/_mock/`` (see ``control``).
"""

from tests.mock_upstream.harness import MockUpstream
from tests.mock_upstream.replies import INPUT_TOKENS, REPLY_TEXT, stream_text

__all__ = ["INPUT_TOKENS", "REPLY_TEXT", "MockUpstream", "stream_text"]
