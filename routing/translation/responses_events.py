"""The answer side of the Responses door: ids, the response object, and each stream event. Pure.

One ``ResponsesEventWriter`` serves one request. It owns what every event of the answer
shares: the response id (``resp_…``), ``created_at``, the model name the client asked
for, the echo of the request's settings that the response object repeats (tools as the
client sent them, ``tool_choice``, ``parallel_tool_calls``, ``instructions``,
``max_output_tokens``, ``temperature``, ``top_p``, ``text``, ``reasoning``,
``metadata``; ``store`` is always false: nothing is kept), the output item ids
(``msg_…``, ``fc_…``, ``rs_…``) and the ``sequence_number``, which starts at 0 with
``response.created`` and grows by one per event, as OpenAI's do.

Which events are written in which order is ``responses_output.ResponsesOutput``'s
business; this module only builds them. ``sse`` encodes one event the way OpenAI sends
it: an ``event:`` line naming the type, then one compact ``data:`` line.

Usage comes in the Responses shape from either upstream dialect: ``input_tokens`` is
the whole prompt (Anthropic's excludes cache reads and writes, so they are added back),
``cached_tokens`` the cache reads, ``cache_write_tokens`` the cache writes (the openai
SDK's ``InputTokensDetails`` requires the field), ``reasoning_tokens`` the reasoning
part of the output where the provider reports it.
"""

import json
import time
import uuid
from typing import Any

from routing.translation.anthropic_fields import USAGE_FIELDS
from routing.translation.openai_fields import cached_prompt_tokens
from routing.translation.shapes import JSONObject

# Request fields the response object repeats, with what OpenAI answers when they are absent.
_ECHO_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "temperature": None,
    "top_p": None,
    "reasoning": None,
    "previous_response_id": None,
}
_ITEM_ID_PREFIX = {"message": "msg", "function_call": "fc", "reasoning": "rs"}
# OpenAI's incomplete reasons the door can meet; any other stop is a completed response.
INCOMPLETE_MAX_TOKENS = "max_output_tokens"
INCOMPLETE_CONTENT_FILTER = "content_filter"
TERMINAL_EVENTS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


def _fresh_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _count(container: Any, key: str) -> int:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _usage(*, prompt: int, cached: int, cache_written: int, output: int, reasoning: int) -> JSONObject:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": cache_written},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + output,
    }


def usage_from_chat(usage: Any) -> JSONObject:
    """Chat Completions usage (``prompt_tokens`` counts the whole prompt) → Responses usage."""
    counts = usage if isinstance(usage, dict) else {}
    return _usage(
        prompt=_count(counts, "prompt_tokens"),
        cached=cached_prompt_tokens(counts) or 0,
        cache_written=_count(counts.get("prompt_tokens_details"), "cache_write_tokens"),
        output=_count(counts, "completion_tokens"),
        reasoning=_count(counts.get("completion_tokens_details"), "reasoning_tokens"),
    )


def usage_from_anthropic(usage: Any) -> JSONObject:
    """Anthropic usage → Responses usage. Anthropic reports no separate reasoning count."""
    counts = {key: _count(usage, key) for key in USAGE_FIELDS}
    cached = counts["cache_read_input_tokens"]
    written = counts["cache_creation_input_tokens"]
    return _usage(
        prompt=counts["input_tokens"] + cached + written,
        cached=cached,
        cache_written=written,
        output=counts["output_tokens"],
        reasoning=0,
    )


def sse(event: JSONObject) -> bytes:
    """One event as OpenAI streams it: ``event: <type>`` then a compact ``data:`` line."""
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def request_echo(request: JSONObject) -> JSONObject:
    """The request's settings as the response object repeats them."""
    echo = {key: request.get(key, default) for key, default in _ECHO_DEFAULTS.items()}
    tools = request.get("tools")
    text = request.get("text")
    metadata = request.get("metadata")
    parallel = request.get("parallel_tool_calls")
    echo.update(
        tools=tools if isinstance(tools, list) else [],
        tool_choice=request.get("tool_choice") or "auto",
        parallel_tool_calls=parallel if isinstance(parallel, bool) else True,
        text=text if isinstance(text, dict) else {"format": {"type": "text"}},
        metadata=metadata if isinstance(metadata, dict) else {},
        store=False,
    )
    return echo


class ResponsesEventWriter:
    """Builds the response object and the events of one answer, numbering the events."""

    def __init__(
        self,
        *,
        request: JSONObject,
        client_model: str,
        created_at: int | None = None,
        response_id: str | None = None,
    ) -> None:
        self.response_id = response_id or _fresh_id("resp")
        self.created_at = int(time.time()) if created_at is None else created_at
        self.client_model = client_model
        self._echo = request_echo(request)
        self._sequence = 0

    def item_id(self, item_type: str) -> str:
        return _fresh_id(_ITEM_ID_PREFIX.get(item_type, "item"))

    def response(
        self,
        *,
        status: str,
        output: list[JSONObject],
        usage: JSONObject | None = None,
        incomplete_reason: str | None = None,
        error: JSONObject | None = None,
    ) -> JSONObject:
        """The whole response object (``output`` items as they stand)."""
        response: JSONObject = {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": self.client_model,
            "output": output,
            "usage": usage,
            "error": error,
            "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
            **self._echo,
        }
        if status == "completed":
            response["completed_at"] = int(time.time())
        return response

    def event(self, event_type: str, **fields: Any) -> JSONObject:
        """An event of ``event_type`` with the next ``sequence_number``."""
        event = {"type": event_type, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def opening(self) -> list[JSONObject]:
        """``response.created`` and ``response.in_progress``, with nothing in ``output`` yet."""
        return [
            self.event(kind, response=self.response(status="in_progress", output=[]))
            for kind in ("response.created", "response.in_progress")
        ]

    def terminal(
        self,
        *,
        output: list[JSONObject],
        usage: JSONObject | None,
        incomplete_reason: str | None = None,
        error: JSONObject | None = None,
    ) -> JSONObject:
        """The one last event: failed with ``error``, incomplete with a reason, else completed."""
        status = "failed" if error else "incomplete" if incomplete_reason else "completed"
        response = self.response(
            status=status, output=output, usage=usage, incomplete_reason=incomplete_reason, error=error
        )
        return self.event(TERMINAL_EVENTS[status], response=response)
