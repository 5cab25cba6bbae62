"""A test actor that records every message it receives; tests poll it with a deadline."""

from __future__ import annotations

from dataclasses import dataclass

from thespian.actors import ActorSystemMessage, ActorTypeDispatcher


@dataclass(frozen=True)
class GetRecorded:
    pass


@dataclass(frozen=True)
class Recorded:
    messages: tuple


class Recorder(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: list = []

    def receiveMsg_GetRecorded(self, message, sender):
        self.send(sender, Recorded(tuple(self.messages)))

    def receiveUnrecognizedMessage(self, message, sender):
        if not isinstance(message, ActorSystemMessage):
            self.messages.append(message)
