"""Responses request bodies shaped like what Codex CLI sends (see PROTOCOLS.md)."""

from typing import Any

from routing.translation.responses_reasoning import encode_reasoning

EXEC_COMMAND = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command in a PTY, returning output or a session ID for ongoing interaction.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "cmd": {"type": "string", "description": "Shell command to execute."},
            "workdir": {"type": "string"},
            "yield_time_ms": {"type": "number"},
            "max_output_tokens": {"type": "number"},
            "justification": {"type": "string"},
        },
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
WRITE_STDIN = {
    "type": "function",
    "name": "write_stdin",
    "description": "Writes characters to an existing exec session.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"session_id": {"type": "number"}, "chars": {"type": "string"}},
        "required": ["session_id"],
    },
}
MULTI_AGENT = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Tools to run sub-agents.",
    "tools": [
        {
            "type": "function",
            "name": "spawn_agent",
            "description": "Start a sub-agent.",
            "strict": False,
            "parameters": {"type": "object", "properties": {"message": {"type": "string"}}},
        },
        {
            "type": "function",
            "name": "wait",
            "description": "Wait for agents.",
            "parameters": {"type": "object", "properties": {"ids": {"type": "array"}}},
        },
    ],
}
WEB_SEARCH = {"type": "web_search", "external_web_access": False}

THINKING = {
    "type": "thinking",
    "thinking": 'I should list the directory with a shell — "ls" 🙂.',
    "signature": "EqQBCkYIBxgCKkB+sig/with+slashes==",
}


def developer(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def reasoning(state: dict[str, Any] | None, summary: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": summary}] if summary else [],
    }
    if state is not None:
        item["encrypted_content"] = encode_reasoning(state)
    return item


def call(call_id: str, name: str, arguments: str, namespace: str | None = None) -> dict[str, Any]:
    item = {
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "id": f"fc_{call_id}",
    }
    if namespace is not None:
        item["namespace"] = namespace
    return item


def output(call_id: str, value: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": value}


def codex_body(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "deepseek-chat",
        "stream": True,
        "input": [
            developer("You are Codex, a coding agent."),
            developer("<permissions instructions>sandbox: workspace-write</permissions instructions>"),
            user("<environment_context><cwd>/tmp/x</cwd></environment_context>"),
            user("list the files"),
            *items,
        ],
        "tools": [EXEC_COMMAND, WRITE_STDIN, MULTI_AGENT, WEB_SEARCH],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a-session",
        "client_metadata": {"originator": "codex_exec"},
    }
