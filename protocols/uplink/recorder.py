"""What of the site goes up, and when: the records the uplink puts in its outbox.

- UPS and string values: one record per UPS and per string every `data_period_s` (the
  configured resolution), with the newest status; while a string discharges, one per scan, so
  the aggregator gets the discharge's time plot at full resolution.
- Cell values: by exception. At each period a string's cells whose value moved at least the
  quantity's deadband since it was last recorded (or became or stopped being null) go in one
  record; the others are not repeated.
- Alarms (every stored change: raised, cleared, acknowledged, closed) and discharge events
  (start, end) at once, as node events.

Pure: no I/O, the clock is given. The uplink encodes and stores what it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from battery.alarms.records import AlarmNotice
from battery.codes import ChargeState, Health
from battery.site import Topology, UplinkConfig
from battery.status import StringStatus, UpsStatus
from protocols.uplink.naming import (
    ALARM_METRIC,
    CELL_SEPARATOR,
    DISCHARGE_METRIC,
    cell_metric,
    cell_values,
    string_device_id,
    string_metrics,
    to_ms,
    ups_device_id,
    ups_metrics,
)
from protocols.uplink.payload import DataType, Metric
from storage.outbox import Priority

NODE = ""  # the device of the edge node's own records (NDATA)


@dataclass(frozen=True)
class OutRecord:
    priority: Priority
    device: str  # NODE for the edge node
    created_ms: int
    metrics: tuple[Metric, ...]


class Recorder:
    def __init__(self, topology: Topology, config: UplinkConfig, clock: Callable[[], float]) -> None:
        self.topology = topology
        self.config = config
        self.clock = clock
        self._deadband = dict(config.deadbands)
        self._ups_of = {s.id: u.id for u in topology.upses for s in u.strings}
        self.strings: dict[str, StringStatus] = {}
        self.upses: dict[str, UpsStatus] = {}
        self._unsent_strings: set[str] = set()
        self._unsent_upses: set[str] = set()
        self._discharging: set[str] = set()
        self._cells_sent: dict[str, dict[str, float | str | None]] = {}

    # -- data in -------------------------------------------------------------------------------

    def apply_ups(self, status: UpsStatus) -> list[OutRecord]:
        if status.ups_id in self._upses_known():
            self.upses[status.ups_id] = status
            self._unsent_upses.add(status.ups_id)
        return []

    def apply_string(self, status: StringStatus) -> list[OutRecord]:
        string_id = status.string_id
        if string_id not in self._ups_of:
            return []
        self.strings[string_id] = status
        self._unsent_strings.add(string_id)
        out = self._discharge_event(status)
        if string_id in self._discharging:
            out.append(self._string_record(status))
            self._unsent_strings.discard(string_id)
        return out

    def apply_alarm(self, notice: AlarmNotice) -> list[OutRecord]:
        if notice.event == "active":  # a state sync for a subscriber, not a change
            return []
        now = to_ms(self.clock())
        text = json.dumps(asdict(notice), separators=(",", ":"))
        return [OutRecord(Priority.EVENT, NODE, now, (Metric(ALARM_METRIC, DataType.STRING, text, now),))]

    def _discharge_event(self, status: StringStatus) -> list[OutRecord]:
        if status.health == Health.STALE:  # a string that did not answer neither starts nor ends one
            return []
        discharging = status.state == ChargeState.DISCHARGE
        was = status.string_id in self._discharging
        if discharging == was:
            return []
        if discharging:
            self._discharging.add(status.string_id)
        else:
            self._discharging.discard(status.string_id)
        t = to_ms(status.timestamp)
        event = {
            "event": "start" if discharging else "end",
            "string_id": status.string_id,
            "ups_id": status.ups_id,
            "time": status.timestamp,
        }
        text = json.dumps(event, separators=(",", ":"))
        return [OutRecord(Priority.EVENT, NODE, t, (Metric(DISCHARGE_METRIC, DataType.STRING, text, t),))]

    # -- the data period -------------------------------------------------------------------------

    def period(self) -> list[OutRecord]:
        """The records of one data period: UPSes and strings with a newer status, changed cells."""
        out: list[OutRecord] = []
        for ups_id in sorted(self._unsent_upses):
            status = self.upses[ups_id]
            out.append(OutRecord(Priority.DATA, ups_device_id(ups_id), to_ms(status.timestamp), ups_metrics(status)))
        self._unsent_upses.clear()
        for string_id in sorted(self._unsent_strings):
            out.append(self._string_record(self.strings[string_id]))
        self._unsent_strings.clear()
        for _, status in sorted(self.strings.items()):
            cells = self._changed_cells(status)
            if cells:
                out.append(OutRecord(Priority.CELL, self._device(status), to_ms(status.timestamp), cells))
        return out

    def _string_record(self, status: StringStatus) -> OutRecord:
        return OutRecord(Priority.DATA, self._device(status), to_ms(status.timestamp), string_metrics(status))

    def _changed_cells(self, status: StringStatus) -> tuple[Metric, ...]:
        sent = self._cells_sent.setdefault(status.string_id, {})
        t = to_ms(status.timestamp)
        changed = []
        for name, value in cell_values(status).items():
            if name in sent and not self._moved(name, sent[name], value):
                continue
            sent[name] = value
            changed.append(cell_metric(name, value, t))
        return tuple(changed)

    def _moved(self, name: str, before: float | str | None, now: float | str | None) -> bool:
        if before is None or now is None or isinstance(now, str) or isinstance(before, str):
            return before != now
        band = self._deadband.get(name.split(CELL_SEPARATOR, 1)[0], 0.0)
        return abs(now - before) >= band if band > 0 else now != before

    def births_sent(self) -> None:
        """The births carried every current value: cells are compared with those from now on."""
        for string_id, status in self.strings.items():
            self._cells_sent[string_id] = dict(cell_values(status))

    def _device(self, status: StringStatus) -> str:
        return string_device_id(self._ups_of[status.string_id], status.string_id)

    def _upses_known(self) -> set[str]:
        return {u.id for u in self.topology.upses}
