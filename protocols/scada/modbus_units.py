"""One Modbus unit of the SCADA map: its registers, which of them SCADA may write, what a write does.

The server renders statuses into `words` in place; a request reads a slice of it. Writes go to
command registers (switch a string, acknowledge alarms): the unit checks the addresses, the
`on_write` action checks the value and turns it into a command. A written value is not stored:
the register reads what the server renders there (the relay status, 0 for acknowledge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocols.scada.modbus_pdu import (
    READ_FUNCTIONS,
    ExceptionCode,
    Request,
    exception_response,
    read_response,
    write_response,
)

# (address, values, client IP address) -> None to accept the write, or the exception to answer
WriteAction = Callable[[int, tuple[int, ...], str], ExceptionCode | None]


@dataclass(eq=False)
class RegisterUnit:
    words: list[int]
    writable: frozenset[int] = frozenset()
    on_write: WriteAction | None = None

    def serve(self, request: Request, client_ip: str) -> bytes:
        """The response PDU to a well-formed request (see protocols.scada.modbus_pdu)."""
        end = request.address + request.count
        if end > len(self.words):
            return exception_response(request.function, ExceptionCode.ILLEGAL_DATA_ADDRESS)
        if request.function in READ_FUNCTIONS:
            return read_response(request.function, self.words[request.address : end])
        if self.on_write is None or any(a not in self.writable for a in range(request.address, end)):
            return exception_response(request.function, ExceptionCode.ILLEGAL_DATA_ADDRESS)
        refusal = self.on_write(request.address, request.values, client_ip)
        if refusal is not None:
            return exception_response(request.function, refusal)
        return write_response(request)
