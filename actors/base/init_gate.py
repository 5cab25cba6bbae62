"""Hold every message that arrives before an actor's Init, and replay them after it.

Messages from different senders are not ordered (THESPIAN.md §1): a command or a scan can
overtake the Init that configures the actor. Mix this in before ActorTypeDispatcher and name
the Init type; the replay runs after the Init handler, in arrival order.
"""

from __future__ import annotations

from typing import Any

from thespian.actors import ActorSystemMessage


class InitGate:
    init_message: type  # the subclass's Init message type

    def receiveMessage(self, message: Any, sender: Any) -> Any:
        if getattr(self, "_init_done", False) or isinstance(message, ActorSystemMessage):
            return super().receiveMessage(message, sender)
        if not isinstance(message, self.init_message):
            self.__dict__.setdefault("_held", []).append((message, sender))
            return None
        result = super().receiveMessage(message, sender)
        self._init_done = True
        for early, early_sender in self.__dict__.pop("_held", []):
            self.receiveMessage(early, early_sender)
        return result
