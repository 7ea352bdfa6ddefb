"""Connection-level bad input against the real servers (``manage.py serve``, daphne and
uvicorn): huge headers get a 431, a NUL in the model a 400, a chunked body past the
limit a 413; each an answer in the door's dialect, never a closed connection."""

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from routing.asgi import MAX_HEADER_BYTES
from routing.server_limits import SERVER_HEADER_BYTES
from tests.integration.gateway import GatewayProcess
from tests.unhappy.fuzz import is_dialect_error

BODY = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    directory: Path = tmp_path_factory.mktemp(request.param)
    env = {
        "OPENAI_API_KEY": "sk-limits-test",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "VANDAMME_MAX_REQUEST_BYTES": "100000",
    }
    with GatewayProcess(directory, env, server=request.param) as process:
        yield process


def exchange(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send ``raw``; the status and body of the answer (0 when closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        # The server may answer and close before it has read everything.
        with contextlib.suppress(OSError):
            sock.sendall(raw)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    if not data.startswith(b"HTTP/1.1 "):
        return 0, data
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return int(head[9:12]), body


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + rest[:size], rest[size + 2 :]
    return out


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1".encode(), b"host: gateway", b"connection: close", *headers]
    return b"\r\n".join([*head, f"content-length: {len(body)}".encode()]) + b"\r\n\r\n" + body


@pytest.mark.parametrize("size", [60_000, 200_000])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_large_headers_get_a_431_in_the_door_dialect(gateway: GatewayProcess, size: int, path: str) -> None:
    assert MAX_HEADER_BYTES < size < SERVER_HEADER_BYTES
    status, body = exchange(gateway.port, post(path, BODY, b"x-large: " + b"a" * size))
    assert status == 431
    dialect = "openai" if "chat" in path else "anthropic"
    assert is_dialect_error(dialect, json.loads(body)), body


def test_headers_past_what_the_server_reads_still_get_a_431(gateway: GatewayProcess) -> None:
    status, _ = exchange(
        gateway.port, post("/v1/chat/completions", BODY, b"x-large: " + b"a" * (SERVER_HEADER_BYTES + 10))
    )
    assert status == 431


def test_nul_in_the_model_is_a_400_not_a_dropped_connection(gateway: GatewayProcess) -> None:
    status, body = exchange(
        gateway.port, post("/v1/chat/completions", BODY.replace(b"gpt-4o", b"gpt-4o\\u0000"))
    )
    assert status == 400
    assert json.loads(body)["error"]["param"] == "model"


def test_a_chunked_body_past_the_limit_is_a_413_before_it_is_all_read(gateway: GatewayProcess) -> None:
    chunk = b"a" * 50_000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\ntransfer-encoding: chunked\r\n"
    )
    status, body = exchange(gateway.port, head + b"anthropic-version: 2023-06-01\r\n\r\n" + chunks)
    assert status == 413
    assert is_dialect_error("anthropic", json.loads(body)), body


def test_a_declared_length_past_the_limit_is_a_413(gateway: GatewayProcess) -> None:
    raw = post("/v1/chat/completions", b"x" * 150_000)
    status, body = exchange(gateway.port, raw)
    assert status == 413
    assert is_dialect_error("openai", json.loads(body)), body
