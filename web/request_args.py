"""Query-string arguments of the API, checked with messages that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import request
from werkzeug.routing import BaseConverter, ValidationError

SQLITE_MAX_ROWID = 2**63 - 1


class BadRequest(ValueError):
    """Becomes an HTTP 400 whose message is this exception's text."""


class NotFound(LookupError):
    """Becomes an HTTP 404 whose message is this exception's text."""


def client_address() -> str:
    """The address limits are kept per (the TCP peer; a reverse proxy's own address behind one)."""
    return request.remote_addr or "unknown"


def require_known(topology, ups: str | None = None, string: str | None = None) -> None:
    """404 (NotFound) for a UPS or string id the topology does not have; None means "not asked"."""
    if ups and all(u.id != ups for u in topology.upses):
        raise NotFound(f"no UPS with id {ups!r}")
    if string and all(s.id != string for s in topology.strings):
        raise NotFound(f"no string with id {string!r}")


def timestamp(args, name: str, default: float | None = None) -> float:
    """An ISO 8601 time with its UTC offset, e.g. 2026-11-22T10:00:00+01:00, as UNIX seconds."""
    text = args.get(name)
    if text is None:
        if default is None:
            raise BadRequest(f"'{name}' is required: an ISO 8601 time with offset, e.g. 2026-11-22T10:00:00+01:00")
        return default
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"'{name}': {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise BadRequest(f"'{name}': {text!r} has no UTC offset (add Z or +01:00)")
    try:
        when.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is in the year 0 in UTC
        raise BadRequest(f"'{name}': {text!r} is outside the years 1..9999 in UTC") from None
    return when.timestamp()


def integer(args, name: str, default: int, lo: int, hi: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"'{name}': {text!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"'{name}': {value} is not within {lo}..{hi}")
    return value


def choice(args, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = args.get(name, default)
    if value is None or value not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}; got {value!r}")
    return value


class RowIdConverter(BaseConverter):
    """`<rowid:name>` in a route: the id of a stored row (an alarm, a discharge event).

    SQLite ids are 64-bit; a longer number names nothing, so its path is an unknown resource
    (404), not a number to pass to SQLite (which raises OverflowError: a 500).
    """

    regex = r"[0-9]{1,19}"  # 19 digits hold every 64-bit id; a longer run of digits never matches

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > SQLITE_MAX_ROWID:
            raise ValidationError()
        return number

    def to_url(self, value: int) -> str:
        return str(value)
