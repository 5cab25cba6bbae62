"""AlarmManager and Notifier as actors on simpleSystemBase, with a stand-in gateway actor."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from thespian.actors import ActorSystem, ActorTypeDispatcher

from actors.messages import (
    AcknowledgeAlarm,
    AlarmNotice,
    AlarmRaised,
    InitAlarmManager,
    InitNotifier,
    SendTestNotification,
    SetSiren,
    SetStringRelay,
    Subscribe,
)
from actors.site.alarm_manager import AlarmManager
from actors.site.notifier import Notifier
from tests.unit.test_alarms_store import topology


@dataclass(frozen=True)
class Start:
    settings_db: str


@dataclass(frozen=True)
class Forward:
    to: str  # "alarms" | "notifier"
    message: object


@dataclass(frozen=True)
class GetSeen:
    pass


class FakeGateway(ActorTypeDispatcher):
    """Creates the two actors as the gateway will, records what they send it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list = []
        self.alarms = self.notifier = None

    def receiveMsg_Start(self, m: Start, sender):
        self.alarms = self.createActor(AlarmManager)
        self.notifier = self.createActor(Notifier)
        self.send(self.alarms, InitAlarmManager(topology(), m.settings_db, reconcile_after_s=60))
        self.send(self.notifier, InitNotifier(m.settings_db, "DC1"))
        self.send(sender, "started")

    def receiveMsg_Forward(self, m: Forward, sender):
        self.send(self.alarms if m.to == "alarms" else self.notifier, m.message)

    def receiveMsg_GetSeen(self, m, sender):
        self.send(sender, list(self.seen))

    def receiveMsg_AlarmNotice(self, m: AlarmNotice, sender):
        self.seen.append(m)
        self.send(self.notifier, m)  # the gateway hands notices to its subscribers

    def receiveMsg_Subscribe(self, m: Subscribe, sender):
        self.seen.append(m)

    def receiveMsg_SetStringRelay(self, m, sender):
        self.seen.append(m)

    def receiveMsg_SetSiren(self, m, sender):
        self.seen.append(m)


@pytest.fixture
def asys():
    system = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    yield system
    system.shutdown()


def wait_seen(asys, gw, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = asys.ask(gw, GetSeen(), 1)
        if cond(seen):
            return seen
        asys.listen(0.02)  # lets the protocol actors' 20 ms command poll run on simpleSystemBase
    raise AssertionError(f"not seen before the deadline: {seen}")


def test_alarm_manager_switches_off_sirens_and_notifies(asys, tmp_path):
    gw = asys.createActor(FakeGateway)
    assert asys.ask(gw, Start(str(tmp_path / "settings.db")), 5) == "started"
    asys.tell(gw, Forward("alarms", AlarmRaised("cell_temperature_high", "u1", "s1", 3, 480, 450, time.time())))
    seen = wait_seen(asys, gw, lambda s: any(isinstance(m, AlarmNotice) for m in s)
                     and any(isinstance(m, SetStringRelay) for m in s))
    relay = next(m for m in seen if isinstance(m, SetStringRelay))
    assert relay.string_id == "s1" and relay.closed is False and "cell 3" in relay.reason
    assert any(isinstance(m, Subscribe) for m in seen)  # the notifier subscribed
    notice = next(m for m in seen if isinstance(m, AlarmNotice))
    assert notice.title == "Temperature high" and notice.cell_index == 3
    asys.tell(gw, Forward("alarms", AcknowledgeAlarm(notice.alarm_id, "admin")))
    seen = wait_seen(asys, gw, lambda s: [m.on for m in s if isinstance(m, SetSiren)][-1:] == [False]
                     and len([m for m in s if isinstance(m, SetSiren)]) >= 3)
    assert [m.on for m in seen if isinstance(m, SetSiren)] == [False, True, False]


class Requester(ActorTypeDispatcher):
    """Sends a test request to the notifier itself so the reply comes back here."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result = None
        self.notifier = None

    def receiveMsg_Start(self, m: Start, sender):
        self.notifier = self.createActor(Notifier)
        self.send(self.notifier, InitNotifier(m.settings_db))
        self.send(self.notifier, SendTestNotification(7, "email", "x@example.com"))
        self.send(sender, "started")

    def receiveMsg_NotificationTestResult(self, m, sender):
        self.result = m

    def receiveMsg_GetSeen(self, m, sender):
        self.send(sender, self.result)


def test_notifier_answers_the_test_button(asys, tmp_path):
    r = asys.createActor(Requester)
    assert asys.ask(r, Start(str(tmp_path / "settings.db")), 5) == "started"
    result = wait_seen(asys, r, lambda res: res is not None)
    assert result.request_id == 7 and not result.ok and result.error == "SMTP server not configured"
