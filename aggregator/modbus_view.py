"""Renders the site the aggregator knows (EdgeNodeView per gateway) into the registers of its
Modbus view (aggregator/modbus_registers.py). Pure: the clock and the alarm counts are given.

Rules, as in the gateway's map: a value that is not current (the gateway is off-line, the
device stale or unknown) reads its type's "not available" value and its status reads 2; a
block with no device behind it reads status 0 and "not available" values.
Order: a gateway's UPSes by id, its strings by UPS then id, numbers in ids compared as numbers
(S2 before S10); more than 32 of either are left out of the view.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from aggregator.messages import EdgeNodeView
from aggregator.modbus_registers import (
    BY_NAME,
    GATEWAY_UNIT_SPAN,
    MAP_VERSION,
    MAX_GATEWAYS,
    MAX_STRINGS,
    MAX_UPSES,
    SITE_UNIT_SPAN,
    base_address,
    encode_text,
)
from battery.codes import ChargeState, Health
from protocols.scada import modbus_map as mm
from protocols.uplink.naming import STRING_HEALTH_METRIC, STRING_SEPARATOR, STRING_STATE_METRIC, UPS_HEALTH_METRIC


def natural_key(text: str) -> tuple:
    """`S10` after `S2`: digits compare as numbers, the rest as text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def gateway_order(configured: tuple[str, ...], heard: Iterable[str]) -> list[str]:
    """Unit n (1 first) serves the n-th of this list: the configured one, else those heard, sorted."""
    ordered = list(configured) if configured else sorted(heard, key=natural_key)
    return ordered[:MAX_GATEWAYS]


def put(words: list[int], name: str, value: int | None, index: int = 1) -> None:
    """Encode `value` (counts; None: not available) into register `name` of block `index`."""
    r = BY_NAME[name]
    address = base_address(r, index)
    words[address : address + r.size] = mm.encode(r.type, value)


def put_text(words: list[int], name: str, text: str, index: int = 1) -> None:
    r = BY_NAME[name]
    address = base_address(r, index)
    words[address : address + r.size] = encode_text(text, r.text_bytes)


def _counts(name: str, metrics: Mapping[str, object]) -> int | None:
    """The counts register `name` serves: the value the gateway published under the register's
    quantity key (protocols/uplink/naming.py), at the registry's scale; None when not a number."""
    quantity = BY_NAME[name].quantity
    assert quantity is not None, name
    value = metrics.get(quantity.key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return quantity.to_wire(value)


def _code(enum: type[Health] | type[ChargeState], text: object) -> int | None:
    member = enum.__members__.get(text) if isinstance(text, str) else None
    return None if member is None else int(member)


def _empty_gateway_unit() -> list[int]:
    words = [0] * GATEWAY_UNIT_SPAN
    for k in range(1, MAX_UPSES + 1):
        _absent_ups(words, k)
    for s in range(1, MAX_STRINGS + 1):
        _absent_string(words, s)
    return words


def _absent_ups(words: list[int], k: int) -> None:
    for name in ("ups_voltage", "ups_current", "ups_soc"):
        put(words, name, None, k)
    put(words, "ups_stale", 1, k)


def _absent_string(words: list[int], s: int) -> None:
    for name in ("string_voltage", "string_current", "string_soc", "string_soh", "string_state"):
        put(words, name, None, s)
    put(words, "string_stale", 1, s)


EMPTY_GATEWAY_UNIT = _empty_gateway_unit()


def render_gateway(
    words: list[int], edge_node: str, view: EdgeNodeView | None, alarm_count: int | None, now: float
) -> None:
    """Fill a gateway's unit (GATEWAY_UNIT_SPAN words) in place."""
    words[:] = EMPTY_GATEWAY_UNIT
    online = view is not None and view.online
    devices: Mapping[str, dict] = view.devices if view is not None else {}
    upses: set[str] = set()
    strings: list[tuple[str, str]] = []
    for device in devices:
        ups_id, sep, string_id = device.partition(STRING_SEPARATOR)
        if ups_id:
            upses.add(ups_id)
        if sep:
            strings.append((ups_id, string_id))
    ups_order = sorted(upses, key=natural_key)[:MAX_UPSES]
    string_order = sorted(strings, key=lambda us: (natural_key(us[0]), natural_key(us[1])))[:MAX_STRINGS]
    in_error = False
    for k, ups_id in enumerate(ups_order, 1):
        metrics = devices.get(ups_id, {})
        health = _code(Health, metrics.get(UPS_HEALTH_METRIC))
        status = _status(online, health)
        fresh = _current(online, health)
        in_error |= status == Health.ERROR
        put(words, "ups_status", status, k)
        for name in ("ups_voltage", "ups_current", "ups_soc"):
            put(words, name, _counts(name, metrics) if fresh else None, k)
        put(words, "ups_stale", 0 if fresh else 1, k)
        put(words, "ups_string_count", sum(1 for u, _ in strings if u == ups_id), k)
        put_text(words, "ups_id", ups_id, k)
    for s, (ups_id, string_id) in enumerate(string_order, 1):
        device = f"{ups_id}{STRING_SEPARATOR}{string_id}"
        metrics = devices.get(device, {})
        health = _code(Health, metrics.get(STRING_HEALTH_METRIC))
        status = _status(online, health)
        fresh = _current(online, health)
        in_error |= status == Health.ERROR
        put(words, "string_ups", ups_order.index(ups_id) + 1 if ups_id in ups_order else 0, s)
        put(words, "string_status", status, s)
        for name in ("string_voltage", "string_current", "string_soc", "string_soh"):
            put(words, name, _counts(name, metrics) if fresh else None, s)
        put(words, "string_state", _code(ChargeState, metrics.get(STRING_STATE_METRIC)) if fresh else None, s)
        put(words, "string_stale", 0 if fresh else 1, s)
        put_text(words, "string_id", string_id, s)
        ts_ms = view.device_times_ms.get(device, 0) if view is not None else 0
        put(words, "string_timestamp", int(ts_ms // 1000), s)
    heard = view.last_heard if view is not None else None
    put(words, "gateway_online", int(online))
    put(words, "gateway_silent_s", None if heard is None else max(0, int(now - heard)))
    put(words, "gateway_alarm_active_count", alarm_count)
    put(words, "gateway_status", int(Health.OK if online and not in_error else Health.ERROR))
    put(words, "gateway_ups_count", len(ups_order))
    put(words, "gateway_string_count", len(string_order))
    put_text(words, "gateway_id", edge_node)


def _status(online: bool, health: int | None) -> int:
    """The status code served: the gateway's rule (stale reads as error) and off-line is an error too."""
    if not online or health is None:
        return int(Health.ERROR)
    return mm.status_code(health)


def _current(online: bool, health: int | None) -> bool:
    """Its values are served: the gateway is on-line and the device answered (OK or in error)."""
    return online and health in (Health.OK, Health.ERROR)


def render_site(
    words: list[int],
    gateways: list[str],
    views: Mapping[str, EdgeNodeView],
    alarm_counts: Mapping[str, int] | None,
    now: float,
    heartbeat: int,
) -> None:
    """Fill the site unit (SITE_UNIT_SPAN words) in place: the summary and the directory."""
    if len(words) != SITE_UNIT_SPAN:
        raise ValueError("the site unit has SITE_UNIT_SPAN registers")
    words[:] = [0] * SITE_UNIT_SPAN
    online = [g in views and views[g].online for g in gateways]
    put(words, "site_map_version", MAP_VERSION)
    put(words, "site_gateway_count", len(gateways))
    put(words, "site_online_count", sum(online))
    put(
        words,
        "site_alarm_active_count",
        None if alarm_counts is None else sum(alarm_counts.get(g, 0) for g in gateways),
    )
    put(words, "site_heartbeat", heartbeat & 0xFFFF)
    put(words, "site_time", int(now))
    for n, (edge_node, up) in enumerate(zip(gateways, online, strict=True), 1):
        put_text(words, "directory_gateway_id", edge_node, n)
        put(words, "directory_online", int(up), n)
