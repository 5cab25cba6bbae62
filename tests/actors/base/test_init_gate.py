"""InitGate: messages that overtake an actor's Init are held, then handled after it, in order."""

from __future__ import annotations

from dataclasses import dataclass

from thespian.actors import ActorTypeDispatcher

from actors.base.init_gate import InitGate
from tests.support import wait_for


@dataclass(frozen=True)
class Configure:
    name: str


@dataclass(frozen=True)
class Work:
    n: int


@dataclass(frozen=True)
class Report:
    pass


class Worker(InitGate, ActorTypeDispatcher):
    init_message = Configure

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = None
        self.done: list = []

    def receiveMsg_Configure(self, message: Configure, sender):
        self.name = message.name

    def receiveMsg_Work(self, message: Work, sender):
        self.done.append((self.name, message.n))  # the name proves Init was handled first

    def receiveMsg_Report(self, message: Report, sender):
        self.send(sender, tuple(self.done))


def test_early_messages_are_handled_after_init_in_arrival_order(actor_system):
    worker = actor_system.createActor(Worker)
    for n in (1, 2, 3):
        actor_system.tell(worker, Work(n))
    actor_system.tell(worker, Configure("w"))
    actor_system.tell(worker, Work(4))
    done = wait_for(lambda: (d := actor_system.ask(worker, Report(), 5)) and len(d) == 4 and d, what="four jobs")
    assert done == (("w", 1), ("w", 2), ("w", 3), ("w", 4))
