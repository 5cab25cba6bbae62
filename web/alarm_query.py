"""The alarm table's filters from a query string, for the API and the Alarm tab alike.

`ups`, `string`: the level; `kind`: one alarm kind (its stored id); `from`, `to`: a time range
(the alarms active at some moment in it, storage/alarm_filter.py). The API takes ISO 8601 times
with their offset; the Alarm tab's form sends the browser's local date and time without one,
which is read in the site's time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from battery.alarms.kinds import AlarmKind
from battery.site import Topology
from web.request_args import BadRequest, require_known, timestamp

KINDS = tuple(k.value for k in AlarmKind)


def alarm_criteria(args, topology: Topology, zone: ZoneInfo | None = None) -> dict:
    """AlarmFilter's fields; BadRequest (400) or NotFound (404) saying which argument is wrong."""
    ups, string = args.get("ups") or None, args.get("string") or None
    require_known(topology, ups, string)
    kind = args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"'kind': {kind[:60]!r} is not an alarm kind (one of {', '.join(KINDS)})")
    since, until = _time(args, "from", zone), _time(args, "to", zone)
    if since is not None and until is not None and since > until:
        raise BadRequest("'from' must not be after 'to'")
    return {"ups_id": ups, "string_id": string, "kind": kind, "since": since, "until": until}


def _time(args, name: str, zone: ZoneInfo | None) -> float | None:
    text = args.get(name) or None
    if text is None:
        return None
    if zone is not None:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(f"'{name}': {text[:60]!r} is not a date and time such as 2026-11-22T10:00") from None
        if when.tzinfo is None:
            return when.replace(tzinfo=zone).timestamp()
    return timestamp(args, name)


def level_labels(topology: Topology) -> dict[str, str]:
    """UPS and string ids as the manual's tables print them: "#01" (their Modbus index)."""
    return {u.id: f"#{u.index:02d}" for u in topology.upses} | {s.id: f"#{s.index:02d}" for s in topology.strings}
