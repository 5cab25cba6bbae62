"""Modbus TCP server for SCADA/BMS: serves the register map of `protocols.scada.modbus_map`.

Plain asyncio, no Thespian: the ModbusServer actor feeds it with `apply(message)` from its
loop thread and receives commands through the `on_command` callback (called in the loop).

Connections, framing and their limits are protocols/scada/modbus_tcp_listener.py; the request and
response PDUs protocols/scada/modbus_pdu.py. What this module adds:
- one unit (protocols/scada/modbus_units.py) per configured UPS, string and the gateway, whose
  registers are rendered in place when a status arrives (or when a request comes, see
  `render_pending`);
- the request guard: unknown unit ids, and writes from clients that are not allowed, are
  answered with an exception before any register is touched;
- staleness: a string that stops sending statuses is served as stale once its data is older
  than its bus allows (battery/freshness.py); the active alarms come from
  protocols/scada/active_alarms.py, the same rules as the SNMP agent's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from observability.log import get_logger
from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.status import StringStatus, UpsStatus
from battery.site import ModbusTcpConfig, StringConfig, Topology
from protocols.scada import modbus_map as mm
from battery.alarms.active import ActiveAlarms
from battery.freshness import freshness_trackers
from protocols.scada.modbus_map import Block, Freshness
from protocols.scada.modbus_pdu import (
    SERVED_FUNCTIONS,
    WRITE_FUNCTIONS,
    ExceptionCode,
    exception_response,
    parse_request,
)
from protocols.scada.modbus_tcp_listener import ConnectionLimits, ModbusTcpListener
from protocols.scada.modbus_units import RegisterUnit, WriteAction
from protocols.scada.tasks import cancel_and_wait

log = get_logger("btms.modbus_tcp")

CommandSink = Callable[[Any], None]


@dataclass(frozen=True)
class WritePolicy:
    enabled: bool
    clients: frozenset[str]

    @classmethod
    def from_config(cls, config: ModbusTcpConfig) -> WritePolicy:
        return cls(config.write_enabled, frozenset(config.write_clients))

    def allows(self, client_ip: str) -> bool:
        return self.enabled and client_ip in self.clients


def request_refusal(
    unit_id: int, function_code: int, client_ip: str, known_units: frozenset[int] | set[int], policy: WritePolicy
) -> ExceptionCode | None:
    """The exception a request gets before its PDU is even parsed, or None to go on."""
    if unit_id not in known_units:
        return ExceptionCode.GATEWAY_PATH_UNAVAILABLE
    if function_code not in SERVED_FUNCTIONS:
        return ExceptionCode.ILLEGAL_FUNCTION
    if function_code in WRITE_FUNCTIONS and not policy.allows(client_ip):
        return ExceptionCode.ILLEGAL_FUNCTION
    return None


def acknowledge_commands(value: int, active: Mapping[int, AlarmNotice], who: str) -> list[AcknowledgeAlarm] | None:
    """A value written to alarm_acknowledge -> the acknowledgements, or None if invalid."""
    if value == mm.ACKNOWLEDGE_ALL:
        return [AcknowledgeAlarm(alarm_id=i, who=who) for i, a in sorted(active.items()) if a.acknowledged_at is None]
    if value in active:
        return [AcknowledgeAlarm(alarm_id=value, who=who)]
    return None


def relay_command(string_id: str, value: int, client_ip: str = "") -> SetStringRelay | None:
    """A value written to string_relay_command -> the command, or None if invalid."""
    if value not in (0, 1):
        return None
    action = "on" if value else "off"
    by = f" by {client_ip}" if client_ip else ""
    return SetStringRelay(string_id=string_id, closed=bool(value), reason=f"Modbus TCP write{by}: switch string {action}")


@dataclass
class _StringState:
    config: StringConfig
    ups_index: int
    words: list[int] = field(default_factory=list)
    status: StringStatus | None = None
    last_fresh_timestamp: float = 0.0
    last_fresh_scan_no: int = 0


@dataclass
class _UpsState:
    id: str
    index: int
    string_count: int
    words: list[int] = field(default_factory=list)
    status: UpsStatus | None = None
    last_fresh_timestamp: float = 0.0


class ScadaModbusServer:
    """The gateway's Modbus TCP server. Call `start()`, then `apply()` statuses; `stop()`."""

    def __init__(
        self,
        topology: Topology,
        on_command: CommandSink,
        config: ModbusTcpConfig | None = None,
        stale_after_s: float | None = None,
    ) -> None:
        """`stale_after_s`: one threshold for every string and UPS (tests); by default each
        string's comes from its bus' scan period (battery/freshness.py)."""
        self.topology = topology
        self.config = config or topology.services.modbus
        self.on_command = on_command
        self.string_freshness, self.ups_freshness = freshness_trackers(topology, stale_after_s)
        self.policy = WritePolicy.from_config(self.config)
        self._strings: dict[str, _StringState] = {}
        self._upses: dict[str, _UpsState] = {}
        self._gateway_words: list[int] = []
        self._listener: ModbusTcpListener | None = None
        self._units: dict[int, RegisterUnit] = {}
        self._ticker: asyncio.Task | None = None
        self._heartbeat = 0
        self._last_update = 0.0
        self.alarms = ActiveAlarms()
        self._string_alarm_bits: dict[str, int] = {}
        self._cell_alarm_bits: dict[str, list[int]] = {}
        self.units: frozenset[int] = frozenset()
        # Strings whose new status is not in the registers yet: rendered when a request comes
        # (or when they go stale), so a gateway nobody polls does not pack 3,840 cells a second.
        self._unrendered: set[str] = set()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._build_units()
        limits = ConnectionLimits(self.config.max_connections, self.config.idle_timeout_s)
        listener = ModbusTcpListener(self.answer, limits)
        await listener.start(self.config.host, self.config.port)
        self._listener = listener
        self._render_all()
        self._ticker = asyncio.create_task(self._tick_forever(), name="modbus-heartbeat")

    async def stop(self) -> None:
        await cancel_and_wait(self._ticker)
        self._ticker = None
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0 in tests)."""
        if self._listener is None:
            raise RuntimeError("Modbus TCP server is not running")
        return self._listener.port

    @property
    def connection_count(self) -> int:
        return 0 if self._listener is None else self._listener.connection_count

    def answer(self, unit_id: int, pdu: bytes, client_ip: str) -> bytes:
        """The response PDU to one request PDU."""
        self.render_pending()  # every request, before registers are read
        function = pdu[0]
        refusal = request_refusal(unit_id, function, client_ip, self.units, self.policy)
        if refusal is not None:
            return exception_response(function, refusal)
        request = parse_request(pdu)
        if isinstance(request, ExceptionCode):
            return exception_response(function, request)
        return self._units[unit_id].serve(request, client_ip)

    # -- data in --------------------------------------------------------------------------

    def apply(self, message: Any) -> None:
        """A status from the gateway (StringStatus, UpsStatus); other messages are ignored."""
        if isinstance(message, StringStatus):
            self._apply_string(message)
        elif isinstance(message, UpsStatus):
            self._apply_ups(message)
        elif isinstance(message, AlarmNotice):
            self._apply_alarm(message)

    def _apply_alarm(self, notice: AlarmNotice) -> None:
        try:
            changed = self.alarms.apply(notice)
        except ValueError as exc:
            log.warning("alarm notice ignored", error=str(exc))
            return
        if not changed:
            return
        if notice.string_id is not None:
            self._recompute_alarm_bits(notice.string_id)
            state = self._strings.get(notice.string_id)
            if state is not None:
                self._render_string(state)
        self._render_gateway()

    def _recompute_alarm_bits(self, string_id: str) -> None:
        state = self._strings.get(string_id)
        if state is None:
            return
        mine = self.alarms.of_string(string_id)
        self._string_alarm_bits[string_id] = mm.alarm_bits(
            (a.kind for a in mine if a.cell_index is None), mm.STRING_ALARM_BITS
        )
        cells = [0] * state.config.battery.count
        for a in mine:
            if a.cell_index is not None and 1 <= a.cell_index <= len(cells):
                cells[a.cell_index - 1] |= mm.alarm_bits((a.kind,), mm.CELL_ALARM_BITS)
        self._cell_alarm_bits[string_id] = cells

    def _apply_string(self, status: StringStatus) -> None:
        state = self._strings.get(status.string_id)
        if state is None:
            log.warning("status of an unknown string ignored", string=status.string_id)
            return
        state.status = status
        self.string_freshness.received(status.string_id, not status.stale, time.monotonic())
        if not status.stale:
            state.last_fresh_timestamp = status.timestamp
            state.last_fresh_scan_no = status.scan_no
            self._last_update = max(self._last_update, status.timestamp)
        self._unrendered.add(status.string_id)

    def render_pending(self) -> None:
        """Put every string status received since the last request into the registers."""
        if not self._unrendered:
            return
        now = time.monotonic()
        for string_id in self._unrendered:
            self._render_string(self._strings[string_id], now)
        self._unrendered.clear()
        self._render_gateway(now)

    def _apply_ups(self, status: UpsStatus) -> None:
        state = self._upses.get(status.ups_id)
        if state is None:
            log.warning("status of an unknown UPS ignored", ups=status.ups_id)
            return
        state.status = status
        self.ups_freshness.received(status.ups_id, status.health != Health.STALE, time.monotonic())
        if status.health != Health.STALE:
            state.last_fresh_timestamp = status.timestamp
        self._render_ups(state)

    # -- datastore ------------------------------------------------------------------------

    def _build_units(self) -> None:
        self._units = {mm.GATEWAY_UNIT_ID: self._unit(mm.span(Block.GATEWAY), Block.GATEWAY, self._acknowledge)}
        self._gateway_words = self._units[mm.GATEWAY_UNIT_ID].words
        for ups in self.topology.upses:
            unit = self._unit(mm.span(Block.UPS), Block.UPS, None)
            self._units[ups.index] = unit
            self._upses[ups.id] = _UpsState(id=ups.id, index=ups.index, string_count=len(ups.strings), words=unit.words)
            for string in ups.strings:
                unit = self._unit(mm.string_unit_span(string.battery.count), Block.STRING, self._relay_action(string.id))
                self._units[mm.STRING_UNIT_BASE + string.index] = unit
                self._strings[string.id] = _StringState(config=string, ups_index=ups.index, words=unit.words)
        self.units = frozenset(self._units)

    @staticmethod
    def _unit(size: int, block: Block, action: WriteAction | None) -> RegisterUnit:
        """One unit: read-only registers, except the writable ones of `block`, which the action sees."""
        writable = frozenset(r.address for r in mm.registers_of(block) if r.writable)
        return RegisterUnit(words=[0] * size, writable=writable if action else frozenset(), on_write=action)

    def _relay_action(self, string_id: str) -> WriteAction:
        def action(address: int, values: tuple[int, ...], client_ip: str) -> ExceptionCode | None:
            # The guard allowed the write and the unit checked that only writable registers
            # are addressed, so this is string_relay_command (one register).
            command = relay_command(string_id, values[0], client_ip)
            if command is None:
                return ExceptionCode.ILLEGAL_DATA_VALUE
            log.info("command", reason=command.reason)
            self.on_command(command)
            return None

        return action

    def _acknowledge(self, address: int, values: tuple[int, ...], client_ip: str) -> ExceptionCode | None:
        commands = acknowledge_commands(values[0], self.alarms.by_id, f"Modbus TCP {client_ip}")
        if commands is None:
            return ExceptionCode.ILLEGAL_DATA_VALUE
        for command in commands:
            self.on_command(command)
        log.info("alarms acknowledged", count=len(commands), client=client_ip)
        return None  # alarm_acknowledge keeps reading 0

    # -- rendering ------------------------------------------------------------------------

    def _render_string(self, state: _StringState, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        stale = self.string_freshness.is_stale(state.config.id, now)
        cell_bits = self._cell_alarm_bits.get(state.config.id, [])
        values = mm.string_values(
            state.status,
            ups_index=state.ups_index,
            cell_count=state.config.battery.count,
            freshness=Freshness(stale, state.last_fresh_timestamp),
            alarm_bits=self._string_alarm_bits.get(state.config.id, 0),
            cell_alarm_count=sum(1 for b in cell_bits if b),
            last_fresh_scan_no=state.last_fresh_scan_no,
        )
        mm.pack(Block.STRING, values, state.words)
        mm.pack_cells(state.status, stale, state.config.battery.count, cell_bits, state.words)

    def _render_ups(self, state: _UpsState, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        stale = self.ups_freshness.is_stale(state.id, now)
        values = mm.ups_values(state.status, state.string_count, Freshness(stale, state.last_fresh_timestamp))
        mm.pack(Block.UPS, values, state.words)

    def _render_gateway(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        stale_count = self.string_freshness.stale_count(now)
        error = stale_count > 0 or any(
            s.status is not None and s.status.health == Health.ERROR for s in self._strings.values()
        )
        active, unacknowledged = self.alarms.counts()
        summary = (
            (1 if any(any(b) for b in self._cell_alarm_bits.values()) else 0)
            | (2 if any(self._string_alarm_bits.values()) else 0)
            | (4 if stale_count else 0)
            | (8 if unacknowledged else 0)
        )
        mm.pack(
            Block.GATEWAY,
            {
                "gateway_status": int(Health.ERROR if error else Health.OK),
                "gateway_heartbeat": self._heartbeat & 0xFFFF,
                "gateway_time": int(time.time()),
                "gateway_last_update": int(self._last_update),
                "alarm_active_count": active,
                "alarm_unacknowledged_count": unacknowledged,
                "alarm_summary": summary,
                "stale_string_count": stale_count,
                "string_count": len(self._strings),
                "ups_count": len(self._upses),
                "map_version": mm.MAP_VERSION,
                "alarm_acknowledge": 0,
            },
            self._gateway_words,
        )

    def _render_all(self) -> None:
        for s in self._strings.values():
            self._render_string(s)
        for u in self._upses.values():
            self._render_ups(u)
        self._render_gateway()

    def tick(self, now: float | None = None) -> None:
        """Once per second: heartbeat, clock, and strings/UPSes that went quiet become stale.

        `now`: the monotonic time to judge staleness at (tests look ahead without waiting).
        """
        self._heartbeat += 1
        now = time.monotonic() if now is None else now
        for string_id in self.string_freshness.went_stale(now):
            log.warning("no status from string: served as stale", string=string_id,
                        after_s=self.string_freshness.thresholds[string_id])
            self._render_string(self._strings[str(string_id)], now)
            self._unrendered.discard(str(string_id))
        for ups_id in self.ups_freshness.went_stale(now):
            self._render_ups(self._upses[str(ups_id)], now)
        self._render_gateway(now)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.tick()
