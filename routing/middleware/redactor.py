"""A redactor: masks what matches a configured pattern in the prompt before it leaves
(by default the same secret patterns as the guardrail), e.g. ``[REDACTED:aws-access-key-id]``.

    [openai]
    middleware = [{ path = "routing.middleware.redactor.Redactor",
                    options = { patterns = { email = "[\\w.+-]+@[\\w-]+\\.[\\w.]+" },
                                replacement = "[{name}]" } }]
"""

from collections.abc import Mapping
from typing import Any

from routing.middleware.base import HookContext, Middleware
from routing.middleware.prompts import compiled_patterns, rewrite_prompt


class Redactor(Middleware):
    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.patterns = compiled_patterns(options)
        self.replacement = str(options.get("replacement", "[REDACTED:{name}]"))
        try:  # a bad template fails when the chain is built, not on a call
            self.replacement.format(name="check")
        except (KeyError, IndexError) as exc:
            raise ValueError(f"replacement: only {{name}} may be used ({exc!r})") from exc

    def _masked(self, text: str) -> str:
        for name, pattern in self.patterns:
            text = pattern.sub(self.replacement.format(name=name).replace("\\", "\\\\"), text)
        return text

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        return rewrite_prompt(body, self._masked)
