"""Log formats: readable text by default, one JSON object per line with ``LOG_FORMAT=json``.

Both carry the id of the data-plane request a record was logged under (``request_id``),
so every line a request caused can be found from the ``x-request-id`` a client saw.
"""

import json
import logging
from datetime import UTC, datetime

from django.conf import settings

from routing.request_context import current_request
from vandamme.secrets import redact_keys


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (empty outside a data-plane request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        record.request_id = request.request_id if request is not None else ""
        return True


class DataPlaneErrorResponseFilter(logging.Filter):
    """Drops ``django.request``'s "Bad Gateway: /v1/messages" lines for data-plane error
    responses: the access line already records them, with the reason. Records that carry
    a traceback (a real crash) always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            return True
        return current_request.get() is None


class ServerAccessLineFilter(logging.Filter):
    """Redacts key-shaped text in the arguments of the HTTP servers' own access lines
    (uvicorn's ``uvicorn.access``, daphne's ``runserver`` line): they log the path with
    its query string, and ``/v1/vandamme/resolve?model=…`` may carry a key pasted as a
    model name. The gateway's own access line logs the path alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = (settings.PROXY_API_KEY,)  # not key-shaped, perhaps: found by value
        if isinstance(record.args, dict):  # daphne: one mapping of named fields
            record.args = {name: _redacted(value, known) for name, value in record.args.items()}
        elif isinstance(record.args, tuple):  # uvicorn: positional
            record.args = tuple(_redacted(value, known) for value in record.args)
        record.msg = _redacted(record.msg, known)
        return True


def _redacted(value: object, known: tuple[str, ...]) -> object:
    return redact_keys(value, known) if isinstance(value, str) else value


class TextFormatter(logging.Formatter):
    """``time level logger message``, and ``[request id]`` when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", "")
        if request_id and record.name != "vandamme.access":  # the access line names it itself
            text += f" [{request_id}]"
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, the record's
    structured ``fields`` (the access line has them) and the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
