"""OpenAI-compatible providers behind the Anthropic door, each with what it needs beyond
plain OpenAI: Azure's deployment URLs and ``api-key`` header, Gemini's thought signatures
carried across turns, DeepSeek's reasoning_content, Ollama without a key. The upstream is
the mock upstream on 127.0.0.1, scripted with each provider's own answers."""

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.mock_upstream import MockUpstream
from tests.upstreams.conftest import provider_row

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = [{"role": "user", "content": "hi"}]
BASH = {
    "name": "Bash",
    "description": "Run a command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
SIGNATURE = "CiQBcsjafH0k8Lm+/wAbCdEf0123456789signature=="


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(shared_upstream: MockUpstream) -> Iterator[MockUpstream]:
    shared_upstream.reset()
    yield shared_upstream
    shared_upstream.reset()


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4},
    }


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_of(*deltas: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
    return {
        "sse": [chunk({"role": "assistant"}), *(chunk(d) for d in deltas), chunk({}, finish), usage, "[DONE]"]
    }


def gemini_tool_call(call_id: str = "function-call-1") -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "Bash", "arguments": json.dumps({"command": "ls"})},
        "extra_content": {"google": {"thought_signature": SIGNATURE}},
    }


def with_tool_result(assistant_content: list[Any]) -> list[dict[str, Any]]:
    tool_use = next(block for block in assistant_content if block["type"] == "tool_use")
    return [
        {"role": "user", "content": "list the files"},
        {"role": "assistant", "content": assistant_content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "a.txt"}],
        },
    ]


# --- Azure ---------------------------------------------------------------------------------


async def test_azure_deployment_url_api_version_and_api_key(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await provider_row(
        "azure", base_url=upstream.origin, api_version="2024-10-21", keys=("azure-key-0123456789",)
    )
    upstream.script(
        [
            {"json": completion({"content": "Hi from Azure"})},
            stream_of({"content": "Hi "}, {"content": "again"}),
        ]
    )
    message = await client.messages.create(model="azure:gpt-4o-prod", max_tokens=20, messages=HELLO)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hi from Azure"
    async with client.messages.stream(model="azure:gpt-4o-prod", max_tokens=20, messages=HELLO) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hi again"
    for sent in upstream.requests():
        assert sent["path"] == "/openai/deployments/gpt-4o-prod/chat/completions"
        assert sent["query"] == {"api-version": "2024-10-21"}
        assert sent["headers"]["api-key"] == "azure-key-0123456789"
        assert "authorization" not in sent["headers"]


async def test_azure_v1_api_takes_model_names(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await provider_row("azure", base_url=f"{upstream.origin}/openai/v1", keys=("azure-key-0123456789",))
    upstream.script([{"json": completion({"content": "v1"})}])
    await client.messages.create(model="azure:gpt-4.1", max_tokens=20, messages=HELLO)
    [sent] = upstream.requests()
    assert sent["path"] == "/openai/v1/chat/completions"
    assert sent["query"] == {}
    assert sent["json"]["model"] == "gpt-4.1"
    assert sent["headers"]["api-key"] == "azure-key-0123456789"


# --- Gemini --------------------------------------------------------------------------------


async def _gemini(upstream: MockUpstream) -> None:
    await provider_row(
        "gemini",
        base_url=upstream.base_url,
        keys=("AIzaSyTestKey0123456789abcdefghij",),
        tool_name_sanitization=True,
    )


def _assert_signature_came_back(sent: dict[str, Any]) -> None:
    assistant = next(m for m in sent["json"]["messages"] if m["role"] == "assistant")
    tool = next(m for m in sent["json"]["messages"] if m["role"] == "tool")
    assert assistant["tool_calls"][0]["id"] == "function-call-1"
    assert assistant["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": SIGNATURE}}
    assert tool["tool_call_id"] == "function-call-1"


async def test_gemini_thought_signature_round_trip(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await _gemini(upstream)
    upstream.script(
        [
            {"json": completion({"content": None, "tool_calls": [gemini_tool_call()]}, finish="tool_calls")},
            {"json": completion({"content": "There is a.txt"})},
        ]
    )
    first = await client.messages.create(
        model="gemini:gemini-3-pro-preview", max_tokens=100, tools=[BASH], messages=HELLO
    )
    assert first.stop_reason == "tool_use"
    tool_use = first.content[0]
    assert tool_use.type == "tool_use"
    assert tool_use.input == {"command": "ls"}
    assistant_content = [block.model_dump() for block in first.content]
    second = await client.messages.create(
        model="gemini:gemini-3-pro-preview",
        max_tokens=100,
        tools=[BASH],
        messages=with_tool_result(assistant_content),
    )
    assert second.content[0].type == "text"
    _assert_signature_came_back(upstream.requests()[1])


async def test_gemini_thought_signature_round_trip_streamed(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await _gemini(upstream)
    call = {"index": 0, **gemini_tool_call()}
    upstream.script([stream_of({"tool_calls": [call]}, finish="tool_calls"), stream_of({"content": "done"})])
    async with client.messages.stream(
        model="gemini:gemini-2.5-flash", max_tokens=100, tools=[BASH], messages=HELLO
    ) as stream:
        first = await stream.get_final_message()
    assert first.content[0].type == "tool_use"
    assistant_content = [block.model_dump() for block in first.content]
    async with client.messages.stream(
        model="gemini:gemini-2.5-flash",
        max_tokens=100,
        tools=[BASH],
        messages=with_tool_result(assistant_content),
    ) as stream:
        await stream.get_final_message()
    _assert_signature_came_back(upstream.requests()[1])


# --- DeepSeek ------------------------------------------------------------------------------


async def test_deepseek_reasoning_is_thinking_and_goes_back_only_on_tool_turns(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await provider_row("deepseek", base_url=upstream.base_url, keys=("sk-deepseek-0123456789abcdef",))
    tool_call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
    }
    upstream.script(
        [
            {"json": completion({"content": "Hello", "reasoning_content": "A greeting."})},
            stream_of(
                {"reasoning_content": "Need the "},
                {"reasoning_content": "file list."},
                {"tool_calls": [{"index": 0, **tool_call}]},
                finish="tool_calls",
            ),
            {"json": completion({"content": "There is a.txt"})},
        ]
    )
    first = await client.messages.create(model="deepseek:deepseek-reasoner", max_tokens=100, messages=HELLO)
    assert [block.type for block in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == "A greeting."
    history: list[dict[str, Any]] = [
        *HELLO,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
    ]
    history.append({"role": "user", "content": "list the files"})
    async with client.messages.stream(
        model="deepseek:deepseek-reasoner", max_tokens=100, tools=[BASH], messages=history
    ) as stream:
        second = await stream.get_final_message()
    assert [block.type for block in second.content] == ["thinking", "tool_use"]
    assert second.content[0].thinking == "Need the file list."
    history.append({"role": "assistant", "content": [b.model_dump() for b in second.content]})
    history.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_0", "content": "a.txt"}]}
    )
    await client.messages.create(
        model="deepseek:deepseek-reasoner", max_tokens=100, tools=[BASH], messages=history
    )
    sent = upstream.requests()
    assert not any("reasoning_content" in m for m in sent[1]["json"]["messages"])  # plain turn: never
    assistants = [m for m in sent[2]["json"]["messages"] if m["role"] == "assistant"]
    assert "reasoning_content" not in assistants[0]
    assert assistants[1]["reasoning_content"] == "Need the file list."


# --- Ollama --------------------------------------------------------------------------------


async def test_ollama_serves_without_a_key(upstream: MockUpstream, client: anthropic.AsyncAnthropic) -> None:
    await provider_row("ollama", base_url=upstream.base_url, requires_key=False)
    upstream.script([{"json": completion({"content": "local", "reasoning": "thinking locally"})}])
    message = await client.messages.create(model="ollama:llama3.2:3b", max_tokens=20, messages=HELLO)
    assert [block.type for block in message.content] == ["thinking", "text"]
    [sent] = upstream.requests()
    assert sent["json"]["model"] == "llama3.2:3b"
    assert "authorization" not in sent["headers"]
