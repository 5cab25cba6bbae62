"""Gateway: the root of the actor tree of one BM-GW, built from topology.yaml.

It creates and supervises its children (one FieldBus per bus, one Ups per UPS, the master
controller, the protocol actors), keeps the latest status of every UPS and string, fans each
scan's UpsUpdates out to its subscribers as one SiteUpdate, and routes commands down (a string relay goes to the master
controller). A child that dies is re-created with its configuration; a re-created FieldBus is
announced to everyone who sends to it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited

from actors.base.forking import prepare_to_fork
from actors.base.supervision import RestartPolicy, child_named, find_name, replace_child
from actors.device.fieldbus import FieldBus
from actors.device.master_controller import MasterController
from actors.messages.down import (
    AlarmManagerChanged,
    BusAddressChanged,
    Heartbeat,
    InitAlarmManager,
    InitFieldBus,
    InitGateway,
    InitHistorian,
    InitMasterController,
    InitModbusServer,
    InitNotifier,
    InitSnmpAgent,
    InitUplink,
    InitUps,
    InitWebServer,
    LogAction,
    ReloadNotificationSettings,
    SendTestNotification,
    SetSiren,
    SetSnmpConfig,
    SettingsChanged,
)
from actors.messages.service import (
    ALARMS,
    SITE,
    TOPICS,
    BusStats,
    GetBusStats,
    InjectSimFault,
    LocateString,
    NotificationTestResult,
    RepublishActiveAlarms,
    SetSimInput,
    StringLocation,
    Subscribe,
)
from actors.messages.up import (
    GatewayReady,
    HeartbeatAnswer,
    ServiceFailed,
    ServiceStarted,
    SiteUpdate,
    StringMasterStarted,
    StringSnapshotSaved,
    UpsUpdate,
)
from actors.site.runtime_settings import POLL_PERIOD_S, RuntimeSettings
from actors.ups.ups import Ups
from battery.alarms.records import AlarmCleared, AlarmNotice, AlarmRaised
from battery.commands import AcknowledgeAlarm, SetStringRelay
from battery.freshness import stale_after_s
from battery.served_site import NO_UPLINK, LinkState, UplinkLink
from battery.site import BusConfig, Topology
from observability.log import configure_structlog, get_logger
from storage.history.disk_alarm import HistoryDiskAlarm
from storage.snapshot_file import load_snapshots, save_snapshots

# A service that fails says so at once (a taken port); this bounds only a silent one. 8 s was too
# short on a 2-core box under load, where a healthy SNMP agent took longer to start listening.
READY_TIMEOUT_S = 30.0
# If some UPSes have not reported a scan this long after the first did, publish what we have.
PUBLISH_AFTER_S = 0.3
SNAPSHOT_SAVE_PERIOD_S = 60.0


class Gateway(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.topology: Topology | None = None
        self.children: list[tuple[str, object]] = []
        # topic -> subscribers (addresses are unhashable: lists); a server gets only what it serves
        self.subscribers: dict[str, list] = {topic: [] for topic in TOPICS}
        self.latest_ups: dict = {}
        self.latest_strings: dict = {}
        self.string_masters: dict[str, tuple[object, int]] = {}
        self.snapshots: dict = {}  # string id -> StringSnapshot, saved to disk every minute
        self.pending_updates: dict[str, UpsUpdate] = {}
        self.publish_armed = False
        # (reply type, request id, asker) waiting for a child's reply; addresses are unhashable
        self.askers: list[tuple[type, int, object]] = []
        self.policy = RestartPolicy()
        self.factories: dict = {}  # child name -> () -> (actor class, Init message); built on first spawn
        self.exiting = False  # after ActorExitRequest, children exit for good: never re-create them
        self.ready_to = None
        self.uplink_link = NO_UPLINK  # the latest state of the link to the aggregator
        self.services_expected: set[str] = set()
        self.services_reported: dict[str, str | None] = {}
        self.runtime_settings: RuntimeSettings | None = None
        self.log = get_logger("btms.gateway")

    # -- building the tree ------------------------------------------------------------------

    def receiveMsg_InitGateway(self, message: InitGateway, sender):
        self.topology = message.topology
        self.ready_to = sender
        self.log = get_logger("btms.gateway", gateway=self.topology.gateway.id)
        try:
            self.snapshots = load_snapshots(self.topology.storage_dir())
        except ValueError as error:  # a damaged file must not stop the gateway: start from scratch
            self.log.error("string snapshots not restored", error=str(error))
        self.runtime_settings = RuntimeSettings(self.topology, self.topology.storage_dir() / "settings.db")
        self.runtime_settings.poll()  # before the UPSes: they start with the stored alarm limits
        self._spawn("alarms")  # first: the tree below sends its alarm events straight to it
        self._spawn("notifier")
        self._spawn("historian")
        for bus in self.topology.buses:
            self._spawn(f"bus:{bus.id}")
        if self.topology.master_controller is not None:
            self._spawn("master_controller")
        for ups in self.topology.upses:
            self._spawn(f"ups:{ups.id}")
        for name in self._service_names():
            self.services_expected.add(name)
            self._spawn(name)
        self.log.info("actor tree created", children=[n for n, _ in self.children])
        self.wakeupAfter(timedelta(seconds=SNAPSHOT_SAVE_PERIOD_S), payload="save-snapshots")
        self.wakeupAfter(timedelta(seconds=POLL_PERIOD_S), payload="settings-poll")
        if self.services_expected:
            self.wakeupAfter(timedelta(seconds=READY_TIMEOUT_S), payload="ready-timeout")
        else:
            self._report_ready()

    def _service_names(self) -> list[str]:
        s = self.topology.services
        return [
            name
            for name, enabled in (
                ("web", s.web.enabled),
                ("modbus", s.modbus.enabled),
                ("snmp", s.snmp.enabled),
                ("uplink", s.uplink is not None),
            )
            if enabled
        ]

    def _factories(self) -> dict[str, Callable[[], tuple[type, object]]]:
        t = self.topology
        factories: dict[str, Callable[[], tuple[type, object]]] = {}
        for bus in t.buses:
            strings = tuple(s for s in t.strings if s.bus == bus.id)
            mc = t.master_controller if t.master_controller and t.master_controller.bus == bus.id else None
            factories[f"bus:{bus.id}"] = lambda bus=bus, strings=strings, mc=mc: (
                FieldBus,
                InitFieldBus(bus, strings, mc, t),
            )
        for ups in t.upses:
            factories[f"ups:{ups.id}"] = lambda ups=ups: (
                Ups,
                InitUps(
                    self.runtime_settings.ups_config(ups),
                    self._bus_addresses(),
                    self.myAddress,
                    child_named(self.children, "alarms"),
                    string_snapshots=tuple((s.id, self.snapshots[s.id]) for s in ups.strings if s.id in self.snapshots),
                    communication_lost_after_s=tuple((b.id, communication_lost_after_s(b)) for b in t.buses),
                    stale_after_s=max(stale_after_s(t.bus(s.bus).scan_period_s) for s in ups.strings),
                ),
            )
        if t.master_controller is not None:
            factories["master_controller"] = lambda: (
                MasterController,
                InitMasterController(
                    t.master_controller,
                    child_named(self.children, f"bus:{t.master_controller.bus}"),
                    t,
                    child_named(self.children, "alarms"),
                ),
            )
        factories["web"] = lambda: (_web_server_class(), InitWebServer(t))
        factories["modbus"] = lambda: (_class("actors.site.modbus_server", "ModbusServerActor"), InitModbusServer(t))
        factories["snmp"] = lambda: (
            _class("actors.site.snmp_agent", "SnmpAgentActor"),
            InitSnmpAgent(self.runtime_settings.snmp_topology()),
        )
        factories["uplink"] = lambda: (_class("actors.site.uplink", "UplinkActor"), InitUplink(t))
        settings_db = str(t.storage_dir() / "settings.db")
        factories["alarms"] = lambda: (
            _class("actors.site.alarm_manager", "AlarmManager"),
            InitAlarmManager(t, settings_db),
        )
        factories["historian"] = lambda: (
            _class("actors.site.historian", "Historian"),
            InitHistorian(
                str(t.storage_dir()),
                t.storage.retention_days,
                t.storage.min_free_mb,
                t,
                commit_interval_s=t.storage.commit_interval_s,
                alarm_sink=self.myAddress,
            ),
        )
        factories["notifier"] = lambda: (
            _class("actors.site.notifier", "Notifier"),
            InitNotifier(settings_db, t.gateway.name),
        )
        return factories

    def _bus_addresses(self) -> tuple[tuple[str, object], ...]:
        return tuple((b.id, child_named(self.children, f"bus:{b.id}")) for b in self.topology.buses)

    def _spawn(self, name: str) -> None:
        if not self.factories:
            self.factories = self._factories()
        actor_class, init = self.factories[name]()
        prepare_to_fork()
        address = self.createActor(actor_class)
        replace_child(self.children, name, address)
        self.send(address, init)
        if name == "historian":  # it does not subscribe itself: it only listens
            self.subscribers[SITE].append(address)
        announcement = None
        if name.startswith("bus:"):
            announcement = BusAddressChanged(name[4:], address)
        elif name == "alarms":
            announcement = AlarmManagerChanged(address)
        if announcement is not None:
            for other, child in self.children:
                if (other.startswith("ups:") or other == "master_controller") and child is not None:
                    self.send(child, announcement)

    # -- supervision ------------------------------------------------------------------------

    def receiveMsg_ChildActorExited(self, message: ChildActorExited, sender):
        name = find_name(self.children, message.childAddress)
        if name is None or self.exiting:
            return
        for topic, subscribers in self.subscribers.items():
            self.subscribers[topic] = [s for s in subscribers if s != message.childAddress]
        replace_child(self.children, name, None)
        delay = self.policy.delay_before_restart(name, time.monotonic())
        self.log.warning("child exited, re-creating it", child=name, delay_s=delay)
        if delay:
            self.wakeupAfter(timedelta(seconds=delay), payload=("restart", name))
        else:
            self._spawn(name)

    def receiveMsg_WakeupMessage(self, message, sender):
        if message.payload == "save-snapshots":
            self._save_snapshots()
            self.wakeupAfter(timedelta(seconds=SNAPSHOT_SAVE_PERIOD_S), payload="save-snapshots")
        elif message.payload == "settings-poll":
            self._apply_runtime_settings()
            self.wakeupAfter(timedelta(seconds=POLL_PERIOD_S), payload="settings-poll")
        elif message.payload == "publish":
            self.publish_armed = False
            self._publish()
        elif message.payload == "ready-timeout":
            self._report_ready()
        elif isinstance(message.payload, tuple) and message.payload[0] == "restart":
            self._spawn(message.payload[1])

    def receiveMsg_ServiceStarted(self, message: ServiceStarted, sender):
        self.log.info("service started", service=message.name, detail=message.detail)
        self.services_reported[message.name] = None
        self._maybe_ready()

    def receiveMsg_ServiceFailed(self, message: ServiceFailed, sender):
        self.log.error("service failed", service=message.name, error=message.error)
        self.services_reported[message.name] = message.error
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        if self.ready_to is not None and self.services_expected <= set(self.services_reported):
            self._report_ready()

    def _report_ready(self) -> None:
        if self.ready_to is None:
            return
        failures = tuple(f"{n}: {e}" for n, e in self.services_reported.items() if e)
        missing = tuple(
            f"{n}: did not report within {READY_TIMEOUT_S:.0f} s"
            for n in self.services_expected - set(self.services_reported)
        )
        self.send(
            self.ready_to,
            GatewayReady(self.topology.gateway.id, tuple(n for n, _ in self.children), failures + missing),
        )
        self.ready_to = None

    def receiveMsg_SettingsChanged(self, message: SettingsChanged, sender):
        self._apply_runtime_settings()

    def _apply_runtime_settings(self) -> None:
        """Changed alarm limits go down to their string's UPS, SNMP settings to the agent; the
        notifier re-reads its settings."""
        changes, moved = self.runtime_settings.poll()
        for change in changes:
            if isinstance(change, SetSnmpConfig):
                self._to_child("snmp", change)
            else:
                self._to_child(f"ups:{self.topology.string(change.string_id).ups_id}", change)
        if moved:
            self._to_child("notifier", ReloadNotificationSettings())

    # -- data up and out --------------------------------------------------------------------

    def receiveMsg_Subscribe(self, message: Subscribe, sender):
        for topic in message.topics:
            if message.subscriber not in self.subscribers[topic]:
                self.subscribers[topic].append(message.subscriber)
        if SITE in message.topics and self.latest_ups:
            self.send(message.subscriber, self._current_site())
        if SITE in message.topics and self.uplink_link.state is not LinkState.NOT_CONFIGURED:
            self.send(message.subscriber, self.uplink_link)
        if ALARMS in message.topics:  # a (re)started server must also learn the alarms already active
            self._to_child("alarms", RepublishActiveAlarms(message.subscriber))

    def receiveMsg_UpsUpdate(self, message: UpsUpdate, sender):
        self.latest_ups[message.ups.ups_id] = message.ups
        for string in message.strings:
            self.latest_strings[string.string_id] = string
        self.pending_updates[message.ups.ups_id] = message
        if len(self.pending_updates) >= len(self.topology.upses):
            self._publish()
        elif not self.publish_armed:
            self.publish_armed = True
            self.wakeupAfter(timedelta(seconds=PUBLISH_AFTER_S), payload="publish")

    def _publish(self) -> None:
        """One SiteUpdate per scan to each subscriber (messages cost per message, not per byte)."""
        if not self.pending_updates:
            return
        update = SiteUpdate(tuple(self.pending_updates.values()))
        self.pending_updates = {}
        for subscriber in self.subscribers[SITE]:
            self.send(subscriber, update)

    def _current_site(self) -> SiteUpdate:
        updates = []
        for ups_id, ups in self.latest_ups.items():
            strings = tuple(s for s in self.latest_strings.values() if s.ups_id == ups_id)
            updates.append(UpsUpdate(ups, strings))
        return SiteUpdate(tuple(updates))

    def receiveMsg_StringMasterStarted(self, message: StringMasterStarted, sender):
        self.string_masters[message.string_id] = (message.address, message.pid)

    def receiveMsg_LocateString(self, message: LocateString, sender):
        address, pid = self.string_masters.get(message.string_id, (None, 0))
        self.send(sender, StringLocation(message.request_id, message.string_id, address, pid))

    # -- alarms -----------------------------------------------------------------------------

    def receiveMsg_AcknowledgeAlarm(self, message: AcknowledgeAlarm, sender):
        self._to_child("alarms", message)

    def receiveMsg_SendTestNotification(self, message: SendTestNotification, sender):
        """A settings page's "test e-mail/SMS": the notifier's answer goes back to the asker."""
        self.askers.append((NotificationTestResult, message.request_id, sender))
        self._to_child("notifier", message)

    def receiveMsg_NotificationTestResult(self, message: NotificationTestResult, sender):
        self._reply_to_asker(message.request_id, message)

    def receiveMsg_StringSnapshotSaved(self, message: StringSnapshotSaved, sender):
        self.snapshots[message.string_id] = message.snapshot

    def _save_snapshots(self) -> None:
        if not self.snapshots:
            return
        try:
            save_snapshots(self.topology.storage_dir(), self.snapshots)
        except OSError as error:  # a full or read-only disk: keep running, say so
            self.log.error("string snapshots not saved", error=str(error))

    def receiveMsg_HistoryDiskAlarm(self, message: HistoryDiskAlarm, sender):
        """The storage disk's free-space floor: a site-level alarm like any other.

        Its identity has no detail: the raise and the clear must name the same alarm (the text
        differs between them and goes to the log)."""
        self.log.warning("storage space", active=message.active, text=message.text)
        kind = AlarmRaised if message.active else AlarmCleared
        self._to_child(
            "alarms", kind("storage_space_low", None, None, None, message.free_mb, message.floor_mb, time.time())
        )

    def receiveMsg_UplinkLink(self, message: UplinkLink, sender):
        """The uplink's state: every server shows it (API, Modbus, SNMP), as the gateway's own status."""
        if message.state != self.uplink_link.state:
            self.log.info("uplink", state=message.state.name.lower(), detail=message.detail)
        self.uplink_link = message
        for subscriber in self.subscribers[SITE]:
            self.send(subscriber, message)

    def receiveMsg_AlarmRaised(self, message: AlarmRaised, sender):
        """A site alarm of a protocol actor (the uplink's buffer overflow): to the alarm manager."""
        self._to_child("alarms", message)

    def receiveMsg_AlarmCleared(self, message: AlarmCleared, sender):
        self._to_child("alarms", message)

    def receiveMsg_AlarmNotice(self, message: AlarmNotice, sender):
        for subscriber in self.subscribers[ALARMS]:
            self.send(subscriber, message)

    def receiveMsg_SetSiren(self, message: SetSiren, sender):
        self._to_child("master_controller", message)

    def _to_child(self, name: str, message) -> None:
        child = child_named(self.children, name)
        if child is None:
            self.log.error("message for a child that is not running", child=name, message=type(message).__name__)
            return
        self.send(child, message)

    # -- commands down ----------------------------------------------------------------------

    def receiveMsg_SetStringRelay(self, message: SetStringRelay, sender):
        self._to_child("master_controller", message)
        if sender != child_named(self.children, "alarms"):  # the AlarmManager logs its own actions
            action = "switch_on" if message.closed else "switch_off"
            self._to_child("alarms", LogAction(action, message.reason, message.string_id, time.time()))

    def receiveMsg_InjectSimFault(self, message: InjectSimFault, sender):
        self._to_child(f"bus:{self.topology.string(message.string_id).bus}", message)

    def receiveMsg_SetSimInput(self, message: SetSimInput, sender):
        if self.topology.master_controller is not None:
            self._to_child(f"bus:{self.topology.master_controller.bus}", message)

    def receiveMsg_GetBusStats(self, message: GetBusStats, sender):
        """Ask every FieldBus; each BusStats goes back to the asker (diagnostics, benchmarks)."""
        for name, child in self.children:
            if name.startswith("bus:") and child is not None:
                self.askers.append((BusStats, message.request_id, sender))
                self.send(child, message)

    def receiveMsg_BusStats(self, message: BusStats, sender):
        self._reply_to_asker(message.request_id, message)

    def _reply_to_asker(self, request_id: int, reply) -> None:
        for i, (reply_type, waiting_id, asker) in enumerate(self.askers):
            if waiting_id == request_id and isinstance(reply, reply_type):
                del self.askers[i]
                self.send(asker, reply)
                return

    def receiveMsg_Heartbeat(self, message: Heartbeat, sender):
        """The main program's liveness check: a gateway that stops answering gets restarted."""
        self.send(sender, HeartbeatAnswer(message.sequence, "gateway", os.getpid(), os.getppid()))

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        self.exiting = True
        self._save_snapshots()
        self.log.info("gateway stopping")


def communication_lost_after_s(bus: BusConfig) -> float:
    """The cells' "communication lost" delay. The field bus counts the misses of the devices it
    polls, but a cell sensor is not one (its BM-SS reports which cells answered), so its cell
    alarm rule waits the time the bus's miss_limit takes: (miss_limit - 1) periods after the first miss."""
    return (bus.miss_limit - 1) * bus.scan_period_s


def _web_server_class() -> type:
    return _class("web.server_actor", "WebServer")


def _class(module: str, name: str) -> type:
    """Protocol actors are imported when first created: their stacks are heavy and unit tests
    of the tree do not need them."""
    import importlib

    return getattr(importlib.import_module(module), name)
