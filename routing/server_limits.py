"""daphne's HTTP limits brought in line with uvicorn's, so the application answers.

Twisted (under daphne) reads at most 16 KiB of request line and headers: one longer
header line made it close the connection without a word, and a longer total got a bare
400. uvicorn (httptools) passes any size to the application, which answers 431 past
``routing.asgi.MAX_HEADER_BYTES`` (32 KiB). Here Twisted reads up to
``SERVER_HEADER_BYTES``, so the application sees and answers the same requests under
both servers; past that, Twisted answers 431 itself (a line) or 400 (the total).
"""

from typing import Any

SERVER_HEADER_BYTES = 256 * 1024
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def _line_too_long(channel: Any, line: bytes) -> None:
    channel.transport.write(_TOO_LARGE)
    channel.loseConnection()


def raise_twisted_header_limits() -> None:
    """Call before daphne starts listening."""
    from twisted.web import http

    http.RESPONSES.setdefault(431, b"Request Header Fields Too Large")  # Twisted has no phrase for it
    http.HTTPChannel.MAX_LENGTH = SERVER_HEADER_BYTES
    http.HTTPChannel.totalHeadersSize = SERVER_HEADER_BYTES
    http.HTTPChannel.lineLengthExceeded = _line_too_long  # type: ignore[method-assign]
