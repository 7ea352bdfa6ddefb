"""A scripted agent turn for Codex CLI's shell tool, in all three dialects.

The mock answers by content, so the same server serves an agent's whole loop without a
script per call. It plays only when the request offers Codex's shell tool ``exec_command``:

- the conversation already holds a tool output: the final answer, quoting that output
  (``The shell printed: …``), so a test can see the command really ran;
- else a user turn contains ``RUN:<command>``: a call of ``exec_command`` with
  ``{"cmd": "<command>"}``, the arguments streamed in fragments;
- else nothing: the mock's default answer.

Pick a command only a shell can answer (``echo vdm-$((6*7))-$(printf '%s' shell)`` prints
``vdm-42-shell``): a model that merely echoed the prompt would not contain it. Streamed when
the request asks (Codex always does); the Responses dialect also sends a reasoning item with
``encrypted_content`` before the call, as OpenAI's reasoning models do, so the next request
shows how the client hands it back.
"""

import json
from typing import Any

from tests.mock_upstream import responses_api
from tests.mock_upstream.replies import CREATED, sse_data, sse_event

TOOL_NAME = "exec_command"
TRIGGER = "RUN:"
ANSWER_PREFIX = "The shell printed: "
CALL_ID = "call_vdm_shell_1"
ANTHROPIC_CALL_ID = "toolu_vdm_shell_1"
REASONING_SUMMARY = "The user wants a shell command run; call exec_command."
ENCRYPTED_REASONING = "vdm-mock-encrypted-reasoning-1"
INPUT_TOKENS, OUTPUT_TOKENS = 50, 10

Turn = bytes | list[bytes]  # a JSON body, or the encoded events of a stream


def _text_of(content: Any) -> str:
    """A message or tool output's text: a string, or the text of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            _text_of(part.get("text", part.get("content"))) for part in content if isinstance(part, dict)
        ]
        return "\n".join(text for text in texts if text)
    return ""


def _conversation(body: dict[str, Any], dialect: str) -> list[dict[str, Any]]:
    key = "input" if dialect == "responses" else "messages"
    items = body.get(key)
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def offered_tools(body: dict[str, Any], dialect: str) -> set[str]:
    names = set()
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            function = tool.get("function")
            names.add(
                function.get("name")
                if dialect == "chat_completions" and isinstance(function, dict)
                else tool.get("name")
            )
    return {name for name in names if isinstance(name, str)}


def tool_output(body: dict[str, Any], dialect: str) -> str | None:
    """The text of the conversation's last tool output, if it has any."""
    found = None
    for item in _conversation(body, dialect):
        if dialect == "responses" and item.get("type") == "function_call_output":
            found = _text_of(item.get("output"))
        elif dialect == "chat_completions" and item.get("role") == "tool":
            found = _text_of(item.get("content"))
        elif dialect == "messages" and isinstance(item.get("content"), list):
            for block in item["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found = _text_of(block.get("content"))
    return found


def requested_command(body: dict[str, Any], dialect: str) -> str | None:
    """The command after the last ``RUN:`` in a user turn, to the end of its line."""
    command = None
    for item in _conversation(body, dialect):
        text = _text_of(item.get("content")) if item.get("role") == "user" else ""
        if TRIGGER in text:
            command = text.rsplit(TRIGGER, 1)[1].strip().splitlines()[0]
    return command


def turn(body: dict[str, Any], dialect: str) -> Turn | None:
    """This request's scripted answer (dialect: ``chat_completions``, ``messages`` or
    ``responses``), or None when the request is not part of a shell round trip."""
    if TOOL_NAME not in offered_tools(body, dialect):
        return None
    output = tool_output(body, dialect)
    command = None if output is not None else requested_command(body, dialect)
    if output is None and command is None:
        return None
    text = None if output is None else ANSWER_PREFIX + output.strip()
    arguments = json.dumps({"cmd": command}) if command is not None else ""
    model = str(body.get("model") or "mock-model")
    stream = body.get("stream") is True
    build = {"chat_completions": _chat, "messages": _anthropic, "responses": _responses}[dialect]
    return build(model, text, arguments, stream)


# --- the three dialects: text is the final answer, else arguments are the call's ------------


def _fragments(text: str, size: int = 12) -> list[str]:
    return responses_api.split(text, size)


def _chat(model: str, text: str | None, arguments: str, stream: bool) -> Turn:
    call = {"id": CALL_ID, "type": "function", "function": {"name": TOOL_NAME, "arguments": arguments}}
    message = {"role": "assistant", "content": text, **({} if text is not None else {"tool_calls": [call]})}
    finish = "stop" if text is not None else "tool_calls"
    usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": 60}
    base = {"id": "chatcmpl-vdm-shell", "created": CREATED, "model": model}
    if not stream:
        choice = {"index": 0, "message": message, "finish_reason": finish}
        return json.dumps({**base, "object": "chat.completion", "choices": [choice], "usage": usage}).encode()

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return sse_data({**base, "object": "chat.completion.chunk", "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    if text is not None:
        events += [chunk({"content": piece}) for piece in _fragments(text)]
    else:
        head = {
            "index": 0,
            "id": CALL_ID,
            "type": "function",
            "function": {"name": TOOL_NAME, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in _fragments(arguments)
        ]
    events.append(chunk({}, finish))
    events.append(sse_data({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
    return [*events, sse_data("[DONE]")]


def _anthropic(model: str, text: str | None, arguments: str, stream: bool) -> Turn:
    if text is not None:
        block: dict[str, Any] = {"type": "text", "text": text}
        start_block: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _fragments(text)]
    else:
        block = {
            "type": "tool_use",
            "id": ANTHROPIC_CALL_ID,
            "name": TOOL_NAME,
            "input": json.loads(arguments),
        }
        start_block = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in _fragments(arguments)]
    stop_reason = "end_turn" if text is not None else "tool_use"
    message = {
        "id": "msg_vdm_shell",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
    }
    if not stream:
        return json.dumps(message).encode()
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
    }
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start_block}),
        *(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}) for d in deltas),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [sse_event(name, payload) for name, payload in events]


def _responses(model: str, text: str | None, arguments: str, stream: bool) -> Turn:
    if text is not None:
        output = [responses_api.message_item(text)]
    else:
        output = [
            responses_api.reasoning_item(REASONING_SUMMARY, ENCRYPTED_REASONING),
            responses_api.function_call_item(TOOL_NAME, arguments, CALL_ID),
        ]
    if not stream:
        return json.dumps(responses_api.response_object(model, output, OUTPUT_TOKENS)).encode()
    return responses_api.encode(responses_api.stream_events(model, output, OUTPUT_TOKENS))
