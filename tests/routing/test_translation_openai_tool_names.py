"""Tool-name sanitization inside OpenAI bodies: every place a name appears, and nothing else."""

import copy
from typing import Any

from routing.translation.openai_tool_names import (
    declared_tool_names,
    openai_tool_name_map,
    restore_chunk,
    restore_response,
    sanitized_request,
)


def _call(name: str) -> dict[str, Any]:
    return {"id": "c", "type": "function", "function": {"name": name, "arguments": "{}"}}


BODY: dict[str, Any] = {
    "model": "m",
    "tools": [
        {"type": "function", "function": {"name": "mcp.fs.read", "parameters": {}}},
        {"type": "function", "function": {"name": "Bash"}},
        {"type": "custom", "custom": {"name": "free.form"}},
        "junk",
    ],
    "tool_choice": {"type": "function", "function": {"name": "mcp.fs.read"}},
    "messages": [
        {"role": "user", "content": "mcp.fs.read is a name in text, left alone"},
        {"role": "assistant", "tool_calls": [_call("mcp.fs.read"), _call("old.tool"), "junk"]},
    ],
    "extra": {"function": {"name": "mcp.fs.read"}},
}


def test_declared_names_are_the_function_tools() -> None:
    assert declared_tool_names(BODY) == ["mcp.fs.read", "Bash"]
    assert declared_tool_names({"tools": "nope"}) == []


def test_request_names_are_rewritten_everywhere_they_name_a_tool() -> None:
    original = copy.deepcopy(BODY)
    names = openai_tool_name_map(BODY, sanitize=True)
    out, changed = sanitized_request(BODY, names)
    assert changed
    assert original == BODY  # the client's body is not touched
    assert out["tools"][0]["function"]["name"] == "mcp_fs_read"
    assert out["tools"][1]["function"]["name"] == "Bash"
    assert out["tools"][2] == BODY["tools"][2]
    assert out["tool_choice"]["function"]["name"] == "mcp_fs_read"
    calls = out["messages"][1]["tool_calls"]
    assert calls[0]["function"]["name"] == "mcp_fs_read"
    assert calls[1]["function"]["name"].startswith("old_tool_")  # undeclared: cleaned with a hash suffix
    assert out["messages"][0] == BODY["messages"][0]
    assert out["extra"] == BODY["extra"]


def test_valid_names_change_nothing() -> None:
    body = {"tools": [{"type": "function", "function": {"name": "Bash"}}], "messages": []}
    out, changed = sanitized_request(body, openai_tool_name_map(body, sanitize=True))
    assert not changed
    assert out == body


def test_answers_get_the_client_names_back() -> None:
    names = openai_tool_name_map(BODY, sanitize=True)
    completion: dict[str, Any] = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "tool_calls": [_call("mcp_fs_read"), _call("Other")]},
            }
        ]
    }
    restore_response(completion, names)
    assert [c["function"]["name"] for c in completion["choices"][0]["message"]["tool_calls"]] == [
        "mcp.fs.read",
        "Other",
    ]
    chunk: dict[str, Any] = {
        "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "mcp_fs_read"}}]}}
        ]
    }
    restore_chunk(chunk, names)
    assert chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "mcp.fs.read"
    junks: list[Any] = [None, [], {"choices": "x"}, {"choices": [{"delta": None}]}]
    for junk in junks:
        restore_chunk(junk, names)
        restore_response(junk, names)
