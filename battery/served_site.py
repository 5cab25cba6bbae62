"""What a server serves of the site: ONE state for the Modbus server, the SNMP agent and the web view.

Each server holds its own ServedSite (actors share no mutable state) and keeps only its protocol
code: register packing, OID rows, JSON. From the UpsStatus, StringStatus and AlarmNotice
messages the gateway publishes, a ServedSite keeps:
- the latest status of every configured UPS and string (a status of anything else is refused);
- freshness, by the one rule of battery/freshness.py, with ages counted on a monotonic clock so
  that a step of the wall clock (NTP correcting a gateway that booted without a valid clock, a
  virtual machine resumed) neither ages nor refreshes data. The SCADA servers count a status'
  age from its arrival and learn once a second (`went_stale`) what to re-render. The web view,
  which renders per request and may be given old statuses again when it restarts, lets a status
  arrive as old as its scan was on the wall clock then (`wall_clock`);
- when each string and UPS last sent fresh data (kept while stale: when it was last heard of),
  and the newest fresh string data of the site;
- the active alarms (battery/alarms/active.py) and each string's active alarm kinds, its own and
  per cell;
- which strings changed since their server last rendered them: packing a string's 120 cells
  waits until a request comes (`take_unrendered`), so a gateway nobody polls does no such work;
- the gateway status every protocol serves (`gateway_status`), with the uplink's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from battery.alarms.active import ActiveAlarms
from battery.alarms.records import AlarmNotice
from battery.codes import Health
from battery.freshness import freshness_trackers
from battery.site import Topology
from battery.status import StringStatus, UpsStatus


@dataclass(frozen=True)
class LastFresh:
    """The last fresh data of a string: when its scan started (UNIX seconds) and its number."""

    timestamp: float
    scan_no: int


@dataclass(frozen=True)
class StringAlarms:
    """The kinds of the active alarms of one string: its own, and per cell (cell 1 first)."""

    string_kinds: frozenset[str]
    cell_kinds: tuple[frozenset[str], ...]

    @property
    def any_cell_alarm(self) -> bool:
        return any(self.cell_kinds)


@dataclass(frozen=True)
class WentStale:
    """Strings and UPSes served as fresh until now whose data has become too old."""

    strings: tuple[str, ...]
    upses: tuple[str, ...]


class LinkState(Enum):
    """The uplink to the aggregator (docs/uplink.md); its value is what every protocol serves."""

    NOT_CONFIGURED = 0  # no services.uplink
    DOWN = 1  # no connection to the broker, or the broker refused it
    WAITING = 2  # connected, waiting for the primary host's STATE to say online
    CONNECTED = 3  # born: records flow to the aggregator


@dataclass(frozen=True)
class UplinkLink:
    """Uplink actor -> gateway -> subscribers: the link's state, sent when it changes and at most
    once a second while the outbox's depth changes."""

    state: LinkState
    outbox_records: int
    dropped_records: int  # dropped to keep the outbox within its size, since it was created
    detail: str  # why the link is down, or where it is connected


NO_UPLINK = UplinkLink(LinkState.NOT_CONFIGURED, 0, 0, "")


@dataclass(frozen=True)
class GatewayStatus:
    """What every protocol serves about the gateway itself."""

    health: Health  # OK, or ERROR while a string is stale or in error
    stale_strings: int
    active_alarms: int
    unacknowledged_alarms: int
    string_count: int
    ups_count: int
    last_update: float  # UNIX seconds of the newest fresh string data (0: none yet)
    uplink: UplinkLink = NO_UPLINK  # the link to the aggregator


class ServedSite:
    """The latest state of the site as one server serves it. Pure: no I/O, the clocks are given."""

    def __init__(
        self,
        topology: Topology,
        clock: Callable[[], float],
        *,
        wall_clock: Callable[[], float] | None = None,
        stale_after_s: float | None = None,
    ) -> None:
        """`clock`: monotonic seconds, which every age is counted on.
        `wall_clock`: UNIX seconds. Given, a status arrives already as old as its scan (wall now
        minus the scan's start, never below 0); without it, a status is new when it arrives.
        `stale_after_s`: one threshold for every string and UPS (tests); by default each
        string's comes from its bus' scan period (battery/freshness.py)."""
        self.topology = topology
        self.clock = clock
        self.wall_clock = wall_clock
        self._string_freshness, self._ups_freshness = freshness_trackers(topology, stale_after_s)
        self._strings: dict[str, StringStatus | None] = {s.id: None for s in topology.strings}
        self._upses: dict[str, UpsStatus | None] = {u.id: None for u in topology.upses}
        self._string_last_fresh: dict[str, LastFresh] = {}
        self._ups_last_fresh: dict[str, float] = {}
        self._cell_counts = {s.id: s.battery.count for s in topology.strings}
        self._string_alarms = {s.id: _no_alarms(s.battery.count) for s in topology.strings}
        self.alarms = ActiveAlarms()
        self.last_update = 0.0
        self._unrendered: set[str] = set()
        configured = topology.services.uplink is not None
        self.uplink = UplinkLink(LinkState.DOWN, 0, 0, "not reported yet") if configured else NO_UPLINK

    def now(self) -> float:
        """Monotonic seconds now: what `is_*_stale` and `went_stale` compare with."""
        return self.clock()

    # -- data in ---------------------------------------------------------------------------

    def apply_string(self, status: StringStatus) -> bool:
        """Take a string's status; False (and nothing changes) for a string not configured."""
        string_id = status.string_id
        if string_id not in self._strings:
            return False
        self._strings[string_id] = status
        self._string_freshness.received(string_id, not status.stale, self._arrival(status.timestamp))
        if not status.stale:
            self._string_last_fresh[string_id] = LastFresh(status.timestamp, status.scan_no)
            self.last_update = max(self.last_update, status.timestamp)
        self._unrendered.add(string_id)
        return True

    def apply_ups(self, status: UpsStatus) -> bool:
        """Take a UPS's status; False (and nothing changes) for a UPS not configured."""
        if status.ups_id not in self._upses:
            return False
        self._upses[status.ups_id] = status
        fresh = status.health != Health.STALE
        self._ups_freshness.received(status.ups_id, fresh, self._arrival(status.timestamp))
        if fresh:
            self._ups_last_fresh[status.ups_id] = status.timestamp
        return True

    def apply_alarm(self, notice: AlarmNotice) -> bool:
        """Take an alarm notice; True when the active alarms changed.

        Raises ValueError for a notice whose event is unknown (nothing changes then).
        """
        changed = self.alarms.apply(notice)
        string_id = notice.string_id
        if changed and string_id in self._string_alarms:
            self._string_alarms[string_id] = self._alarms_of(string_id)
        return changed

    def apply_uplink(self, link: UplinkLink) -> bool:
        """Take the uplink's state; False (ignored) when this site has no uplink configured."""
        if self.uplink.state is LinkState.NOT_CONFIGURED:
            return False
        self.uplink = link
        return True

    def _arrival(self, scan_timestamp: float) -> float:
        """When, on the monotonic clock, the data of a scan started at `scan_timestamp` was new."""
        now = self.clock()
        if self.wall_clock is None:
            return now
        return now - max(0.0, self.wall_clock() - scan_timestamp)

    def _alarms_of(self, string_id: str) -> StringAlarms:
        count = self._cell_counts[string_id]
        own: set[str] = set()
        cells: list[set[str]] = [set() for _ in range(count)]
        for alarm in self.alarms.of_string(string_id):
            if alarm.cell_index is None:
                own.add(alarm.kind)
            elif 1 <= alarm.cell_index <= count:  # a cell the string does not have is no cell's
                cells[alarm.cell_index - 1].add(alarm.kind)
        return StringAlarms(frozenset(own), tuple(frozenset(c) for c in cells))

    # -- what is served ------------------------------------------------------------------------

    def string(self, string_id: str) -> StringStatus | None:
        """The latest status of a string (stale or not), None before the first one."""
        return self._strings[string_id]

    def ups(self, ups_id: str) -> UpsStatus | None:
        return self._upses[ups_id]

    def is_string_stale(self, string_id: str, now: float | None = None) -> bool:
        """No status yet, a status that says stale, or one older than the string's bus allows."""
        return self._string_freshness.is_stale(string_id, self.clock() if now is None else now)

    def is_ups_stale(self, ups_id: str, now: float | None = None) -> bool:
        return self._ups_freshness.is_stale(ups_id, self.clock() if now is None else now)

    def string_stale_after_s(self, string_id: str) -> float:
        return self._string_freshness.thresholds[string_id]

    def string_last_fresh(self, string_id: str) -> LastFresh | None:
        """The string's last fresh scan, None while it never sent one."""
        return self._string_last_fresh.get(string_id)

    def ups_last_fresh(self, ups_id: str) -> float | None:
        """UNIX seconds of the UPS's last fresh status, None while it never sent one."""
        return self._ups_last_fresh.get(ups_id)

    def string_alarms(self, string_id: str) -> StringAlarms:
        return self._string_alarms[string_id]

    def gateway_status(self, now: float | None = None) -> GatewayStatus:
        now = self.clock() if now is None else now
        stale = self._string_freshness.stale_count(now)
        in_error = any(s is not None and s.health == Health.ERROR for s in self._strings.values())
        active, unacknowledged = self.alarms.counts()
        return GatewayStatus(
            health=Health.ERROR if stale or in_error else Health.OK,
            stale_strings=stale,
            active_alarms=active,
            unacknowledged_alarms=unacknowledged,
            string_count=len(self._strings),
            ups_count=len(self._upses),
            last_update=self.last_update,
            uplink=self.uplink,
        )

    # -- what a server has to render -------------------------------------------------------------

    def take_unrendered(self) -> tuple[str, ...]:
        """The strings whose status arrived since the last call: the caller renders them now.

        Called before every request a server answers, so the usual answer, none, costs nothing.
        """
        if not self._unrendered:
            return ()
        out = tuple(self._unrendered)
        self._unrendered.clear()
        return out

    def went_stale(self, now: float | None = None) -> WentStale:
        """What the 1 s tick re-renders as stale (each reported once; a string reported here is
        no longer waiting in `take_unrendered`)."""
        now = self.clock() if now is None else now
        strings = tuple(str(k) for k in self._string_freshness.went_stale(now))
        self._unrendered.difference_update(strings)
        upses = tuple(str(k) for k in self._ups_freshness.went_stale(now))
        return WentStale(strings, upses)


def _no_alarms(cell_count: int) -> StringAlarms:
    return StringAlarms(frozenset(), (frozenset(),) * cell_count)
