"""One usage event as the request path builds it, made safe to write on the way in.

Values come from upstream answers and client bodies, so anything is possible: a usage of
``2**64`` tokens, a negative count, a float, a string, a lone surrogate or a NUL in a
model name. Each would make the batch insert fail (``OverflowError``, a CHECK or range
violation, an encoding error) and, before this, jam the writer. ``UsageEvent`` clamps
integers into the range every backend's column accepts (the narrowest: Django's generic
ranges), turns non-integers into 0, and truncates text to the column's ``max_length``.
The check is a few type tests per field; only a bad value costs more.
"""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import CharField, IntegerField
from django.utils import timezone

from teams.models import UsageRecord

ID_RANGE = (1, 2**63 - 1)


def _column_limits() -> tuple[tuple[tuple[str, int, int], ...], tuple[tuple[str, int], ...]]:
    """(name, low, high) of the integer columns and (name, max_length) of the text ones."""
    ranges = BaseDatabaseOperations.integer_field_ranges
    integers, texts = [], []
    for column in UsageRecord._meta.concrete_fields:
        if isinstance(column, IntegerField) and not column.is_relation and not column.primary_key:
            low, high = ranges[column.get_internal_type()]
            integers.append((column.attname, low, high))
        elif isinstance(column, CharField) and column.max_length:
            texts.append((column.attname, column.max_length))
    return tuple(integers), tuple(texts)


INTEGER_COLUMNS, TEXT_COLUMNS = _column_limits()
NULLABLE = frozenset({"ttft_ms", "key_id"})
_HIGH = {name: high for name, _, high in INTEGER_COLUMNS}
_LONGEST = dict(TEXT_COLUMNS)


def clamp_int(value: object, low: int, high: int) -> int:
    """An integer within ``[low, high]``; anything but an int (a bool, a float, a string) is 0."""
    return min(max(value if type(value) is int else 0, low), high)


def clean_text(value: object, longest: int) -> str:
    """A string every backend stores: lone surrogates replaced, NULs removed, truncated."""
    if type(value) is not str:
        return ""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:longest]


def _clean_id(value: object) -> int | None:
    low, high = ID_RANGE
    return value if type(value) is int and low <= value <= high else None


@dataclass(slots=True)
class UsageEvent:
    provider: str
    model_requested: str
    model_served: str
    status: int
    latency_ms: int
    streamed: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens read from the cache (not in input_tokens)
    cache_write_tokens: int = 0  # input tokens written to the cache (not in input_tokens)
    reasoning_tokens: int = 0  # of output_tokens, reasoning
    cost_usd: Decimal | None = None  # None: unpriced, or nothing to charge
    unpriced: bool = False  # the served model has no known price
    price_version: str = ""
    ttft_ms: int | None = None  # streams: time to the first chunk sent to the client
    error: str = ""  # an error answer's message (free of secrets)
    team_id: int | None = None
    team_name: str = ""
    key_prefix: str = ""
    key_id: int | None = None
    created_at: datetime = field(default_factory=timezone.now)

    def __post_init__(self) -> None:
        if not (self._numbers_fit() and self._texts_fit()):
            self._clean_columns()
        if self.team_id is not None or self.key_id is not None:
            self.team_id, self.key_id = _clean_id(self.team_id), _clean_id(self.key_id)
        if self.streamed is not True and self.streamed is not False:
            self.streamed = False
        if not isinstance(self.created_at, datetime):
            self.created_at = timezone.now()

    # The common case (every value fine) is a few comparisons per field, written out: this
    # runs once per request on the event loop. Only a bad value takes _clean_columns.
    def _numbers_fit(self) -> bool:
        tokens = (
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
        )
        ttft = self.ttft_ms
        return (
            type(tokens[0]) is int
            and type(tokens[1]) is int
            and type(tokens[2]) is int
            and type(tokens[3]) is int
            and type(tokens[4]) is int
            and min(tokens) >= 0
            and max(tokens) <= _HIGH["input_tokens"]
            and type(self.status) is int
            and 0 <= self.status <= _HIGH["status"]
            and type(self.latency_ms) is int
            and 0 <= self.latency_ms <= _HIGH["latency_ms"]
            and (ttft is None or (type(ttft) is int and 0 <= ttft <= _HIGH["ttft_ms"]))
        )

    def _texts_fit(self) -> bool:
        try:
            text = self.provider + self.model_requested + self.model_served + self.error
            text += self.team_name + self.key_prefix
        except TypeError:
            return False
        return (
            text.isascii()
            and "\x00" not in text
            and len(self.provider) <= _LONGEST["provider"]
            and len(self.model_requested) <= _LONGEST["model_requested"]
            and len(self.model_served) <= _LONGEST["model_served"]
            and len(self.error) <= _LONGEST["error"]
            and len(self.team_name) <= _LONGEST["team_name"]
            and len(self.key_prefix) <= _LONGEST["key_prefix"]
        )

    def _clean_columns(self) -> None:
        for name, low, high in INTEGER_COLUMNS:
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                nullable = value is None and name in NULLABLE
                setattr(self, name, None if nullable else clamp_int(value, low, high))
        for name, longest in TEXT_COLUMNS:
            setattr(self, name, clean_text(getattr(self, name), longest))

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (the spool file and the dead-letter table keep events so)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["cost_usd"] = None if self.cost_usd is None else str(self.cost_usd)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "UsageEvent":
        """The event back from ``as_json``; unknown keys are ignored, bad values cleaned."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["created_at"] = _parse_time(known.get("created_at"))
        known["cost_usd"] = _parse_cost(known.get("cost_usd"))
        return cls(**known)


def _parse_time(value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return timezone.now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_cost(value: object) -> Decimal | None:
    try:
        cost = Decimal(value) if isinstance(value, str | int) else None
    except InvalidOperation:
        return None
    return cost if cost is not None and cost.is_finite() and cost >= 0 else None
