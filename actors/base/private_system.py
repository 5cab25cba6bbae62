"""The private in-process actor system a UPS hosts its string masters in, and a string master
its cells: simpleSystemBase, without two costs it pays per message and neither ever needs.

Every scan delivers one message to each of a string's 120 cell actors, so simpleSystemBase's
own work per delivery is a large share of a string master's CPU (docs/architecture.md). Two
parts of it do nothing here:
- before each delivery it looks for expired timers (reads the clock, rebuilds the timer list),
  but these actors never set a timer (the scan drives them): with no timer pending the look is
  skipped; with one it runs as before;
- each delivery looks up Thespian's logger to log the message at debug level, which this system
  (started with logDefs=False) never shows: actors are handed their messages directly.

Delivery order, failure handling (PoisonMessage after retries) and everything else are
simpleSystemBase's own. This subclasses a library internal: thespian is pinned in
pyproject.toml, and tests/actors/base/test_private_system.py fails if the internals it relies on
change.
"""

from __future__ import annotations

from thespian.actors import ActorSystem
from thespian.system.simpleSystemBase import ActorSystemBase


class PrivateSystemBase(ActorSystemBase):
    def _realizeWakeups(self) -> None:
        if self._wakeUps:
            super()._realizeWakeups()

    def _newRefAndActor(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        ref = super()._newRefAndActor(*args, **kwargs)
        if ref.instance:
            ref.instance._receive = ref.instance.receiveMessage
        return ref


def start_private_system() -> ActorSystem:
    """A new private simpleSystemBase of this process: for a UPS's string masters, or one string's cells."""
    system = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    system._systemBase.__class__ = PrivateSystemBase  # before any actor exists: all get the direct delivery
    return system
