"""The skeleton the Modbus server and the SNMP agent share: a ServedSite rendered into a store.

The state is battery/served_site.py's; a server only says how a string, a UPS and the gateway
are rendered into its registers or OIDs. What this class decides, once for both:
- a string status is rendered when a request comes (`render_pending`, which the server calls
  before every read), not when it arrives: a gateway nobody polls does not pack 3,840 cells a
  second;
- once a second (`tick`) a string that stopped sending statuses is rendered as stale, with a
  warning naming it and its threshold;
- a status of a string or UPS that is not configured, and an alarm notice with an unknown event,
  are logged and ignored.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import Any

from battery.alarms.records import AlarmNotice
from battery.served_site import ServedSite, UplinkLink
from battery.site import Topology
from battery.status import StringStatus, UpsStatus
from observability.log import get_logger


class SiteRenderer(ABC):
    """Holds the server's ServedSite; subclasses render it (register words, OID values)."""

    def __init__(self, topology: Topology, logger_name: str, stale_after_s: float | None = None) -> None:
        """`stale_after_s`: one threshold for every string and UPS (tests); by default each
        string's comes from its bus' scan period (battery/freshness.py)."""
        self.site = ServedSite(topology, time.monotonic, stale_after_s=stale_after_s)
        self.log = get_logger(logger_name)

    # -- what a server renders ----------------------------------------------------------------

    @abstractmethod
    def render_string(self, string_id: str, now: float) -> None: ...

    @abstractmethod
    def render_gateway(self, now: float) -> None: ...

    @abstractmethod
    def ups_received(self, status: UpsStatus) -> None:
        """A configured UPS's status was applied."""

    @abstractmethod
    def alarm_received(self, notice: AlarmNotice, changed: bool) -> None:
        """An alarm notice was applied; `changed`: the active alarms changed."""

    @abstractmethod
    def ticked(self, stale_upses: tuple[str, ...], now: float) -> None:
        """The end of the 1 s tick: `stale_upses` went stale since the last one."""

    # -- data in -------------------------------------------------------------------------------

    def apply(self, message: Any) -> None:
        """A message from the gateway: StringStatus, UpsStatus, AlarmNotice, UplinkLink; others are ignored."""
        if isinstance(message, StringStatus):
            if not self.site.apply_string(message):
                self.log.warning("status of an unknown string ignored", string=message.string_id)
        elif isinstance(message, UpsStatus):
            if not self.site.apply_ups(message):
                self.log.warning("status of an unknown UPS ignored", ups=message.ups_id)
                return
            self.ups_received(message)
        elif isinstance(message, UplinkLink):
            if self.site.apply_uplink(message):
                self.render_gateway(self.site.now())
        elif isinstance(message, AlarmNotice):
            try:
                changed = self.site.apply_alarm(message)
            except ValueError as exc:
                self.log.warning("alarm notice ignored", error=str(exc))
                return
            self.alarm_received(message, changed)

    def render_pending(self) -> None:
        """Render every string whose status arrived since the last request."""
        strings = self.site.take_unrendered()
        if not strings:
            return
        now = self.site.now()
        for string_id in strings:
            self.render_string(string_id, now)
        self.render_gateway(now)

    def tick(self, now: float | None = None) -> None:
        """Once per second: strings and UPSes that went quiet are rendered as stale.

        `now`: the monotonic time to judge staleness at (tests look ahead without waiting).
        """
        now = self.site.now() if now is None else now
        went = self.site.went_stale(now)
        for string_id in went.strings:
            self.log.warning(
                "no status from string: served as stale",
                string=string_id,
                after_s=self.site.string_stale_after_s(string_id),
            )
            self.render_string(string_id, now)
        self.ticked(went.upses, now)

    async def tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.tick()
