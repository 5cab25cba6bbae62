"""StringHost: supervisor of a UPS's string masters inside the UPS's private in-process system.

A string master in a process of its own cost a fork's copied pages (6-7 MiB) and a pickled
cross-process message for every status; 32 of them were two thirds of the tree's CPU and half
its memory (docs/architecture.md). So a UPS hosts its string masters in-process, as a string
master hosts its cells. They stay actors: the UPS asks the host once per message, the host hands
the message to the string master it names, and answers with everything its string masters sent
meanwhile (StringOutbox); the UPS handles that or sends it on through the real transport.

Inside this system a string master's UPS, bus and AlarmManager are all the host: it can reach
nothing outside the process, and the UPS knows where each message goes. The host knows an ask
is finished the way the cell bank does (a round-end message sent to itself, twice; see
CellRoundEnd).

A string master that fails on a message reports it (StringMasterFailed; a PoisonMessage if
even that fails): the host re-creates it from its last snapshot within the same ask, as the UPS
did when a string master's process died, backing off when it keeps dying (then at the first ask
after the back-off: no timers run in a private system).
"""

from __future__ import annotations

import time
from dataclasses import replace

from thespian.actors import Actor, ActorExitRequest, ActorSystemMessage, PoisonMessage

from actors.base.supervision import RestartPolicy, child_named, find_name, replace_child
from actors.messages.down import InitStringMaster, SetAlarmLimits
from actors.messages.up import StringMasterFailed, StringOutbox, StringRoundEnd, StringSnapshotSaved
from actors.string.string_master import StringMaster
from observability.log import get_logger


class StringHost(Actor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.masters: list[tuple[str, object]] = []  # (string id, address or None while due): unhashable
        self.inits: dict[str, InitStringMaster] = {}  # how each was created, its snapshot kept current
        self.due: dict[str, float] = {}  # string id -> monotonic time it is re-created at
        self.policy = RestartPolicy()
        self.outbox: list = []
        self.asker = None
        self.recreated = False  # a string master was re-created during this ask: two more passes
        self.log = get_logger("btms.string_host")

    def receiveMessage(self, message, sender):
        kind = type(message)
        if kind is StringRoundEnd:
            self._round_end(message)
        elif kind is StringMasterFailed:
            self._master_failed(sender, message.message, message.error)
        elif kind is PoisonMessage:  # failed where it could not report it
            self._master_failed(sender, type(message.poisonMessage).__name__, message.details or "")
        elif kind is ActorExitRequest:  # the UPS stops: each master stops its cell system
            for _, master in self.masters:
                if master is not None:
                    self.send(master, ActorExitRequest())
        elif isinstance(message, ActorSystemMessage):  # ChildActorExited of one re-created: nothing to do
            return
        elif find_name(self.masters, sender) is not None:  # a string master's message out of the process
            if kind is StringSnapshotSaved:
                self.inits[message.string_id] = replace(self.inits[message.string_id], snapshot=message.snapshot)
            self.outbox.append(message)
        else:  # the UPS's ask
            self._ask(message, sender)

    def _ask(self, message, sender) -> None:
        self.asker = sender
        self._recreate_due()
        if type(message) is InitStringMaster:
            self._create(message)
        else:
            if type(message) is SetAlarmLimits and message.string_id in self.inits:  # a re-created one gets them
                init = self.inits[message.string_id]
                self.inits[message.string_id] = replace(
                    init, string=replace(init.string, alarm_overrides=message.overrides)
                )
            master = child_named(self.masters, getattr(message, "string_id", None))
            if master is not None:
                self.send(master, message)
        self.send(self.myAddress, StringRoundEnd(0))

    def _create(self, init: InitStringMaster) -> None:
        string_id = init.string.id
        self.inits[string_id] = init
        address = self.createActor(StringMaster)
        replace_child(self.masters, string_id, address)
        here = self.myAddress
        self.send(address, replace(init, bus=here, ups=here, alarms=here))

    def _round_end(self, message: StringRoundEnd) -> None:
        if message.pass_no == 0:
            self.send(self.myAddress, StringRoundEnd(1))  # behind what the string masters sent meanwhile
            return
        if self.recreated:  # its Init is queued behind this: wait for what it sends at start
            self.recreated = False
            self.send(self.myAddress, StringRoundEnd(0))
            return
        outbox, self.outbox = tuple(self.outbox), []
        self.send(self.asker, StringOutbox(outbox))

    def _master_failed(self, sender, message: str, error: str) -> None:
        string_id = find_name(self.masters, sender)
        if string_id is None:
            return
        self.send(sender, ActorExitRequest())
        replace_child(self.masters, string_id, None)
        delay = self.policy.delay_before_restart(string_id, time.monotonic())
        self.log.warning(
            "string master failed, re-creating it", string=string_id, message=message, error=error, delay_s=delay
        )
        self.due[string_id] = time.monotonic() + delay
        if not delay:
            self._recreate_due()
            self.recreated = True

    def _recreate_due(self) -> None:
        now = time.monotonic()
        for string_id, at in list(self.due.items()):
            if at <= now:
                del self.due[string_id]
                self._create(self.inits[string_id])
