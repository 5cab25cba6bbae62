"""Dead man's switch: shuts the whole actor system down when the main program goes silent.

Thespian's admin double-forks and outlives the program that started it (THESPIAN.md §7): after a
SIGKILL of `btms run` every actor would keep running with nobody to stop it. The main program
sends a Heartbeat every 0.4 s (from its own thread); silence for `timeout_s` ends the system.
Each heartbeat is answered, so the main program knows in turn that the tree still runs
(actors/runtime/tree_monitor.py).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from thespian.actors import ActorTypeDispatcher

from actors.messages.down import Heartbeat, StartWatchdog
from actors.messages.up import HeartbeatAnswer


class Watchdog(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeout_s = 0.0
        self.last_heartbeat = time.monotonic()
        self.armed = False

    def receiveMsg_StartWatchdog(self, message: StartWatchdog, sender):
        self.timeout_s = message.timeout_s
        self.last_heartbeat = time.monotonic()
        if not self.armed:
            self.armed = True
            self.wakeupAfter(timedelta(seconds=self.timeout_s / 4))

    def receiveMsg_Heartbeat(self, message: Heartbeat, sender):
        self.last_heartbeat = time.monotonic()
        self.send(sender, HeartbeatAnswer(message.sequence, "watchdog", os.getpid(), os.getppid()))

    def receiveMsg_WakeupMessage(self, message, sender):
        if time.monotonic() - self.last_heartbeat > self.timeout_s:
            self.actorSystemShutdown()
            return
        self.wakeupAfter(timedelta(seconds=self.timeout_s / 4))
