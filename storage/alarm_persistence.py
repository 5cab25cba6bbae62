"""Writing the AlarmManager's queued changes to settings.db, whenever the disk lets it.

`flush` writes the queue (pending_writes.py) front to back in transactions of up to `BATCH`
entries. When a write fails the entries stay queued and the manager tries again later
(alarm_manager.serve); in between it does not try at every message, so a locked file never
holds up the alarms behind it. A "disk full" first gives up the space reserve
(space_reserve.py) and writes again at once; the reserve is made again after a flush that
emptied the queue, once there is room for it.

A failure is logged once when writes stop and once when they are taken again, with how long
that took and how many entries waited.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import structlog

from storage.alarm_store import AlarmRecord, AlarmStore
from storage.pending_writes import PendingWrites
from storage.space_reserve import SpaceReserve

_log = structlog.get_logger("gateway.alarms")

BATCH = 200  # entries per transaction: one commit for a burst of alarms


def is_disk_full(error: BaseException) -> bool:
    """SQLite's "database or disk is full", or the OS's "no space left on device"."""
    if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorname", "") == "SQLITE_FULL":
        return True
    return isinstance(error, OSError) and error.errno == 28  # ENOSPC


class AlarmPersistence:
    def __init__(
        self,
        store: AlarmStore,
        pending: PendingWrites,
        reserve: SpaceReserve | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.pending = pending
        self.reserve = reserve
        self._clock = clock
        self._failing_since: float | None = None  # monotonic time of the first failed write
        self._waited_most = 0

    @property
    def failing(self) -> bool:
        """The last write failed; the queue waits for the next retry."""
        return self._failing_since is not None

    async def flush(self, active_now: Callable[[], list[AlarmRecord]]) -> bool:
        """Write everything queued; True when the queue is empty afterwards.

        `active_now` gives the live active alarms, written whole after dropped entries.
        """
        while True:
            try:
                await self._write_queue(active_now)
                break
            except Exception as error:  # noqa: BLE001 - every cause keeps the entries and is retried
                if is_disk_full(error) and self.reserve is not None and self.reserve.release():
                    _log.warning(
                        "disk full: the alarm space reserve was given up to store the alarms",
                        reserve=str(self.reserve.path),
                        mib=round(self.reserve.size_bytes / (1 << 20), 1),
                        pending=len(self.pending),
                    )
                    continue
                self._failed(error)
                return False
        if self._failing_since is not None:
            _log.warning(
                "alarm writes taken again",
                after_s=round(time.monotonic() - self._failing_since, 1),
                waited=self._waited_most,
                dropped_so_far=self.pending.dropped,
            )
            self._failing_since = None
        if self.reserve is not None and not self.reserve.present:
            self.reserve.ensure()
        return True

    async def _write_queue(self, active_now: Callable[[], list[AlarmRecord]]) -> None:
        self._waited_most = max(self._waited_most if self.failing else 0, len(self.pending))
        if self.pending.resync_needed:
            await self.store.resync(active_now(), self._clock())
            self.pending.resync_needed = False
        while batch := self.pending.first(BATCH):
            await self.store.write([entry for _, entry in batch])
            self.pending.written(batch)

    def _failed(self, error: BaseException) -> None:
        if self._failing_since is not None:
            return
        self._failing_since = time.monotonic()
        expected = isinstance(error, (sqlite3.OperationalError, OSError))  # full, locked, I/O: no traceback
        _log.error(
            "alarms not stored yet: settings.db refused the write; they are acted on from memory and "
            "written as soon as it takes them",
            error=f"{type(error).__name__}: {error}",
            pending=len(self.pending),
            exc_info=not expected,
        )
