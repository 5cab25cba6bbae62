"""The private in-process system (actors/base/private_system.py): simpleSystemBase's behaviour, less its per-message costs.

It subclasses a Thespian internal; these tests fail if the pinned version's internals move under it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from thespian.actors import Actor, PoisonMessage, WakeupMessage

from actors.base.private_system import PrivateSystemBase, start_private_system


class Echo(Actor):
    def receiveMessage(self, message, sender):
        if message == "raise":
            raise RuntimeError("asked to fail")
        if isinstance(message, str):
            self.send(sender, message.upper())


class Sleeper(Actor):
    """Sets a timer: cells never do, but the system must still deliver one if an actor does."""

    def receiveMessage(self, message, sender):
        if message == "start":
            self.asker = sender
            self.wakeupAfter(timedelta(seconds=0.01), payload="tick")
        elif isinstance(message, WakeupMessage):
            self.send(self.asker, f"woke {message.payload}")


@pytest.fixture
def system():
    asys = start_private_system()
    yield asys
    asys.shutdown()


def test_cells_are_handed_their_messages_directly(system):
    address = system.createActor(Echo)
    assert isinstance(system._systemBase, PrivateSystemBase)
    actor = system._systemBase.actorRegistry[address.actorAddressString].instance
    assert actor._receive == actor.receiveMessage  # no per-message logger lookup in between
    assert system.ask(address, "hello", 5) == "HELLO"


def test_an_actor_that_raises_still_gets_its_message_back_as_poison(system):
    address = system.createActor(Echo)
    answer = system.ask(address, "raise", 5)
    assert isinstance(answer, PoisonMessage)
    assert answer.poisonMessage == "raise"
    assert system.ask(address, "still here", 5) == "STILL HERE"


def test_a_timer_still_fires_when_one_is_set(system):
    address = system.createActor(Sleeper)
    assert system.ask(address, "start", 5) == "woke tick"
