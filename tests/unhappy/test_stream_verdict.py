"""The checker of ``test_many_faulty_streams`` judges the wire strictly: the faults it must
catch (seen on the old main) are garbage, a clean end of either kind is OK."""

import json

import pytest

from tests.unhappy.stream_verdict import (
    ANTHROPIC_DOOR,
    EMPTY_SUCCESS,
    GARBAGE,
    OK,
    OPENAI_DOOR,
    WRONG,
    Answer,
    verdict,
)


def _data(payload: object) -> bytes:
    return b"data: " + (payload if isinstance(payload, bytes) else json.dumps(payload).encode()) + b"\n\n"


def _event(name: str, payload: object) -> bytes:
    return f"event: {name}\n".encode() + _data(payload)


def _chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    return _data({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


OPENAI_ERROR = _data({"error": {"message": "upstream stream failed", "type": "server_error"}})
OPENAI_OK = _chunk({"content": "Hi"}) + _chunk({}, "stop") + _data(b"[DONE]")
ANTHROPIC_DELTA = _event(
    "content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}
)
ANTHROPIC_ERROR = _event("error", {"type": "error", "error": {"type": "api_error", "message": "cut"}})
ANTHROPIC_OK = ANTHROPIC_DELTA + _event("message_stop", {"type": "message_stop"})


@pytest.mark.parametrize(
    ("path", "answer", "expected", "judged"),
    [
        (OPENAI_DOOR, Answer(200, OPENAI_OK), "Hi", OK),
        (OPENAI_DOOR, Answer(200, _chunk({"content": "Hi"}) + OPENAI_ERROR), None, OK),
        (OPENAI_DOOR, Answer(502, json.dumps({"error": {"message": "bad gateway"}}).encode()), None, OK),
        (ANTHROPIC_DOOR, Answer(200, ANTHROPIC_OK), "Hi", OK),
        (ANTHROPIC_DOOR, Answer(200, ANTHROPIC_DELTA + ANTHROPIC_ERROR), None, OK),
        # an error spliced into a partial event (the old main's "dadata: {"error"…")
        (OPENAI_DOOR, Answer(200, b'data: {"choi' + OPENAI_ERROR), None, GARBAGE),
        # a body that stops mid-event (a short body relayed as is)
        (OPENAI_DOOR, Answer(200, _chunk({"content": "Hi"}) + b'data: {"choi'), None, GARBAGE),
        (OPENAI_DOOR, Answer(200, OPENAI_ERROR + _data(b"[DONE]")), None, GARBAGE),
        (OPENAI_DOOR, Answer(200, OPENAI_ERROR + OPENAI_ERROR), None, GARBAGE),
        (ANTHROPIC_DOOR, Answer(200, ANTHROPIC_DELTA), None, GARBAGE),
        (ANTHROPIC_DOOR, Answer(200, ANTHROPIC_ERROR + ANTHROPIC_DELTA), None, GARBAGE),
        # an OpenAI error body on the Anthropic door is the wrong dialect
        (ANTHROPIC_DOOR, Answer(502, json.dumps({"error": {"message": "x"}}).encode()), None, GARBAGE),
        (ANTHROPIC_DOOR, Answer(200, b"event: message_stop\ndata: \xff\n\n"), None, GARBAGE),
        (OPENAI_DOOR, Answer(200, OPENAI_OK), None, EMPTY_SUCCESS),
        (OPENAI_DOOR, Answer(200, _chunk({}, "stop") + _data(b"[DONE]")), "Hi", EMPTY_SUCCESS),
        (ANTHROPIC_DOOR, Answer(200, ANTHROPIC_DELTA + ANTHROPIC_ERROR), "Hi", WRONG),
    ],
)
def test_verdict(path: str, answer: Answer, expected: str | None, judged: str) -> None:
    assert verdict(path, answer, expected)[0] == judged
