"""The main program's two-way heartbeat with its actor tree.

The watchdog and the gateway each get a Heartbeat every 0.4 s and answer it. The heartbeats
keep the watchdog from ending the system (dead man's switch); the answers tell the main
program that its tree still runs. Without them, a tree that went away from outside (its admin
process killed, the gateway actor dead or hung) left `btms run` waiting forever with nothing
to serve, and a service manager never restarted it.

Each responder is probed from its own thread with its own private context (THESPIAN.md §4):
a `tell` to a hung actor blocks for minutes, and must not silence the other heartbeats.
The tree is lost when a responder has been silent for SILENCE_LIMIT_S, or when Thespian's
admin process is gone: it created both actors, so their parent pid changes when it dies.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from actors.messages.down import Heartbeat
from actors.messages.up import HeartbeatAnswer
from actors.runtime.proc_scan import is_running

PERIOD_S = 0.4
# As long as the systemd unit's WatchdogSec: a gateway actor starved of CPU on a loaded 2-core box
# answered 5 s late in a soak and was taken for lost; a hung one is still caught within 15 s.
SILENCE_LIMIT_S = 15.0
FRESH_S = 3 * PERIOD_S  # answered this recently: healthy enough for the service manager's watchdog


@dataclass
class _Responder:
    name: str
    address: object
    last_answer: float
    pid: int | None = None
    admin_pid: int | None = None  # the parent it reported first: Thespian's admin
    parent_pid: int | None = None
    error: str | None = None  # the last failure of a probe, for the verdict


class TreeMonitor:
    def __init__(self, asys, stop: threading.Event):
        self.asys = asys
        self.stop = stop
        self.responders: list[_Responder] = []

    def watch(self, name: str, address) -> None:
        """Start heartbeating one actor; it counts as answered now."""
        responder = _Responder(name, address, time.monotonic())
        self.responders.append(responder)
        threading.Thread(target=self._probe, args=(responder,), name=f"heartbeat-{name}", daemon=True).start()

    def verdict(self) -> str | None:
        """Why the tree is lost, or None while it runs."""
        admin = self.admin_gone()
        if admin is not None:
            return f"the actor system's admin process (pid {admin}) is gone"
        now = time.monotonic()
        for r in list(self.responders):
            silent = now - r.last_answer
            if silent > SILENCE_LIMIT_S:
                which = f" (pid {r.pid})" if r.pid else ""
                cause = f": {r.error}" if r.error else ""
                return f"the {r.name} actor{which} has not answered for {silent:.0f} s{cause}"
        return None

    def admin_gone(self) -> int | None:
        """The pid of Thespian's admin if it died (nothing can shut the system down through it then)."""
        for r in list(self.responders):
            if r.admin_pid is not None and (r.parent_pid != r.admin_pid or not is_running(r.admin_pid)):
                return r.admin_pid
        return None

    def answering(self) -> bool:
        now = time.monotonic()
        return all(now - r.last_answer <= FRESH_S for r in list(self.responders))

    def _probe(self, responder: _Responder) -> None:
        with self.asys.private() as context:
            sequence = 0
            while not self.stop.is_set():
                sequence += 1
                try:
                    answer = context.ask(responder.address, Heartbeat(sequence), PERIOD_S)
                except Exception as error:  # Thespian's failures have no common base; keep the cause
                    responder.error = f"{type(error).__name__}: {error}"
                    answer = None
                # A late answer comes back on the next ask: it still proves the actor is alive.
                if isinstance(answer, HeartbeatAnswer):
                    responder.last_answer = time.monotonic()
                    responder.pid = answer.pid
                    responder.parent_pid = answer.parent_pid
                    if responder.admin_pid is None:
                        responder.admin_pid = answer.parent_pid
                    responder.error = None
                self.stop.wait(PERIOD_S)
