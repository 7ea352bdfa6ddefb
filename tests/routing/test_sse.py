"""The SSE decoder and the byte framer: line ends split across chunks, bytes that are not
UTF-8, linear cost on one huge event, the per-event cap, and whole events only."""

import time

import pytest

from routing.sse import EventFramer, SSEDecoder, SSEEvent, SSEEventTooLarge, split_events, valid_utf8

STREAM = b'event: a\r\ndata: {"x": 1}\r\n\r\ndata: line1\ndata: line2\n\n: comment\rdata: z\r\r'
EXPECTED = [SSEEvent("a", '{"x": 1}'), SSEEvent("message", "line1\nline2"), SSEEvent("message", "z")]


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(STREAM)])
def test_the_decoder_reads_the_same_events_however_the_bytes_are_split(size: int) -> None:
    decoder = SSEDecoder()
    events = [e for i in range(0, len(STREAM), size) for e in decoder.feed(STREAM[i : i + size])]
    assert [*events, *decoder.flush()] == EXPECTED


def test_a_byte_that_is_not_utf8_becomes_a_replacement_character_wherever_it_falls() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: a\xffb\n\ndata: \xe2\x82") + decoder.feed(b"\xac \xe2\n\n")
    assert [e.data for e in events] == ["a\ufffdb", "\u20ac \ufffd"]


def test_a_last_event_without_its_blank_line_still_counts_and_a_cut_character_is_replaced() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\xe2\x82") == []
    assert decoder.flush() == [SSEEvent("message", "x\ufffd")]


def test_one_huge_event_costs_linear_time() -> None:
    """32 MiB in 16 KiB chunks (as the upstream client reads them): the old decoder
    re-scanned its whole buffer every chunk, quadratic (seconds); this is one pass."""
    event = b"data: " + b"x" * (32 << 20) + b"\n\n"
    decoder = SSEDecoder()
    started = time.perf_counter()
    events = [e for i in range(0, len(event), 16384) for e in decoder.feed(event[i : i + 16384])]
    assert time.perf_counter() - started < 2.0
    assert len(events) == 1
    assert len(events[0].data) == 32 << 20


def test_an_event_past_the_cap_raises_before_it_is_held_whole() -> None:
    decoder = SSEDecoder(max_event_bytes=1000)
    assert decoder.feed(b"data: " + b"x" * 900 + b"\n\n")[0].data == "x" * 900
    with pytest.raises(SSEEventTooLarge, match="limit of 1000 bytes"):
        decoder.feed(b"data: " + b"y" * 600 + b"\ndata: " + b"y" * 600)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_the_framer_passes_whole_events_only_however_the_bytes_are_split(size: int) -> None:
    framer = EventFramer()
    blocks = [framer.feed(STREAM[i : i + size]) for i in range(0, len(STREAM), size)]
    out = [b for b in blocks if b]
    assert b"".join(out) == STREAM
    for block in out:  # every block ends where an event ends
        assert block.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))
    assert framer.pending == b""


def test_the_framer_keeps_a_split_event_until_its_end_and_never_lets_its_first_bytes_out() -> None:
    framer = EventFramer()
    assert framer.feed(b"data: 1\n\nda") == b"data: 1\n\n"
    assert framer.feed(b"ta: 2") == b""  # main passed "ta" on here (an rfind of -1 + 3)
    assert framer.pending == b"data: 2"
    assert framer.feed(b"\n\n") == b"data: 2\n\n"


def test_the_framer_cap_bounds_an_unfinished_event() -> None:
    framer = EventFramer(max_event_bytes=100)
    framer.feed(b"data: " + b"x" * 90)
    with pytest.raises(SSEEventTooLarge):
        framer.feed(b"x" * 20)


def test_split_events_and_valid_utf8() -> None:
    assert split_events(b"a\n\nb\r\n\r\nc\r\rd") == [b"a\n\n", b"b\r\n\r\n", b"c\r\r", b"d"]
    clean = "d\u00e9j\u00e0".encode()
    assert valid_utf8(clean) is clean
    assert valid_utf8(b"a\xffb") == "a\ufffdb".encode()
