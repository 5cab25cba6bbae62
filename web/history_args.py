"""The arguments of the history series, shared by the JSON routes and their CSV downloads.

One parser for both, so a download given the plot's query string answers exactly the buckets
the plot was drawn from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from web.iso_time import iso
from web.request_args import BadRequest, choice, integer, timestamp

DAY_S = 86_400.0
MAX_IDS = 120  # a download of every cell of the longest string
MAX_POINTS = 5000


@dataclass(frozen=True)
class SeriesAsk:
    """One quantity of one or more cells, strings or UPSes over [start, end), at most `points` buckets."""

    level: str
    ids: tuple[str, ...]
    quantity: str
    start: float
    end: float
    points: int


def series_ask(args, many: bool = False) -> SeriesAsk:
    """The series the query string asks for; `many`: `id` may be repeated (a download of a plot)."""
    level = choice(args, "level", ("cell", "string", "ups"))
    ids = tuple(args.getlist("id")) if many else tuple(i for i in [args.get("id")] if i)
    if not ids or not all(ids):
        raise BadRequest("'id' is required: a UPS id, a string id, or STRING/CELL for a cell (e.g. A1/3)")
    if len(ids) > MAX_IDS:
        raise BadRequest(f"'id': at most {MAX_IDS} at once, got {len(ids)}")
    if len(set(ids)) != len(ids):
        raise BadRequest("'id': each one at most once")
    quantity = args.get("quantity")
    if not quantity:
        raise BadRequest("'quantity' is required, e.g. voltage, current, soc, resistance, temperature")
    end = timestamp(args, "to", time.time())
    start = timestamp(args, "from", end - DAY_S)
    if start >= end:
        raise BadRequest("'from' must be before 'to'")
    points = integer(args, "points", 500, 1, MAX_POINTS)
    return SeriesAsk(level, ids, quantity, start, end, points)


def series_answer(ask: SeriesAsk, rows, **about) -> dict:
    """The JSON of one series: what was asked (`about` first, e.g. the gateway) and its buckets."""
    return {
        **about,
        "level": ask.level,
        "id": ask.ids[0],
        "quantity": ask.quantity,
        "from": iso(ask.start),
        "to": iso(ask.end),
        "columns": ["time", "min", "avg", "max"],
        "points": [[iso(t), lo, avg, hi] for t, lo, avg, hi in rows],
    }


def cells(args, name: str = "cell", most: int = 120) -> tuple[int, ...]:
    """Repeated `cell=N` arguments (1..most), in the order given; () when there is none."""
    texts = args.getlist(name)
    found = []
    for text in texts:
        try:
            n = int(text)
        except ValueError:
            raise BadRequest(f"'{name}': {text!r} is not a whole number") from None
        if not 1 <= n <= most:
            raise BadRequest(f"'{name}': {n} is not within 1..{most}")
        if n in found:
            raise BadRequest(f"'{name}': {n} is given twice")
        found.append(n)
    return tuple(found)


def time_zone(args, default: ZoneInfo) -> ZoneInfo:
    """`tz`: an IANA time zone name for the times of a download; the site's zone without one."""
    name = args.get("tz")
    if name is None:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"'tz': {name[:60]!r} is not an IANA time zone such as Europe/Ljubljana") from None
