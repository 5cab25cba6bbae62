"""What the primary host knows of one edge node (a gateway): pure, the clock is given.

Sparkplug 3.0 rules it applies:
- NBIRTH opens a session: seq 0, its `bdSeq`, the metric names (and aliases, if any) of the
  node; each DBIRTH those of a device. Births are state, not history: their values refresh the
  live view, they are not stored as records.
- Every later message of the session carries the next seq (255 wraps to 0). A gap, or data
  from a session the host never saw born (the host restarted), asks the node for a rebirth
  (`Node Control/Rebirth`), at most once per REBIRTH_INTERVAL_S while none comes.
- NDEATH ends the session whose bdSeq it carries; the NDEATH of an older session (its last will
  arriving late) is ignored.
- The node is off-line from its NDEATH, or once it has been silent for `offline_after_s`; the
  off-line alarm is raised then and cleared when the node speaks again.

NDATA/DDATA become records: one per device and metric timestamp (a replay is deduplicated by
the store). The `event/alarm` channel becomes alarm events, kept per gateway alarm number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from aggregator.records import Record
from protocols.uplink.naming import ALARM_METRIC, DISCHARGE_METRIC
from protocols.uplink.payload import DataType, Metric, Payload
from protocols.uplink.sequence import BDSEQ_METRIC, MODULUS, REBIRTH_METRIC
from protocols.uplink.topics import MessageType, Topic

REBIRTH_INTERVAL_S = 5.0
EVENT_METRICS = frozenset({ALARM_METRIC, DISCHARGE_METRIC})
_CONTROL = frozenset({BDSEQ_METRIC, REBIRTH_METRIC})


@dataclass
class Outcome:
    """What one message or tick asks of the proxy."""

    records: list[Record] = field(default_factory=list)
    alarm_events: list[dict] = field(default_factory=list)
    rebirth: bool = False
    went_offline: str | None = None  # the reason
    came_online: bool = False
    changed: bool = False  # the live view changed


class EdgeNode:
    def __init__(self, name: str, offline_after_s: float) -> None:
        self.name = name
        self.offline_after_s = offline_after_s
        self.online = False
        self.offline_reason = "never heard of"
        self.bdseq: int | None = None
        self.last_seq: int | None = None
        self.last_heard: float | None = None
        self.aliases: dict[str, dict[int, str]] = {}  # device ('' = node) -> alias -> name
        self.latest: dict[str, dict[str, object]] = {}  # device -> metric -> latest value
        self.latest_ms: dict[str, int] = {}  # device -> timestamp of its latest value
        self.gaps = 0
        self._rebirth_asked_at: float | None = None

    # -- messages ---------------------------------------------------------------------------

    def receive(self, topic: Topic, payload: Payload, now: float) -> Outcome:
        out = Outcome()
        kind, device = topic.message_type, topic.device_id or ""
        if kind is MessageType.NDEATH:
            bdseq = _metric_value(payload.metrics, BDSEQ_METRIC)
            if self.online and (bdseq is None or self.bdseq is None or int(bdseq) == self.bdseq):
                self._offline(out, "NDEATH: the gateway's link died")
            return out
        if kind is MessageType.NCMD or kind is MessageType.DCMD:
            return out  # our own commands, echoed by the subscription
        self.last_heard = now
        if kind is MessageType.NBIRTH:
            bdseq = _metric_value(payload.metrics, BDSEQ_METRIC)
            self.bdseq = int(bdseq) if isinstance(bdseq, int | float) else None
            self.last_seq = payload.seq
            self.aliases = {}
            self._rebirth_asked_at = None
            if payload.seq != 0:
                self._ask_rebirth(out, now)
        else:
            self._check_seq(payload.seq, out, now)
        if not self.online and (kind is MessageType.NBIRTH or self.last_seq is not None):
            self.online, out.came_online = True, True
        if kind in (MessageType.NBIRTH, MessageType.DBIRTH):
            self._learn_aliases(device, payload.metrics)
            self._refresh(device, payload, out)
        elif kind in (MessageType.NDATA, MessageType.DDATA):
            self._data(device, payload, out)
            self._refresh(device, payload, out)
        return out

    def records_of(self, topic: Topic, payload: Payload) -> Outcome:
        """The records and alarm events of a data message taken before, without taking it again."""
        out = Outcome()
        if topic.message_type in (MessageType.NDATA, MessageType.DDATA):
            self._data(topic.device_id or "", payload, out)
        return out

    def tick(self, now: float) -> Outcome:
        """The off-line check, once a second."""
        out = Outcome()
        if self.online and self.last_heard is not None and now - self.last_heard > self.offline_after_s:
            self._offline(out, f"no message for {self.offline_after_s:g} s")
        return out

    # -- rules --------------------------------------------------------------------------------

    def _check_seq(self, seq: int | None, out: Outcome, now: float) -> None:
        if self.last_seq is None or seq is None:
            self._ask_rebirth(out, now)  # a session the host never saw born
            self.last_seq = seq
            return
        expected = (self.last_seq + 1) % MODULUS
        if seq != expected:
            self.gaps += 1
            self._ask_rebirth(out, now)
        self.last_seq = seq

    def _ask_rebirth(self, out: Outcome, now: float) -> None:
        if self._rebirth_asked_at is None or now - self._rebirth_asked_at >= REBIRTH_INTERVAL_S:
            self._rebirth_asked_at = now
            out.rebirth = True

    def _offline(self, out: Outcome, reason: str) -> None:
        self.online = False
        self.offline_reason = reason
        self.last_seq = None  # the next session must be born again
        out.went_offline = reason
        out.changed = True

    def _learn_aliases(self, device: str, metrics: tuple[Metric, ...]) -> None:
        table = self.aliases.setdefault(device, {})
        for m in metrics:
            if m.alias is not None and m.name is not None:
                table[m.alias] = m.name

    def _name(self, device: str, m: Metric) -> str | None:
        if m.name is not None:
            return m.name
        return self.aliases.get(device, {}).get(m.alias) if m.alias is not None else None

    def _data(self, device: str, payload: Payload, out: Outcome) -> None:
        by_time: dict[int, list[Metric]] = {}
        for m in payload.metrics:
            name = self._name(device, m)
            if name is None or name in _CONTROL:
                continue
            if name == ALARM_METRIC and isinstance(m.value, str):
                event = _json_object(m.value)
                if event is not None:
                    out.alarm_events.append(event)
                continue
            by_time.setdefault(m.timestamp_ms or payload.timestamp_ms, []).append(replace(m, name=name))
        for ts_ms, metrics in sorted(by_time.items()):
            numeric = [m for m in metrics if m.datatype != DataType.STRING]
            text = [m for m in metrics if m.datatype == DataType.STRING]
            out.records.append(
                Record(
                    self.name,
                    device,
                    ts_ms,
                    tuple(m.name for m in numeric),  # type: ignore[misc]
                    tuple(None if m.value is None else float(m.value) for m in numeric),
                    tuple(m.name for m in text),  # type: ignore[misc]
                    tuple(None if m.value is None else str(m.value) for m in text),
                )
            )

    def _refresh(self, device: str, payload: Payload, out: Outcome) -> None:
        """The live view takes values that are not older than what it shows."""
        values = self.latest.setdefault(device, {})
        newest = self.latest_ms.get(device, 0)
        for m in payload.metrics:
            name = self._name(device, m)
            ts = m.timestamp_ms or payload.timestamp_ms
            if name is None or name in _CONTROL or name in EVENT_METRICS or ts < newest:
                continue
            values[name] = m.value
            self.latest_ms[device] = max(self.latest_ms.get(device, 0), ts)
        out.changed = True


def _metric_value(metrics: tuple[Metric, ...], name: str) -> object:
    return next((m.value for m in metrics if m.name == name), None)


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
