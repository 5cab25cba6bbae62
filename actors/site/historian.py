"""The Historian actor: the only writer of sample history (one process, one asyncio thread).

Thespian actors are synchronous; the writer (aiosqlite) runs in a daemon thread with its own
asyncio loop, as THESPIAN.md §3 describes. Scans go in with `loop.call_soon_threadsafe`
(microseconds, the actor never waits on SQLite). A HistorianFlush waits for the commit of
everything received so far, which tests and an orderly shutdown need. Disk-space alarms come
back from the loop through a queue that a 1 s timer drains (works on both system bases).

Messages that arrive before InitHistorian are held and replayed after it (THESPIAN.md §1).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, WakeupMessage

from actors.log import configure_structlog, get_logger
from actors.messages import (
    HistorianFlush,
    HistorianFlushed,
    HistoryDiskAlarm,
    InitHistorian,
    SiteUpdate,
    StringStatus,
    UpsStatus,
)
from actors.site.history.retention import RetentionPolicy
from actors.site.history.writer import HistoryWriter

_DRAIN_PERIOD = timedelta(seconds=1)
_FLUSH_TIMEOUT_S = 60.0


class Historian(ActorTypeDispatcher):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.log = get_logger("btms.historian")
        self.init: InitHistorian | None = None
        self.held: list[tuple[object, object]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.writer: HistoryWriter | None = None
        self.outbox: queue.SimpleQueue[HistoryDiskAlarm] = queue.SimpleQueue()
        self.ups_statuses = 0

    # ------------------------------------------------------------ configuration

    def receiveMsg_InitHistorian(self, msg: InitHistorian, sender: object) -> None:
        if self.init is not None:
            self.log.warning("Historian already initialised; ignoring a second InitHistorian")
            return
        self.init = msg
        self._start_writer(msg)
        self.wakeupAfter(_DRAIN_PERIOD, payload="drain")
        held, self.held = self.held, []
        for m, s in held:
            try:
                self.receiveMessage(m, s)
            except (ValueError, RuntimeError) as e:  # one bad held message must not lose the others
                self.log.error("held message failed", message=type(m).__name__, error=str(e))

    def _start_writer(self, msg: InitHistorian) -> None:
        policy = RetentionPolicy(retention_days=msg.retention_days, hot_days=msg.hot_days,
                                 min_free_mb=msg.min_free_mb)
        writer = HistoryWriter(Path(msg.storage_dir), policy=policy, commit_interval_s=msg.commit_interval_s,
                               on_alarm=lambda text, active: self.outbox.put(HistoryDiskAlarm(text, active)))
        for s in msg.topology.strings:
            writer.register_string(s.id, s.index, s.ups_id, s.battery.count)
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def start() -> None:
                try:
                    await writer.open()
                    ready.set_result(None)
                except BaseException as e:  # reported to the actor thread, which re-raises it
                    ready.set_exception(e)
                    raise

            loop.run_until_complete(start())
            loop.run_forever()
            loop.close()

        self.thread = threading.Thread(target=run, name="historian-writer", daemon=True)
        self.thread.start()
        ready.result(timeout=30)
        self.loop, self.writer = loop, writer

    # ------------------------------------------------------------ data in

    def receiveMsg_StringStatus(self, msg: StringStatus, sender: object) -> None:
        if self.writer is None:
            self.held.append((msg, sender))
            return
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.writer.submit_string, msg)

    def receiveMsg_SiteUpdate(self, msg: SiteUpdate, sender: object) -> None:
        """What the gateway sends: every UPS of a scan with its strings."""
        for update in msg.updates:
            for string in update.strings:
                self.receiveMsg_StringStatus(string, sender)
            self.receiveMsg_UpsStatus(update.ups, sender)

    def receiveMsg_UpsStatus(self, msg: UpsStatus, sender: object) -> None:
        # UPS values are derived from the stored strings (docs/storage.md); nothing to write.
        self.ups_statuses += 1

    def receiveMsg_HistorianFlush(self, msg: HistorianFlush, sender: object) -> None:
        if self.writer is None:
            self.held.append((msg, sender))
            return
        assert self.loop is not None
        error = None
        try:
            asyncio.run_coroutine_threadsafe(self.writer.flush(), self.loop).result(_FLUSH_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            error = f"flush did not finish within {_FLUSH_TIMEOUT_S:.0f} s"
        except (OSError, sqlite3.Error) as e:  # reported to the asker with its text; the writer retries
            error = f"flush failed: {type(e).__name__}: {e}"
        st = asyncio.run_coroutine_threadsafe(self._stats(), self.loop).result(_FLUSH_TIMEOUT_S)
        self.send(sender, HistorianFlushed(msg.request_id, st.committed, st.pending, st.dropped, error))

    async def _stats(self):
        """Read in the writer's loop: its counters and timings are appended there."""
        return self.writer.stats()

    # ------------------------------------------------------------ timers and shutdown

    def receiveMsg_WakeupMessage(self, msg: WakeupMessage, sender: object) -> None:
        if msg.payload != "drain":
            return
        while True:
            try:
                alarm = self.outbox.get_nowait()
            except queue.Empty:
                break
            if self.init is not None and self.init.alarm_sink is not None:
                self.send(self.init.alarm_sink, alarm)
            else:
                self.log.error("history disk alarm (no alarm sink)", text=alarm.text)
        self.wakeupAfter(_DRAIN_PERIOD, payload="drain")

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: object) -> None:
        """Commit what was received, close the databases, stop the thread."""
        if self.writer is None or self.loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.writer.close(), self.loop).result(_FLUSH_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            self.log.error("history writer did not close in time", timeout_s=_FLUSH_TIMEOUT_S)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self.thread is not None:
                self.thread.join(timeout=10)
            self.writer = None

    def receiveUnrecognizedMessage(self, msg: object, sender: object) -> None:
        if self.init is None:
            self.held.append((msg, sender))
