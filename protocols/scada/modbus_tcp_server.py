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
- the packing of the site state: the statuses, their freshness, the active alarms and the
  gateway status are the server's ServedSite (battery/served_site.py), rendered on request and
  on the 1 s tick as the SNMP agent's are (protocols/scada/site_renderer.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from battery.alarms.records import AlarmNotice
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.site import ModbusTcpConfig, StringConfig, Topology
from battery.status import UpsStatus
from protocols.scada import modbus_map as mm
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
from protocols.scada.site_renderer import SiteRenderer
from protocols.scada.tasks import cancel_and_wait

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


def answer_request(
    unit_id: int,
    pdu: bytes,
    client_ip: str,
    known_units: frozenset[int] | set[int],
    policy: WritePolicy,
    unit_of: Callable[[int], RegisterUnit],
) -> bytes:
    """The response PDU to one request PDU: refused before parsing, refused by parsing (in the
    specification's order), or served by its unit. Every Modbus TCP server here answers so."""
    function = pdu[0]
    refusal = request_refusal(unit_id, function, client_ip, known_units, policy)
    if refusal is not None:
        return exception_response(function, refusal)
    request = parse_request(pdu)
    if isinstance(request, ExceptionCode):
        return exception_response(function, request)
    return unit_of(unit_id).serve(request, client_ip)


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
    return SetStringRelay(
        string_id=string_id, closed=bool(value), reason=f"Modbus TCP write{by}: switch string {action}"
    )


@dataclass
class _StringUnit:
    """A string's registers and what they need beyond its status."""

    config: StringConfig
    ups_index: int
    words: list[int] = field(default_factory=list)
    alarm_bits: int = 0  # string_alarm
    cell_alarm_bits: list[int] = field(default_factory=list)  # cell_alarm of each cell


@dataclass
class _UpsUnit:
    id: str
    index: int
    string_count: int
    words: list[int] = field(default_factory=list)


class ScadaModbusServer(SiteRenderer):
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
        super().__init__(topology, "btms.modbus_tcp", stale_after_s)
        self.topology = topology
        self.config = config or topology.services.modbus
        self.on_command = on_command
        self.policy = WritePolicy.from_config(self.config)
        self._strings: dict[str, _StringUnit] = {}
        self._upses: dict[str, _UpsUnit] = {}
        self._gateway_words: list[int] = []
        self._listener: ModbusTcpListener | None = None
        self._units: dict[int, RegisterUnit] = {}
        self._ticker: asyncio.Task | None = None
        self._heartbeat = 0
        self.units: frozenset[int] = frozenset()
        self._build_units()  # before start(): a status applied early has its registers

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        limits = ConnectionLimits(self.config.max_connections, self.config.idle_timeout_s)
        listener = ModbusTcpListener(self.answer, limits)
        await listener.start(self.config.host, self.config.port)
        self._listener = listener
        self._render_all()
        self._ticker = asyncio.create_task(self.tick_forever(), name="modbus-heartbeat")

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
        return answer_request(unit_id, pdu, client_ip, self.units, self.policy, self._units.__getitem__)

    # -- data in (apply, render_pending and tick are SiteRenderer's) ---------------------

    def ups_received(self, status: UpsStatus) -> None:
        self._render_ups(self._upses[status.ups_id], self.site.now())

    def alarm_received(self, notice: AlarmNotice, changed: bool) -> None:
        if not changed:
            return
        unit = self._strings.get(notice.string_id) if notice.string_id is not None else None
        now = self.site.now()
        if unit is not None:
            alarms = self.site.string_alarms(unit.config.id)
            unit.alarm_bits = mm.alarm_bits(alarms.string_kinds, mm.STRING_ALARM_BITS)
            unit.cell_alarm_bits = [mm.alarm_bits(kinds, mm.CELL_ALARM_BITS) for kinds in alarms.cell_kinds]
            self.render_string(unit.config.id, now)
        self.render_gateway(now)

    # -- datastore ------------------------------------------------------------------------

    def _build_units(self) -> None:
        self._units = {mm.GATEWAY_UNIT_ID: self._unit(mm.span(Block.GATEWAY), Block.GATEWAY, self._acknowledge)}
        self._gateway_words = self._units[mm.GATEWAY_UNIT_ID].words
        for ups in self.topology.upses:
            unit = self._unit(mm.span(Block.UPS), Block.UPS, None)
            self._units[ups.index] = unit
            self._upses[ups.id] = _UpsUnit(id=ups.id, index=ups.index, string_count=len(ups.strings), words=unit.words)
            for string in ups.strings:
                unit = self._unit(
                    mm.string_unit_span(string.battery.count), Block.STRING, self._relay_action(string.id)
                )
                self._units[mm.STRING_UNIT_BASE + string.index] = unit
                self._strings[string.id] = _StringUnit(
                    config=string, ups_index=ups.index, words=unit.words, cell_alarm_bits=[0] * string.battery.count
                )
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
            self.log.info("command", reason=command.reason)
            self.on_command(command)
            return None

        return action

    def _acknowledge(self, address: int, values: tuple[int, ...], client_ip: str) -> ExceptionCode | None:
        commands = acknowledge_commands(values[0], self.site.alarms.by_id, f"Modbus TCP {client_ip}")
        if commands is None:
            return ExceptionCode.ILLEGAL_DATA_VALUE
        for command in commands:
            self.on_command(command)
        self.log.info("alarms acknowledged", count=len(commands), client=client_ip)
        return None  # alarm_acknowledge keeps reading 0

    # -- rendering ------------------------------------------------------------------------

    def render_string(self, string_id: str, now: float) -> None:
        unit = self._strings[string_id]
        status = self.site.string(string_id)
        stale = self.site.is_string_stale(string_id, now)
        last_fresh = self.site.string_last_fresh(string_id)
        cell_bits = unit.cell_alarm_bits
        values = mm.string_values(
            status,
            ups_index=unit.ups_index,
            cell_count=unit.config.battery.count,
            freshness=Freshness(stale, last_fresh.timestamp if last_fresh else 0.0),
            alarm_bits=unit.alarm_bits,
            cell_alarm_count=sum(1 for b in cell_bits if b),
            last_fresh_scan_no=last_fresh.scan_no if last_fresh else 0,
        )
        mm.pack(Block.STRING, values, unit.words)
        mm.pack_cells(status, stale, unit.config.battery.count, cell_bits, unit.words)

    def _render_ups(self, unit: _UpsUnit, now: float) -> None:
        stale = self.site.is_ups_stale(unit.id, now)
        freshness = Freshness(stale, self.site.ups_last_fresh(unit.id) or 0.0)
        mm.pack(Block.UPS, mm.ups_values(self.site.ups(unit.id), unit.string_count, freshness), unit.words)

    def render_gateway(self, now: float) -> None:
        gateway = self.site.gateway_status(now)
        summary = (
            (1 if any(any(u.cell_alarm_bits) for u in self._strings.values()) else 0)
            | (2 if any(u.alarm_bits for u in self._strings.values()) else 0)
            | (4 if gateway.stale_strings else 0)
            | (8 if gateway.unacknowledged_alarms else 0)
        )
        mm.pack(
            Block.GATEWAY,
            {
                "gateway_status": int(gateway.health),
                "gateway_heartbeat": self._heartbeat & 0xFFFF,
                "gateway_time": int(time.time()),
                "gateway_last_update": int(gateway.last_update),
                "alarm_active_count": gateway.active_alarms,
                "alarm_unacknowledged_count": gateway.unacknowledged_alarms,
                "alarm_summary": summary,
                "stale_string_count": gateway.stale_strings,
                "string_count": gateway.string_count,
                "ups_count": gateway.ups_count,
                "map_version": mm.MAP_VERSION,
                "uplink_state": gateway.uplink.state.value,
                "uplink_outbox_records": gateway.uplink.outbox_records,
                "alarm_acknowledge": 0,
            },
            self._gateway_words,
        )

    def _render_all(self) -> None:
        now = self.site.now()
        for string_id in self._strings:
            self.render_string(string_id, now)
        for unit in self._upses.values():
            self._render_ups(unit, now)
        self.render_gateway(now)

    def ticked(self, stale_upses: tuple[str, ...], now: float) -> None:
        """The 1 s tick: the heartbeat counts, the clock and the stale UPSes are rendered."""
        self._heartbeat += 1
        for ups_id in stale_upses:
            self._render_ups(self._upses[ups_id], now)
        self.render_gateway(now)
