"""Mocks of AWS Bedrock Runtime and Google Vertex AI (with its OAuth token endpoint) on
127.0.0.1, speaking their real wire formats: Bedrock's JSON and AWS event-stream frames
(CRC-checked binary framing, encoded here and decoded by botocore in the gateway), Vertex's
rawPredict JSON and streamRawPredict SSE, and the OAuth 2.0 JWT-bearer grant.

Every request is recorded as received (method, raw path, headers, body). Replies come from a
queue (``queue(...)``) or a default per endpoint. Served from a thread, like
``tests.mock_upstream``, so an in-process gateway can await it.
"""

import base64
import binascii
import json
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

EVENT_STREAM = "application/vnd.amazon.eventstream"
REPLY_TEXT = "Hello from the cloud mock"
STREAM_PIECES = ("Hel", "lo ", "from ", "the ", "cloud")


# --- AWS event-stream framing -------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    )


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (lengths + CRC), string headers, payload, message CRC."""
    encoded_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded_headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def chunk_frame(event: dict[str, Any]) -> bytes:
    """A Bedrock ``chunk`` event carrying one Anthropic stream event."""
    inner = base64.b64encode(json.dumps(event).encode()).decode()
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return event_frame(headers, json.dumps({"bytes": inner, "p": "abcd"}).encode())


def exception_frame(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return event_frame(headers, json.dumps({"message": message}).encode())


def anthropic_events(model: str, pieces: tuple[str, ...] = STREAM_PIECES) -> list[dict[str, Any]]:
    """Anthropic stream events for a text answer, as Claude sends them."""
    message: dict[str, Any] = {
        "id": "msg_cloud_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        for piece in pieces
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 11}},
    ]
    return events


def anthropic_message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_cloud_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": REPLY_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 5},
    }


def sse_events(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


# --- OAuth: service-account keys and the JWT-bearer grant --------------------------------


def service_account_key(
    token_uri: str, *, email: str = "gateway@demo-project.iam.gserviceaccount.com"
) -> tuple[dict[str, Any], bytes]:
    """A fresh service-account JSON key (as Google issues them) and its public key (PEM)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    return info, public


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_claims(assertion: str, public_keys: dict[str, bytes]) -> dict[str, Any] | None:
    """The claims of an RS256 JWT signed by one of ``public_keys`` (by ``iss``), else None."""
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        claims = json.loads(_b64url(claims_b64))
        public = serialization.load_pem_public_key(public_keys[claims["iss"]])
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(
            _b64url(signature_b64),
            f"{header_b64}.{claims_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (ValueError, KeyError, InvalidSignature):
        return None
    return claims if isinstance(claims, dict) else None


# --- the server ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    chunks: list[bytes] | None = None  # a chunked body, one HTTP chunk per item


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CloudState:
    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    token_requests: int = 0
    token_expires_in: int = 3600
    token_status: int = 200
    public_keys: dict[str, bytes] = field(default_factory=dict)  # client_email → PEM
    lock: threading.Lock = field(default_factory=threading.Lock)


def _model_of(path: str) -> str:
    if path.startswith("/model/"):
        return path.split("/")[2]
    return path.rsplit("/", 1)[-1].split(":")[0]


def _default_reply(state: CloudState, path: str) -> Reply:
    model = _model_of(path)
    if path.endswith("/invoke"):
        return Reply(body=json.dumps(anthropic_message(model)).encode())
    if path.endswith("/invoke-with-response-stream"):
        return Reply(content_type=EVENT_STREAM, chunks=[chunk_frame(e) for e in anthropic_events(model)])
    if path.endswith("/count-tokens"):
        return Reply(body=b'{"inputTokens": 17}')
    if path.endswith("count-tokens:rawPredict"):
        return Reply(body=b'{"input_tokens": 19}')
    if path.endswith(":rawPredict"):
        return Reply(body=json.dumps(anthropic_message(model)).encode())
    if path.endswith(":streamRawPredict"):
        events = anthropic_events(model)
        return Reply(content_type="text/event-stream", chunks=[sse_events([e]) for e in events])
    return Reply(404, body=json.dumps({"message": f"no route {path}"}).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        state = self.server.state
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.path == "/token":
            self._send(self._token_reply(state, body))
            return
        with state.lock:
            state.requests.append(Recorded("POST", self.path, headers, body))
            reply = state.replies.pop(0) if state.replies else _default_reply(state, self.path)
        self._send(reply)

    def _token_reply(self, state: CloudState, body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with state.lock:
            state.token_requests += 1
            number = state.token_requests
        if state.token_status != 200:
            error = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return Reply(state.token_status, body=json.dumps(error).encode())
        claims = verified_claims(form.get("assertion", ""), state.public_keys)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or claims is None:
            return Reply(400, body=b'{"error": "invalid_request"}')
        token = {
            "access_token": f"ya29.token-{number}",
            "expires_in": state.token_expires_in,
            "token_type": "Bearer",
        }
        return Reply(body=json.dumps(token).encode())

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        if reply.chunks is None:
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for piece in reply.chunks:
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: CloudState


class CloudMock:
    """``with CloudMock() as cloud:`` — ``cloud.origin`` is the base URL for both clouds."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state = CloudState()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> "CloudMock":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)

    def queue(self, *replies: Reply) -> None:
        with self.state.lock:
            self.state.replies.extend(replies)

    def iter_paths(self) -> Iterator[str]:
        return (request.path for request in self.state.requests)
