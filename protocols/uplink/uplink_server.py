"""The uplink as the uplink actor hosts it: outbox, recorder and edge node in one event loop.

The shape of the other served protocols (start, stop, apply): the actor hands it the site's
statuses and alarm notices; what it says back goes through `post`: the link's state for the
gateway to serve (UplinkLinkState), and the "Uplink buffer overflow" alarm when the outbox had
to drop records (cleared once the outbox has been sent empty).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from battery.alarms.kinds import AlarmKind
from battery.alarms.records import AlarmCleared, AlarmNotice, AlarmRaised
from battery.served_site import UplinkLink
from battery.site import Topology
from battery.status import StringStatus, UpsStatus
from protocols.uplink.edge_node import EdgeNode, LinkStatus
from protocols.uplink.recorder import Recorder
from protocols.uplink.uplink_settings import uplink_settings
from storage.outbox import OUTBOX_FILE, Dropped, Outbox

MIB = 1024 * 1024
REPORT_PERIOD_S = 1.0


class UplinkServer:
    def __init__(self, topology: Topology, post: Callable[[Any], None], clock: Callable[[], float] = time.time) -> None:
        if topology.services.uplink is None:
            raise ValueError("the topology has no services.uplink")
        self.topology = topology
        self.config = topology.services.uplink
        self.post = post
        self.clock = clock
        self.edge: EdgeNode | None = None
        self.recorder = Recorder(topology, self.config, clock)
        self._outbox: Outbox | None = None
        self._tasks: list[asyncio.Task] = []
        self._reported: LinkStatus | None = None
        self._overflow_active = False
        self.where = ""

    async def start(self) -> None:
        """Raises OSError when the link cannot be set up at all (a certificate file, a secrets file)."""
        try:
            settings = uplink_settings(self.topology)
            outbox = Outbox(self.topology.storage_dir() / OUTBOX_FILE, int(self.config.outbox_max_mb * MIB))
        except ValueError as error:
            raise OSError(f"uplink: {error}") from None
        self.where = settings.where
        self._outbox = outbox
        self.edge = EdgeNode(settings, self.recorder, outbox, self._status_changed, self._overflow, self.clock)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self.edge.run()),
            loop.create_task(self._periods()),
            loop.create_task(self._reports()),
        ]
        self._status_changed(self.edge.status())

    async def stop(self) -> None:
        if self.edge is not None:
            await self.edge.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None

    def apply(self, message: Any) -> None:
        if self.edge is None:
            return
        if isinstance(message, StringStatus):
            records = self.recorder.apply_string(message)
        elif isinstance(message, UpsStatus):
            records = self.recorder.apply_ups(message)
        elif isinstance(message, AlarmNotice):
            records = self.recorder.apply_alarm(message)
        else:
            return
        self.edge.store(records)

    async def _periods(self) -> None:
        while True:
            await asyncio.sleep(self.config.data_period_s)
            if self.edge is not None:
                self.edge.store(self.recorder.period())

    async def _reports(self) -> None:
        while True:
            await asyncio.sleep(REPORT_PERIOD_S)
            if self.edge is not None:
                self._status_changed(self.edge.status())

    def _status_changed(self, status: LinkStatus) -> None:
        if status == self._reported:
            return
        self._reported = status
        self.post(UplinkLink(status.state, status.outbox_records, status.dropped_records, status.detail))

    def _overflow(self, active: bool, dropped: Dropped) -> None:
        if active == self._overflow_active:
            return
        self._overflow_active = active
        kind = AlarmRaised if active else AlarmCleared
        value = float(dropped.total) if active else 0.0
        limit = self.config.outbox_max_mb
        self.post(kind(AlarmKind.UPLINK_BUFFER_OVERFLOW.value, None, None, None, value, limit, self.clock()))
