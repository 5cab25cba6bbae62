"""ProtocolActor: commands keep flowing after any message; a dead server loop ends the actor."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from thespian.actors import ChildActorExited

from actors.base.protocol_actor import ProtocolActor
from tests.recorder import GetRecorded, Recorder
from tests.support import wait_for


@dataclass(frozen=True)
class StartServer:
    fail: bool


@dataclass(frozen=True)
class Unexpected:
    pass


@dataclass(frozen=True)
class FromLoop:
    n: int


class EchoServerActor(ProtocolActor):
    """Its loop posts a command every 50 ms, or raises at once when told to fail."""

    def receiveMsg_StartServer(self, message: StartServer, sender):
        self.gateway = sender

        async def main() -> None:
            if message.fail:
                raise RuntimeError("port exploded")
            n = 0
            while True:
                n += 1
                self.post_command(FromLoop(n))
                await asyncio.sleep(0.05)

        self.start_loop(main)
        return self.watch()


class Parent(Recorder):
    """Creates the server actor and records what reaches it (commands, ChildActorExited)."""

    def receiveMsg_StartServer(self, message: StartServer, sender):
        self.child = self.createActor(EchoServerActor)
        self.send(self.child, message)

    def receiveMsg_Unexpected(self, message: Unexpected, sender):
        self.send(self.child, message)

    def receiveMsg_ChildActorExited(self, message: ChildActorExited, sender):
        self.messages.append("child exited")


def recorded(asys, parent) -> tuple:
    return asys.ask(parent, GetRecorded(), 5).messages


def test_commands_keep_flowing_after_an_unrecognized_message(actor_system):
    parent = actor_system.createActor(Parent)
    actor_system.tell(parent, StartServer(fail=False))
    wait_for(lambda: any(isinstance(m, FromLoop) for m in recorded(actor_system, parent)), what="a first command")
    actor_system.tell(parent, Unexpected())
    seen = len([m for m in recorded(actor_system, parent) if isinstance(m, FromLoop)])
    wait_for(
        lambda: len([m for m in recorded(actor_system, parent) if isinstance(m, FromLoop)]) >= seen + 3,
        what="commands after the unrecognized message",
    )


def test_a_server_loop_that_dies_ends_its_actor(actor_system):
    parent = actor_system.createActor(Parent)
    actor_system.tell(parent, StartServer(fail=True))
    wait_for(lambda: "child exited" in recorded(actor_system, parent), what="the actor to exit")
