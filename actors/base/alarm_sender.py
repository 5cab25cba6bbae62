"""AlarmSender: an actor that raises and clears alarms sends them straight to the AlarmManager.

Its address comes in the actor's Init message and again in AlarmManagerChanged when the
AlarmManager is re-created (as a re-created bus is announced), so the gateway never relays
alarm events. A UPS sends those of the string masters it hosts in its process (their events
reach it in-process, with no hop between processes).
"""

from __future__ import annotations

from actors.messages.address import Address
from actors.messages.down import AlarmManagerChanged
from battery.alarms.records import AlarmCleared, AlarmRaised


class AlarmSender:
    """Mixin for an ActorTypeDispatcher: `self.alarms` is the AlarmManager's address, `self.log` a logger."""

    alarms: Address | None = None

    def _raise_or_clear(self, event: AlarmRaised | AlarmCleared) -> None:
        if self.alarms is None:
            self.log.error("alarm event with no alarm manager to take it", kind=event.kind)
            return
        self.send(self.alarms, event)

    def receiveMsg_AlarmManagerChanged(self, message: AlarmManagerChanged, sender):
        self.alarms = message.address
