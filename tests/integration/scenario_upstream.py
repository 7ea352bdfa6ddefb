"""An OpenAI-format upstream on 127.0.0.1 that plays a Bash tool round trip.

It answers by content, so it also serves whatever background calls a client such as
Claude Code makes (and fails on purpose for the keys a test names, to exercise key
rotation, cooldowns, retries and fallbacks): a user turn containing ``RUN:<command>`` with a ``Bash`` tool offered
gets a tool call running that command; a turn that ends with a tool result gets a text
answer quoting the tool output; anything else gets a plain greeting. Streams when asked.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GREETING = "Hello from the scenario upstream"


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def scenario_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for this request: a tool call or text."""
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return {"role": "assistant", "content": f"The tool printed: {messages[-1].get('content', '')}"}
    tools = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    text = _last_user_text(messages)
    if "Bash" in tools and "RUN:" in text:
        command = text.split("RUN:", 1)[1].strip().splitlines()[0]
        arguments = json.dumps({"command": command, "description": "Run the requested command"})
        call = {
            "id": "call_scenario_1",
            "type": "function",
            "function": {"name": "Bash", "arguments": arguments},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": GREETING}


def _stream_chunks(message: dict[str, Any], model: str) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-scenario", "object": "chat.completion.chunk", "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        head = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": "Bash", "arguments": ""},
        }
        chunks.append(
            {**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]}
        )
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 12):
            piece = {"index": 0, "function": {"arguments": arguments[start : start + 12]}}
            chunks.append(
                {**base, "choices": [{"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}]}
            )
        finish = "tool_calls"
    else:
        for word in message["content"].split(" "):
            chunks.append(
                {**base, "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
            )
        finish = "stop"
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 10}})
    return chunks


class _Handler(BaseHTTPRequestHandler):
    server: "ScenarioUpstream"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._json({"object": "list", "data": [{"id": "scenario-model", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        key = self.headers.get("authorization", "").removeprefix("Bearer ")
        self.server.requests.append(body)
        self.server.calls.append((key, body))
        self.server.headers.append(dict(self.headers.items()))
        failure = self.server.failure_for(key)
        if failure is not None:
            self._json(
                {"error": {"message": f"scripted failure {failure}", "type": "scripted"}}, status=failure
            )
            return
        message = scenario_reply(body)
        model = body.get("model", "scenario-model")
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            for chunk in _stream_chunks(message, model):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True
            return
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        self._json(
            {
                "id": "chatcmpl-scenario",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 10},
            }
        )

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("retry-after", "30")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ScenarioUpstream(ThreadingHTTPServer):
    """``with ScenarioUpstream() as upstream: upstream.base_url`` (…/v1)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (bearer key, body)
        self.headers: list[dict[str, str]] = []  # every request's headers, in order
        self.always_fail: dict[str, int] = {}  # key -> status on every call
        self.fail_once: dict[str, list[int]] = {}  # key -> statuses for its next calls
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def failure_for(self, key: str) -> int | None:
        with self._lock:
            if key in self.always_fail:
                return self.always_fail[key]
            pending = self.fail_once.get(key)
            return pending.pop(0) if pending else None

    def keys_used(self) -> list[str]:
        return [key for key, _ in self.calls]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> "ScenarioUpstream":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
