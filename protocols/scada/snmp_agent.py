"""SNMP agent for NMSes: the BTMS-GATEWAY-MIB tables, the UPS-MIB battery group, alarm traps.

Plain asyncio, no Thespian: the SnmpAgent actor feeds it with `apply(message)` in its loop.

Why a subtree controller instead of one pysnmp object per instance: 3,840 cells × 7 columns
as MibScalarInstance objects cost 190–235 µs per varbind and 62 MB; a sorted list of OIDs with
bisect costs 70–95 µs and a few MB (PROTOCOLS.md §3). Values are kept as plain Python values
and turned into SNMP syntax only when a request asks for them, then kept until they change.
The system group is pysnmp's, read through its own controller; no other object of pysnmp's
(its USM, community and VACM tables) is served (protocols/scada/snmp_access.py).

GETBULK, what NMSes walk tables with, has its own responder (`SubtreeBulkResponder`, protocols/scada/snmp_store.py): it
answers from cached BER bytes per varbind instead of pyasn1 objects, and asks VACM once per
column per request. A `snmpbulkwalk -Cr64` of the 3,840-cell table (26,880 varbinds) went
from 5–7 s to about 1 s (issue 6, `bench/scada.py`).

Stale data is never served as current: the status column reads stale(3) and the value
columns of the row are absent (GET answers noSuchInstance, walks skip them). When data is
stale (battery/freshness.py), which cell readings are measurements
(protocols/scada/served_values.py) and which alarms are active (protocols/scada/active_alarms.py) are
decided by the modules the Modbus server uses too.

UPS-MIB (RFC 1628): one SNMP context per UPS, named "ups<index>": with SNMPv3 select it with
the context name (`snmpget -n ups1`), with v2c use the community "<community>@ups<index>".
The default context serves the enterprise MIB, whose UPS table has every UPS in one walk.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    NotificationType,
    ObjectIdentity,
    UdpTransportTarget,
    send_notification,
)
from pysnmp.hlapi.v3arch.asyncio.ntforg import VB_PROCESSOR
from pysnmp.proto import rfc1902

from battery.plausibility import NO_RESPONSE
from observability.log import get_logger
from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.status import StringStatus, UpsStatus
from observability.product import product_description
from battery.site import SnmpConfig, Topology
from protocols.scada import snmp_oids as so
from battery.alarms.active import ActiveAlarms, notifies
from battery.freshness import freshness_trackers
from protocols.scada.served_values import served_cell_values
from protocols.scada.snmp_access import ENGINE_SUBTREES, SnmpV3User, configure_access
from protocols.scada.snmp_ber import OID
from protocols.scada.snmp_rows import (
    DISCHARGE_CURRENT_A,
    alarm_row,
    string_row,
    ups_battery_group,
    ups_row,
)
from protocols.scada.snmp_store import (
    VALUE_PROTOTYPES,
    OidStore,
    SubtreeBulkResponder,
    SubtreeController,
)
from protocols.scada.tasks import cancel_and_wait

log = get_logger("btms.snmp")

_COLUMN_BY_OID = {c.oid: c for c in so.ALL_COLUMNS}


# ------------------------------------------------------------------------------------------
# The agent.
# ------------------------------------------------------------------------------------------


def _describe_system(mib_builder: Any) -> None:
    """sysDescr and sysObjectID name the product, not the SNMP engine: pysnmp's defaults are its
    own and Python's exact versions and pysnmp's enterprise number, a free fingerprint."""
    sys_descr, sys_object_id = mib_builder.import_symbols("__SNMPv2-MIB", "sysDescr", "sysObjectID")
    sys_descr.syntax = sys_descr.syntax.clone(product_description())
    sys_object_id.syntax = sys_object_id.syntax.clone(so.MODULE)  # btmsGatewayMIB


def _parse_receiver(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"SNMP trap receiver {text!r}: expected host:port")
    return host, int(port)


class BtmsSnmpAgent:
    """Call `start()`, then `apply()` statuses and alarm notices; `stop()` at the end."""

    def __init__(
        self,
        topology: Topology,
        on_command: Callable[[Any], None],
        config_: SnmpConfig | None = None,
        v3_users: Sequence[SnmpV3User] = (),
        trap_community: str | None = None,
        notify_type: str = "trap",  # "trap" or "inform"
        stale_after_s: float | None = None,
    ) -> None:
        """`stale_after_s`: one threshold for every string and UPS (tests); by default each
        string's comes from its bus' scan period (battery/freshness.py)."""
        self.topology = topology
        self.config = config_ or topology.services.snmp
        self.on_command = on_command  # nothing is writable over SNMP yet; kept for the actor API
        self.v3_users = tuple(v3_users)
        self.trap_community = trap_community or self.config.read_community  # no default community
        if self.config.trap_receivers and not self.trap_community:
            raise ValueError("SNMP trap receivers need a community: set trap_community or read_community")
        if notify_type not in ("trap", "inform"):
            raise ValueError(f"SNMP notify_type {notify_type!r}: expected 'trap' or 'inform'")
        self.notify_type = notify_type
        self.string_freshness, self.ups_freshness = freshness_trackers(topology, stale_after_s)
        self.receivers = tuple(_parse_receiver(r) for r in self.config.trap_receivers)
        self.store = OidStore((so.ENTERPRISE,))
        self.ups_stores: dict[int, OidStore] = {u.index: OidStore((so.UPS_MIB_BATTERY,)) for u in topology.upses}
        self._strings: dict[str, StringStatus | None] = {s.id: None for s in topology.strings}
        self._upses: dict[str, UpsStatus | None] = {u.id: None for u in topology.upses}
        self._on_battery_since: dict[str, float | None] = {u.id: None for u in topology.upses}
        self.alarms = ActiveAlarms()
        self._last_update = 0.0
        self._engine: engine.SnmpEngine | None = None
        self._socket: socket.socket | None = None
        self._targets: list[Any] = []
        self._ticker: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        # Strings whose new status is not in the OID store yet: rendered when a request comes
        # (or when they go stale), so an agent nobody walks does not rebuild 3,840 cell rows a second.
        self._unrendered: set[str] = set()
        self._last_fresh: dict[int, tuple[float, int]] = {}  # string index -> timestamp, scan of its last fresh status
        self.store.before_read = self.render_pending
        self.traps_sent = 0
        self._cell_counts = {s.index: s.battery.count for s in topology.strings}
        self._define_static()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        eng = engine.SnmpEngine()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.config.host, self.config.port))  # pysnmp's own bind fails silently
        except OSError as exc:
            sock.close()
            raise OSError(f"SNMP agent: cannot listen on {self.config.host}:{self.config.port} ({exc})") from exc
        self._socket = sock
        config.add_transport(eng, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode(sock=sock))
        configure_access(eng, self.config.read_community, self.v3_users, [""] + [f"ups{i}" for i in self.ups_stores])
        snmp_context = context.SnmpContext(eng)
        default = snmp_context.get_mib_instrum()
        mib_builder = default.get_mib_builder()
        mib_builder.import_symbols("__SNMPv2-MIB", "sysUpTime")  # start the sysUpTime clock now
        _describe_system(mib_builder)
        snmp_context.context_names[b""] = SubtreeController(mib_builder, self.store, default, ENGINE_SUBTREES)
        for i, store in self.ups_stores.items():
            ups_controller = SubtreeController(mib_builder, store, default, ENGINE_SUBTREES)
            snmp_context.register_context_name(f"ups{i}", ups_controller)
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, SubtreeBulkResponder):
            responder(eng, snmp_context)
        self._engine = eng
        self._targets = [await UdpTransportTarget.create(r, timeout=1, retries=1) for r in self.receivers]
        # Load the MIB modules notifications need now: the first send would take ~0.4 s.
        VB_PROCESSOR.make_varbinds(eng.cache, NotificationType(ObjectIdentity(so.ALARM_RAISED)))
        self._render_all()
        self._ticker = asyncio.create_task(self._tick_forever(), name="snmp-staleness")
        # Names only: communities and passphrases are never logged.
        log.info("agent listening", host=self.config.host, port=self.port, v2c=bool(self.config.read_community),
                 v3_users=[u.name for u in self.v3_users], ups_contexts=[f"ups{i}" for i in self.ups_stores])

    async def stop(self) -> None:
        await cancel_and_wait(self._ticker)
        self._ticker = None
        for task in list(self._pending):
            task.cancel()
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None


    @property
    def snmp_engine(self) -> engine.SnmpEngine:
        """The running pysnmp engine, to add VACM views or users beyond the configured ones."""
        if self._engine is None:
            raise RuntimeError("SNMP agent is not running")
        return self._engine

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("SNMP agent is not running")
        return int(self._socket.getsockname()[1])

    # -- data in --------------------------------------------------------------------------

    def apply(self, message: Any) -> None:
        if isinstance(message, StringStatus):
            if message.string_id not in self._strings:
                log.warning("status of an unknown string ignored", string=message.string_id)
                return
            now = time.monotonic()
            self._strings[message.string_id] = message
            self.string_freshness.received(message.string_id, not message.stale, now)
            if not message.stale:
                self._last_update = max(self._last_update, message.timestamp)
                self._last_fresh[self.topology.string(message.string_id).index] = (message.timestamp, message.scan_no)
            self._unrendered.add(message.string_id)
        elif isinstance(message, UpsStatus):
            if message.ups_id not in self._upses:
                log.warning("status of an unknown UPS ignored", ups=message.ups_id)
                return
            self._upses[message.ups_id] = message
            self.ups_freshness.received(message.ups_id, message.health != Health.STALE, time.monotonic())
            self._track_on_battery(message)
            self._render_ups(message.ups_id)
        elif isinstance(message, AlarmNotice):
            self._apply_alarm(message)

    def _track_on_battery(self, status: UpsStatus) -> None:
        discharging = status.health != Health.STALE and status.current_a is not None and status.current_a < DISCHARGE_CURRENT_A
        since = self._on_battery_since[status.ups_id]
        if discharging and since is None:
            self._on_battery_since[status.ups_id] = time.time()
        elif not discharging:
            self._on_battery_since[status.ups_id] = None

    def _apply_alarm(self, notice: AlarmNotice) -> None:
        try:
            changed = self.alarms.apply(notice)
        except ValueError as exc:
            log.warning("alarm notice ignored", error=str(exc))
            return
        row = alarm_row(notice, self.topology)
        if changed:
            if notice.alarm_id in self.alarms:
                for c in so.ALARM_COLUMNS[1:]:
                    self.store.define(c.oid + (notice.alarm_id,), c.wire_type, row[c.name])
            else:
                for c in so.ALARM_COLUMNS[1:]:
                    self.store.remove(c.oid + (notice.alarm_id,))
            self._render_gateway()
        if notifies(notice) and self._engine is not None:
            trap = so.ALARM_RAISED if notice.event == "raised" else so.ALARM_CLEARED
            var_binds = [(so.column(n).oid + (notice.alarm_id,), row[n]) for n in so.NOTIFICATION_OBJECTS]
            task = asyncio.get_running_loop().create_task(self._notify(trap, var_binds))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _notify(self, trap: OID, var_binds: list[tuple[OID, Any]]) -> None:
        assert self._engine is not None
        bound = []
        for oid, value in var_binds:
            wire = _COLUMN_BY_OID[oid[:-1]].wire_type
            bound.append((rfc1902.ObjectName(oid), VALUE_PROTOTYPES[wire].clone(value)))
        for target in self._targets:
            notification = NotificationType(ObjectIdentity(trap)).add_varbinds(*bound)
            error_indication, _, _, _ = await send_notification(
                self._engine, CommunityData(self.trap_community), target, ContextData(), self.notify_type, notification
            )
            if error_indication:
                log.warning("notification failed", kind=self.notify_type, to=str(target.transport_addr), error=str(error_indication))
            else:
                self.traps_sent += 1

    # -- rendering ------------------------------------------------------------------------

    def _define_static(self) -> None:
        """Every instance that exists for the topology, with configuration values filled in."""
        for c in so.GATEWAY_SCALARS:
            self.store.define(c.oid + (0,), c.wire_type)
        for u in self.topology.upses:
            for c in so.UPS_COLUMNS[1:]:
                self.store.define(c.oid + (u.index,), c.wire_type)
            self.store.set(so.column("btmsUpsName").oid + (u.index,), u.name)
            for c in so.UPS_BATTERY:
                self.ups_stores[u.index].define(c.oid + (0,), c.wire_type)
        for s in self.topology.strings:
            ups_index = self.topology.ups(s.ups_id).index
            for c in so.STRING_COLUMNS[1:]:
                self.store.define(c.oid + (s.index,), c.wire_type)
            self.store.set(so.column("btmsStringName").oid + (s.index,), s.name)
            self.store.set(so.column("btmsStringUpsIndex").oid + (s.index,), ups_index)
            self.store.set(so.column("btmsStringCellCount").oid + (s.index,), s.battery.count)
            for c in so.CELL_COLUMNS[1:]:
                for cell in range(1, s.battery.count + 1):
                    self.store.define(c.oid + (s.index, cell), c.wire_type)

    def render_pending(self) -> None:
        """Put every string status received since the last request into the OID store."""
        if not self._unrendered:
            return
        now = time.monotonic()
        for string_id in self._unrendered:
            self._render_string(self.topology.string(string_id).index, self._strings[string_id],
                                self.string_freshness.is_stale(string_id, now))
        self._unrendered.clear()
        self._render_gateway(now)

    def _render_all(self) -> None:
        now = time.monotonic()
        for s in self.topology.strings:
            self._render_string(s.index, self._strings[s.id], self.string_freshness.is_stale(s.id, now))
        for u in self.topology.upses:
            self._render_ups(u.id)
        self._render_gateway()

    def _render_string(self, index: int, status: StringStatus | None, stale: bool) -> None:
        store = self.store
        for name, value in string_row(status, stale).items():
            store.set(so.column(name).oid + (index,), value)
        last_fresh = self._last_fresh.get(index)
        if last_fresh is not None:  # kept while stale: when the string was last heard of
            store.set(so.column("btmsStringTimestamp").oid + (index,), int(last_fresh[0]))
            store.set(so.column("btmsStringScanCounter").oid + (index,), last_fresh[1] & 0xFFFFFFFF)
        elif status is None:
            store.set(so.column("btmsStringTimestamp").oid + (index,), 0)
        self._render_cells(index, self._cell_counts[index], None if stale else status)

    def _render_cells(self, index: int, count: int, s: StringStatus | None) -> None:
        set_ = self.store.set
        cols = [c.oid for c in so.CELL_COLUMNS[1:]]  # status, V, R, T, SOC, SOH, faults
        have = len(s.cell_health) if s is not None else 0
        for i in range(count):
            key = (index, i + 1)
            if (s is not None and i < have and s.cell_health[i] != Health.STALE
                    and not s.cell_faults[i] & NO_RESPONSE):
                v, r, t = served_cell_values(s.cell_faults[i], s.cell_voltage_mv[i], s.cell_resistance_uohm[i],
                                             s.cell_temperature_dc[i])
                row = (int(s.cell_health[i]), v, r, t, s.cell_soc_pct[i], s.cell_soh_pct[i], s.cell_faults[i])
            else:
                faults = s.cell_faults[i] if s is not None and i < len(s.cell_faults) else None
                row = (int(Health.STALE), None, None, None, None, None, faults)
            for oid, value in zip(cols, row):
                set_(oid + key, value)

    def _render_ups(self, ups_id: str, now: float | None = None) -> None:
        cfg = self.topology.ups(ups_id)
        status = self._upses[ups_id]
        now = time.monotonic() if now is None else now
        stale = self.ups_freshness.is_stale(ups_id, now)
        for name, value in ups_row(status, stale).items():
            self.store.set(so.column(name).oid + (cfg.index,), value)
        if status is not None and not stale:
            self.store.set(so.column("btmsUpsTimestamp").oid + (cfg.index,), int(status.timestamp))
        elif status is None:
            self.store.set(so.column("btmsUpsTimestamp").oid + (cfg.index,), 0)
        strings = [
            st for st in (self._strings[s.id] for s in cfg.strings)
            if st is not None and not self.string_freshness.is_stale(st.string_id, now)
        ]
        capacity = sum(s.battery.capacity_ah for s in cfg.strings)  # strings in parallel
        battery = ups_battery_group(status, stale, strings, capacity, self._on_battery_since[ups_id], time.time())
        store = self.ups_stores[cfg.index]
        for c in so.UPS_BATTERY:
            store.set(c.oid + (0,), battery[c.name])

    def _render_gateway(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        stale = self.string_freshness.stale_count(now)
        error = stale > 0 or any(st is not None and st.health == Health.ERROR for st in self._strings.values())
        active, unacknowledged = self.alarms.counts()
        values = {
            "btmsGwStatus": int(Health.ERROR if error else Health.OK),
            "btmsGwStringCount": len(self._strings),
            "btmsGwUpsCount": len(self._upses),
            "btmsGwActiveAlarms": active,
            "btmsGwUnacknowledgedAlarms": unacknowledged,
            "btmsGwStaleStrings": stale,
            "btmsGwLastUpdate": int(self._last_update),
        }
        for name, value in values.items():
            self.store.set(so.column(name).oid + (0,), value)

    def tick(self, now: float | None = None) -> None:
        """Strings and UPSes that stopped sending statuses become stale.

        `now`: the monotonic time to judge staleness at (tests look ahead without waiting).
        """
        now = time.monotonic() if now is None else now
        for string_id in self.string_freshness.went_stale(now):
            log.warning("no status from string: served as stale", string=string_id,
                        after_s=self.string_freshness.thresholds[string_id])
            self._render_string(self.topology.string(str(string_id)).index, self._strings[str(string_id)], True)
            self._unrendered.discard(str(string_id))
        for u in self.topology.upses:
            self._render_ups(u.id, now)  # upsSecondsOnBattery counts on
        self._render_gateway(now)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.tick()

