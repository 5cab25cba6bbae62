"""The Historian actor: the only writer of sample history (one process, one asyncio thread).

A ProtocolActor: the writer (aiosqlite) runs in the actor's event-loop thread. Scans go in with
`in_loop` (microseconds, the actor never waits on SQLite). A HistorianFlush waits for the commit
of everything received so far, which tests and an orderly shutdown need. Disk-space alarms
come back from the loop through `post_command` and go to the alarm sink.

Messages that arrive before InitHistorian are held and replayed after it (InitGate).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from pathlib import Path

from thespian.actors import ActorExitRequest

from actors.base.init_gate import InitGate
from actors.base.protocol_actor import ProtocolActor
from actors.messages.down import HistorianFlush, InitHistorian
from actors.messages.up import HistorianFlushed, SiteUpdate
from battery.status import StringStatus, UpsStatus
from observability.log import get_logger
from storage.history.disk_alarm import HistoryDiskAlarm
from storage.history.retention import RetentionPolicy
from storage.history.writer import HistoryWriter

_OPEN_TIMEOUT_S = 30.0
_FLUSH_TIMEOUT_S = 60.0


async def _until_cancelled() -> None:
    """The loop's main: the writer's work arrives as callbacks and coroutines."""
    await asyncio.Event().wait()


class Historian(InitGate, ProtocolActor):
    init_message = InitHistorian

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.log = get_logger("btms.historian")
        self.init: InitHistorian | None = None
        self.writer: HistoryWriter | None = None
        self.ups_statuses = 0

    # ------------------------------------------------------------ configuration

    def receiveMsg_InitHistorian(self, msg: InitHistorian, sender: object):
        if self.init is not None:
            self.log.warning("Historian already initialised; ignoring a second InitHistorian")
            return self.watch()
        self.init = msg
        policy = RetentionPolicy(retention_days=msg.retention_days, hot_days=msg.hot_days, min_free_mb=msg.min_free_mb)
        writer = HistoryWriter(
            Path(msg.storage_dir), policy=policy, commit_interval_s=msg.commit_interval_s, on_alarm=self.post_command
        )
        for s in msg.topology.strings:
            writer.register_string(s.id, s.index, s.ups_id, s.battery.count)
        self.start_loop(_until_cancelled)
        self.run_in_loop(writer.open(), _OPEN_TIMEOUT_S)
        self.writer = writer
        return self.watch()

    def on_command(self, alarm: HistoryDiskAlarm) -> None:
        """A disk-space alarm from the writer's loop."""
        if self.init.alarm_sink is not None:
            self.send(self.init.alarm_sink, alarm)
        else:
            self.log.error("history disk alarm (no alarm sink)", text=alarm.text)

    # ------------------------------------------------------------ data in

    def receiveMsg_StringStatus(self, msg: StringStatus, sender: object):
        self.in_loop(self.writer.submit_string, msg)
        return self.watch()

    def receiveMsg_SiteUpdate(self, msg: SiteUpdate, sender: object):
        """What the gateway sends: every UPS of a scan with its strings."""
        for update in msg.updates:
            for string in update.strings:
                self.in_loop(self.writer.submit_string, string)
            self.ups_statuses += 1
        return self.watch()

    def receiveMsg_UpsStatus(self, msg: UpsStatus, sender: object):
        # UPS values are derived from the stored strings (docs/storage.md); nothing to write.
        self.ups_statuses += 1
        return self.watch()

    def receiveMsg_HistorianFlush(self, msg: HistorianFlush, sender: object):
        error = None
        try:
            self.run_in_loop(self.writer.flush(), _FLUSH_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            error = f"flush did not finish within {_FLUSH_TIMEOUT_S:.0f} s"
        except (OSError, sqlite3.Error) as e:  # reported to the asker with its text; the writer retries
            error = f"flush failed: {type(e).__name__}: {e}"
        st = self.run_in_loop(self._stats(), _FLUSH_TIMEOUT_S)
        self.send(sender, HistorianFlushed(msg.request_id, st.committed, st.pending, st.dropped, error))
        return self.watch()

    async def _stats(self):
        """Read in the writer's loop: its counters and timings are appended there."""
        return self.writer.stats()

    # ------------------------------------------------------------ shutdown

    def receiveMsg_ActorExitRequest(self, msg: ActorExitRequest, sender: object) -> None:
        """Commit what was received, close the databases, stop the thread."""
        if self.writer is not None:
            try:
                self.run_in_loop(self.writer.close(), _FLUSH_TIMEOUT_S)
            except concurrent.futures.TimeoutError:
                self.log.error("history writer did not close in time", timeout_s=_FLUSH_TIMEOUT_S)
            self.writer = None
        super().receiveMsg_ActorExitRequest(msg, sender)
