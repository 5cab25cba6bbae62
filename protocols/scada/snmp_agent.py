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
columns of the row are absent (GET answers noSuchInstance, walks skip them). The statuses, their
freshness, the active alarms and the gateway status are the agent's ServedSite
(battery/served_site.py), rendered on request and on the 1 s tick as the Modbus server's are
(protocols/scada/site_renderer.py); which cell readings are measurements is
protocols/scada/served_values.py, whether a cell answered battery/plausibility.py.

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

from battery.alarms.active import notifies
from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.plausibility import cell_answered
from battery.site import SnmpConfig, Topology
from battery.status import StringStatus, UpsStatus
from observability.product import product_description
from protocols.scada import snmp_oids as so
from protocols.scada.served_values import served_cell_values
from protocols.scada.site_renderer import SiteRenderer
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


class BtmsSnmpAgent(SiteRenderer):
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
        super().__init__(topology, "btms.snmp", stale_after_s)
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
        self.receivers = tuple(_parse_receiver(r) for r in self.config.trap_receivers)
        self.store = OidStore((so.ENTERPRISE,))
        self.ups_stores: dict[int, OidStore] = {u.index: OidStore((so.UPS_MIB_BATTERY,)) for u in topology.upses}
        self._on_battery_since: dict[str, float | None] = {u.id: None for u in topology.upses}
        self._engine: engine.SnmpEngine | None = None
        self._socket: socket.socket | None = None
        self._targets: list[Any] = []
        self._ticker: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        self.store.before_read = self.render_pending  # every request, before OIDs are read
        self.traps_sent = 0
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
        self._ticker = asyncio.create_task(self.tick_forever(), name="snmp-staleness")
        # Names only: communities and passphrases are never logged.
        self.log.info(
            "agent listening",
            host=self.config.host,
            port=self.port,
            v2c=bool(self.config.read_community),
            v3_users=[u.name for u in self.v3_users],
            ups_contexts=[f"ups{i}" for i in self.ups_stores],
        )

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

    # -- data in (apply, render_pending and tick are SiteRenderer's) ---------------------

    def ups_received(self, status: UpsStatus) -> None:
        self._track_on_battery(status)
        self._render_ups(status.ups_id, self.site.now())

    def _track_on_battery(self, status: UpsStatus) -> None:
        discharging = (
            status.health != Health.STALE and status.current_a is not None and status.current_a < DISCHARGE_CURRENT_A
        )
        since = self._on_battery_since[status.ups_id]
        if discharging and since is None:
            self._on_battery_since[status.ups_id] = time.time()
        elif not discharging:
            self._on_battery_since[status.ups_id] = None

    def alarm_received(self, notice: AlarmNotice, changed: bool) -> None:
        row = alarm_row(notice, self.topology)
        if changed:
            if notice.alarm_id in self.site.alarms:
                for c in so.ALARM_COLUMNS[1:]:
                    self.store.define(c.oid + (notice.alarm_id,), c.wire_type, row[c.name])
            else:
                for c in so.ALARM_COLUMNS[1:]:
                    self.store.remove(c.oid + (notice.alarm_id,))
            self.render_gateway(self.site.now())
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
                self.log.warning(
                    "notification failed",
                    kind=self.notify_type,
                    to=str(target.transport_addr),
                    error=str(error_indication),
                )
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

    def _render_all(self) -> None:
        now = self.site.now()
        for s in self.topology.strings:
            self.render_string(s.id, now)
        for u in self.topology.upses:
            self._render_ups(u.id, now)
        self.render_gateway(now)

    def render_string(self, string_id: str, now: float) -> None:
        config = self.topology.string(string_id)
        index, status = config.index, self.site.string(string_id)
        stale = self.site.is_string_stale(string_id, now)
        store = self.store
        for name, value in string_row(status, stale).items():
            store.set(so.column(name).oid + (index,), value)
        last_fresh = self.site.string_last_fresh(string_id)
        if last_fresh is not None:  # kept while stale: when the string was last heard of
            store.set(so.column("btmsStringTimestamp").oid + (index,), int(last_fresh.timestamp))
            store.set(so.column("btmsStringScanCounter").oid + (index,), last_fresh.scan_no & 0xFFFFFFFF)
        elif status is None:
            store.set(so.column("btmsStringTimestamp").oid + (index,), 0)
        self._render_cells(index, config.battery.count, None if stale else status)

    def _render_cells(self, index: int, count: int, s: StringStatus | None) -> None:
        set_ = self.store.set
        cols = [c.oid for c in so.CELL_COLUMNS[1:]]  # status, V, R, T, SOC, SOH, faults
        have = len(s.cell_health) if s is not None else 0
        for i in range(count):
            key = (index, i + 1)
            if s is not None and i < have and cell_answered(s.cell_health[i], s.cell_faults[i]):
                v, r, t = served_cell_values(
                    s.cell_faults[i], s.cell_voltage_mv[i], s.cell_resistance_uohm[i], s.cell_temperature_dc[i]
                )
                row = (int(s.cell_health[i]), v, r, t, s.cell_soc_pct[i], s.cell_soh_pct[i], s.cell_faults[i])
            else:
                faults = s.cell_faults[i] if s is not None and i < len(s.cell_faults) else None
                row = (int(Health.STALE), None, None, None, None, None, faults)
            for oid, value in zip(cols, row):
                set_(oid + key, value)

    def _render_ups(self, ups_id: str, now: float) -> None:
        cfg = self.topology.ups(ups_id)
        status = self.site.ups(ups_id)
        stale = self.site.is_ups_stale(ups_id, now)
        for name, value in ups_row(status, stale).items():
            self.store.set(so.column(name).oid + (cfg.index,), value)
        if status is not None and not stale:
            self.store.set(so.column("btmsUpsTimestamp").oid + (cfg.index,), int(status.timestamp))
        elif status is None:
            self.store.set(so.column("btmsUpsTimestamp").oid + (cfg.index,), 0)
        strings = [
            st
            for st in (self.site.string(s.id) for s in cfg.strings)
            if st is not None and not self.site.is_string_stale(st.string_id, now)
        ]
        capacity = sum(s.battery.capacity_ah for s in cfg.strings)  # strings in parallel
        battery = ups_battery_group(status, stale, strings, capacity, self._on_battery_since[ups_id], time.time())
        store = self.ups_stores[cfg.index]
        for c in so.UPS_BATTERY:
            store.set(c.oid + (0,), battery[c.name])

    def render_gateway(self, now: float) -> None:
        gateway = self.site.gateway_status(now)
        values = {
            "btmsGwStatus": int(gateway.health),
            "btmsGwStringCount": gateway.string_count,
            "btmsGwUpsCount": gateway.ups_count,
            "btmsGwActiveAlarms": gateway.active_alarms,
            "btmsGwUnacknowledgedAlarms": gateway.unacknowledged_alarms,
            "btmsGwStaleStrings": gateway.stale_strings,
            "btmsGwLastUpdate": int(gateway.last_update),
            "btmsGwUplinkState": gateway.uplink.state.value,
            "btmsGwUplinkOutbox": gateway.uplink.outbox_records,
        }
        for name, value in values.items():
            self.store.set(so.column(name).oid + (0,), value)

    def ticked(self, stale_upses: tuple[str, ...], now: float) -> None:
        """The 1 s tick: every UPS is rendered (upsSecondsOnBattery counts on), then the gateway."""
        for u in self.topology.upses:
            self._render_ups(u.id, now)
        self.render_gateway(now)
