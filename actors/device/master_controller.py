"""MasterController: the actor of the BM-MC and its BM-LC IO modules.

Commands flow down through it: "open string A2's breaker" becomes "switch output 2 of IO
module 101 on" on the bus the BM-MC sits on; the siren follows the alarm manager. By the
convention of the IO modules an output that is ON disconnects its string or sounds the siren
(see docs/topology.md). Its digital inputs (leakage, fire, ...) raise alarms, with the same
on-delay logic as every other alarm so that a bouncing contact raises one alarm. An IO module
that stops answering raises "communication lost": a dead leak or fire module must not read as
"no leak".
"""

from __future__ import annotations

import time
from datetime import timedelta

from thespian.actors import ActorTypeDispatcher

from actors.base.alarm_sender import AlarmSender
from actors.base.init_gate import InitGate
from actors.messages.down import AttachMasterController, InitMasterController, SetSiren
from battery.alarms import (
    INACTIVE,
    AlarmKind,
    evaluate_digital_input,
    evaluate_flag,
    to_alarm_message,
)
from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.commands import SetStringRelay
from observability.log import configure_structlog, get_logger
from protocols.fieldbus.bus_messages import IoModuleScan, OutputWritten, SetOutput

INPUT_DELAY_S = 2.0  # a contact must stay on (or off) this long to raise (or clear) its alarm
SWITCH_OFF_RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # then every 30 s until the BM-LC confirms


class MasterController(AlarmSender, InitGate, ActorTypeDispatcher):
    init_message = InitMasterController

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.config = None
        self.bus = None
        self.gateway = None
        self.alarms = None
        self.topology = None
        self.module_addresses: dict[str, int] = {}
        self.input_states: dict[tuple[str, int], object] = {}
        self.module_lost: dict[str, object] = {}
        # (module address, output) -> [string id, SetOutput, failed attempts] of an unconfirmed switch-off
        self.switch_offs: dict[tuple[int, int], list] = {}
        self.log = get_logger("btms.master_controller")

    def receiveMsg_InitMasterController(self, message: InitMasterController, sender):
        self.config = message.config
        self.topology = message.topology
        self.gateway = sender
        self.alarms = message.alarms
        self.module_addresses = {m.id: m.address for m in self.config.io_modules}
        self.input_states = {(i.module, i.input): INACTIVE for i in self.config.inputs}
        self.module_lost = {m.id: INACTIVE for m in self.config.io_modules}
        self._attach(message.bus)

    def _attach(self, bus) -> None:
        self.bus = bus
        if bus is not None:
            self.send(bus, AttachMasterController(self.myAddress))

    def receiveMsg_BusAddressChanged(self, message, sender):
        if self.config is not None and message.bus_id == self.config.bus:
            self._attach(message.address)

    def receiveMsg_SetStringRelay(self, message: SetStringRelay, sender):
        output = next(
            (o for o in self.config.outputs if o.function == "disconnect" and o.string == message.string_id), None
        )
        if output is None:
            self.log.error("no disconnect output configured for string", string=message.string_id)
            return
        command = SetOutput(self.module_addresses[output.module], output.output, not message.closed, message.reason)
        self.log.info("string relay command", string=message.string_id, closed=message.closed, reason=message.reason)
        key = (command.device_address, command.output)
        if message.closed:
            self._confirmed(key)  # an operator's switch-on ends any pending switch-off
        else:
            self.switch_offs[key] = [message.string_id, command, 0]
        self.send(self.bus, command)

    def receiveMsg_SetSiren(self, message: SetSiren, sender):
        for output in self.config.outputs:
            if output.function == "siren":
                self.send(
                    self.bus, SetOutput(self.module_addresses[output.module], output.output, message.on, message.reason)
                )
        self.log.info("siren", on=message.on, reason=message.reason)

    def receiveMsg_OutputWritten(self, message: OutputWritten, sender):
        key = (message.device_address, message.output)
        if message.ok:
            if message.on and key in self.switch_offs:
                self._confirmed(key)
            return
        self.log.error("output write failed", device=message.device_address, output=message.output, error=message.error)
        pending = self.switch_offs.get(key)
        if pending is None or not message.on:
            return
        string_id, command, failures = pending
        pending[2] = failures + 1
        if failures == 0:  # the first failure raises the alarm; retries go on until confirmed
            # The detail stays empty: it is part of the alarm's identity, and the clear must match it.
            self._raise_or_clear(
                AlarmRaised(
                    "switch_off_failed", self._ups_of(string_id), string_id, None, None, None, message.timestamp
                )
            )
        delay = SWITCH_OFF_RETRY_S[min(failures, len(SWITCH_OFF_RETRY_S) - 1)]
        self.wakeupAfter(timedelta(seconds=delay), payload=("retry-switch-off", key))

    def receiveMsg_WakeupMessage(self, message, sender):
        if isinstance(message.payload, tuple) and message.payload[0] == "retry-switch-off":
            pending = self.switch_offs.get(message.payload[1])
            if pending is not None:
                self.log.warning("retrying switch-off", string=pending[0], attempt=pending[2] + 1)
                self.send(self.bus, pending[1])

    def _confirmed(self, key: tuple[int, int]) -> None:
        pending = self.switch_offs.pop(key, None)
        if pending is not None and pending[2] > 0:
            string_id = pending[0]
            self._raise_or_clear(
                AlarmCleared("switch_off_failed", self._ups_of(string_id), string_id, None, None, None, time.time(), "")
            )

    def _ups_of(self, string_id: str) -> str | None:
        return self.topology.string(string_id).ups_id if string_id else None

    def _watch_module(self, module: str, scan: IoModuleScan) -> None:
        """ "Communication lost" on the field bus's verdict (its miss_limit-th unanswered scan in a
        row), cleared when the module answers."""
        if not scan.responded and not scan.communication_lost:
            return  # a few misses are not an outage yet: hold
        lost = scan.communication_lost
        self.module_lost[module], transition = evaluate_flag(
            self.module_lost[module],
            lost,
            AlarmKind.COMMUNICATION_LOST,
            0.0,
            0.0,
            scan.timestamp,
            detail=f"BM-LC {module}",
        )
        if transition is not None:
            self.log.error("IO module not answering" if lost else "IO module answering again", module=module)
            self._raise_or_clear(to_alarm_message(transition, ups_id=None, string_id=None))

    def receiveMsg_IoModuleScan(self, scan: IoModuleScan, sender):
        module = next((m.id for m in self.config.io_modules if m.address == scan.device_address), None)
        if module is None:
            return
        self._watch_module(module, scan)
        for configured in self.config.inputs:
            if configured.module != module:
                continue
            on = scan.inputs[configured.input - 1] if scan.responded and len(scan.inputs) >= configured.input else None
            key = (configured.module, configured.input)
            self.input_states[key], transition = evaluate_digital_input(
                self.input_states[key], on, configured.alarm, scan.timestamp, INPUT_DELAY_S
            )
            if transition is not None:
                ups_id = self.topology.string(configured.string).ups_id if configured.string else None
                self._raise_or_clear(to_alarm_message(transition, ups_id=ups_id, string_id=configured.string))
