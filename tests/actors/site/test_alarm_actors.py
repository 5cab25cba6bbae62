"""AlarmManager and Notifier as actors on simpleSystemBase, with a stand-in gateway actor."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass

import pytest
from thespian.actors import ActorSystem, ActorTypeDispatcher

from actors.messages.down import (
    InitAlarmManager,
    InitNotifier,
    ReloadNotificationSettings,
    SendTestNotification,
    SetSiren,
)
from actors.messages.service import ALARMS, RepublishActiveAlarms, Subscribe
from actors.messages.up import SiteUpdate
from actors.site.alarm_manager import AlarmManager
from actors.site.notifier import Notifier
from battery.alarms.records import AlarmNotice, AlarmRaised
from battery.commands import AcknowledgeAlarm, SetStringRelay
from tests.factories import alarm_topology as topology
from tests.factories import book_alarm_store as _book
from tests.factories import raised_alarm as raised


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
    seen = wait_seen(
        asys, gw, lambda s: any(isinstance(m, AlarmNotice) for m in s) and any(isinstance(m, SetStringRelay) for m in s)
    )
    relay = next(m for m in seen if isinstance(m, SetStringRelay))
    assert relay.string_id == "s1" and relay.closed is False and "cell 3" in relay.reason
    assert any(isinstance(m, Subscribe) and m.topics == {ALARMS} for m in seen)  # alarms only
    notice = next(m for m in seen if isinstance(m, AlarmNotice))
    assert notice.title == "Temperature high" and notice.cell_index == 3
    asys.tell(gw, Forward("alarms", AcknowledgeAlarm(notice.alarm_id, "admin")))
    seen = wait_seen(
        asys,
        gw,
        lambda s: (
            [m.on for m in s if isinstance(m, SetSiren)][-1:] == [False]
            and len([m for m in s if isinstance(m, SetSiren)]) >= 3
        ),
    )
    assert [m.on for m in seen if isinstance(m, SetSiren)] == [False, True, False]


@dataclass(frozen=True)
class Retest:
    request_id: int


@dataclass(frozen=True)
class WhereIsNotifier:
    pass


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

    def receiveMsg_Retest(self, m: Retest, sender):
        self.send(self.notifier, SendTestNotification(m.request_id, "email", "x@example.com"))

    def receiveMsg_WhereIsNotifier(self, m, sender):
        self.send(sender, self.notifier)

    def receiveMsg_NotificationTestResult(self, m, sender):
        self.result = m

    def receiveMsg_GetSeen(self, m, sender):
        self.send(sender, self.result)


def test_notifier_answers_the_test_button(asys, tmp_path):
    r = asys.createActor(Requester)
    assert asys.ask(r, Start(str(tmp_path / "settings.db")), 5) == "started"
    result = wait_seen(asys, r, lambda res: res is not None)
    assert result.request_id == 7 and not result.ok and result.error == "SMTP server not configured"


class Server(ActorTypeDispatcher):
    """A protocol server (web, SNMP) that subscribed: records the notices sent to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notices: list = []

    def receiveMsg_AlarmNotice(self, m: AlarmNotice, sender):
        self.notices.append(m)

    def receiveMsg_GetSeen(self, m, sender):
        self.send(sender, list(self.notices))


def test_one_bad_alarm_message_does_not_stop_the_manager_and_republish_reaches_the_server(asys, tmp_path):
    gw = asys.createActor(FakeGateway)
    assert asys.ask(gw, Start(str(tmp_path / "settings.db")), 5) == "started"
    asys.tell(gw, Forward("alarms", AlarmRaised("no_such_kind", "u1", "s1", 3, 480, 450, time.time())))
    asys.tell(gw, Forward("alarms", AlarmRaised("cell_soc_low", "u1", "s2", 4, 20, 30, time.time())))
    seen = wait_seen(asys, gw, lambda s: any(isinstance(m, AlarmNotice) for m in s))
    assert [(n.event, n.kind) for n in seen if isinstance(n, AlarmNotice)] == [("raised", "cell_soc_low")]
    server = asys.createActor(Server)
    asys.tell(gw, Forward("alarms", RepublishActiveAlarms(server)))
    notices = wait_seen(asys, server, lambda n: len(n) >= 1)
    assert [(n.event, n.kind, n.string_id, n.cell_index) for n in notices] == [("active", "cell_soc_low", "s2", 4)]
    after = asys.ask(gw, GetSeen(), 1)  # the sync went to the server only, not through the gateway
    assert [n.event for n in after if isinstance(n, AlarmNotice)] == ["raised"]


def test_a_restarted_manager_tells_the_gateway_what_is_active(asys, tmp_path):
    db = tmp_path / "settings.db"

    async def before():
        store, book = await _book(db, [])
        await book.raised(raised(cell=9, t=100.0))
        await store.close()

    asyncio.run(before())
    gw = asys.createActor(FakeGateway)
    assert asys.ask(gw, Start(str(db)), 5) == "started"
    seen = wait_seen(
        asys, gw, lambda s: any(isinstance(m, AlarmNotice) for m in s) and any(isinstance(m, SetSiren) for m in s)
    )
    assert [(n.event, n.cell_index, n.from_time) for n in seen if isinstance(n, AlarmNotice)] == [("active", 9, 100.0)]
    assert [m.on for m in seen if isinstance(m, SetSiren)] == [True]
    assert not any(isinstance(m, SetStringRelay) for m in seen)  # a sync switches nothing off


def test_notifier_survives_bad_settings_and_a_stray_site_update(asys, tmp_path):
    db = tmp_path / "settings.db"
    r = asys.createActor(Requester)
    assert asys.ask(r, Start(str(db)), 5) == "started"
    assert wait_seen(asys, r, lambda res: res is not None).request_id == 7
    with sqlite3.connect(db) as con:  # a value the settings page would refuse, written behind its back
        con.execute("INSERT OR REPLACE INTO notification_settings (key, value) VALUES ('smtp.port', 'twenty-five')")
    notifier = asys.ask(r, WhereIsNotifier(), 1)
    asys.tell(notifier, ReloadNotificationSettings())  # fails: logged, the notifier keeps working
    asys.tell(notifier, SiteUpdate(()))  # not subscribed to, ignored
    asys.tell(r, Retest(8))
    result = wait_seen(asys, r, lambda res: res is not None and res.request_id == 8)
    # the test send re-reads the settings (a change must show at once) and names what is unusable
    assert not result.ok and "smtp.port = 'twenty-five'" in result.error
