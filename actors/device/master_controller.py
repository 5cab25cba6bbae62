"""MasterController: the actor of the BM-MC and its BM-LC IO modules.

Commands flow down through it: "open string A2's breaker" becomes "switch output 2 of IO
module 101 on" on the bus the BM-MC sits on. By the convention of the IO modules an output that
is ON disconnects its string (fail-safe wiring is the installer's choice; see docs/topology.md).
"""

from __future__ import annotations

from thespian.actors import ActorTypeDispatcher

from actors.log import configure_structlog, get_logger
from actors.messages import InitMasterController, SetOutput, SetStringRelay


class MasterController(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.config = None
        self.bus = None
        self.module_addresses: dict[str, int] = {}
        self.log = get_logger("btms.master_controller")

    def receiveMsg_InitMasterController(self, message: InitMasterController, sender):
        self.config = message.config
        self.bus = message.bus
        self.module_addresses = {m.id: m.address for m in self.config.io_modules}

    def receiveMsg_BusAddressChanged(self, message, sender):
        if self.config is not None and message.bus_id == self.config.bus:
            self.bus = message.address

    def receiveMsg_SetStringRelay(self, message: SetStringRelay, sender):
        output = next(
            (o for o in self.config.outputs if o.function == "disconnect" and o.string == message.string_id), None
        )
        if output is None:
            self.log.error("no disconnect output configured for string", string=message.string_id)
            return
        command = SetOutput(self.module_addresses[output.module], output.output, not message.closed, message.reason)
        self.log.info("string relay command", string=message.string_id, closed=message.closed, reason=message.reason)
        self.send(self.bus, command)
