"""A guardrail: refuses a call whose prompt matches a configured pattern (by default,
secrets pasted into it: API keys, AWS access key ids, private key blocks …) with a 400 in
the client's dialect, before anything leaves. The refusal names the pattern, never the
text that matched.

    [defaults]
    middleware = [{ path = "routing.middleware.guardrail.Guardrail",
                    options = { patterns = { ticket = "TICKET-[0-9]+" }, secrets = true } }]
"""

from collections.abc import Mapping
from typing import Any

from routing.middleware.base import HookContext, Middleware, Refused
from routing.middleware.prompts import compiled_patterns, prompt_texts


class Guardrail(Middleware):
    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.patterns = compiled_patterns(options)
        self.message = str(options.get("message", "the prompt matches the guardrail pattern '{name}'"))

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        for text in prompt_texts(body):
            for name, pattern in self.patterns:
                if pattern.search(text):
                    raise Refused(self.message.format(name=name))
        return body
