"""Sending SMS through a GSM modem on a serial port with AT commands in text mode.

Sequence (PROTOCOLS.md §6): AT, ATE0 (echo off), AT+CMEE=2 (verbose errors), AT+CPIN? (and
the PIN if the SIM asks for it), AT+CMGF=1 (text mode), AT+CSCS="GSM", then
AT+CMGS="<number>" CR, wait for the "> " prompt, the text and Ctrl-Z, and "+CMGS: <mr>" OK.
Every command reads until a final result code (OK, ERROR, +CME ERROR, +CMS ERROR); URCs
(RING, +CMTI ...) that arrive in between are skipped. A failure raises ModemError whose text
is what the SMS log shows, e.g. "+CMS ERROR: 500".
"""

from __future__ import annotations

import asyncio
import re

import serial_asyncio_fast

CTRL_Z = b"\x1a"
ESC = b"\x1b"
_FINAL = re.compile(r"^(OK|ERROR|\+CME ERROR:.*|\+CMS ERROR:.*|NO CARRIER)$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


class ModemError(Exception):
    """The modem refused or did not answer; str() is the text for the SMS log."""


class GsmModem:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float = 5.0) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout_s = timeout_s
        self._buffer = b""

    @classmethod
    async def open(cls, port: str, baudrate: int = 115200, timeout_s: float = 5.0) -> GsmModem:
        try:
            reader, writer = await asyncio.wait_for(
                serial_asyncio_fast.open_serial_connection(url=port, baudrate=baudrate), timeout_s
            )
        except (TimeoutError, OSError) as e:  # serial.SerialException is an OSError
            raise ModemError(f"cannot open modem port {port}: {e}") from e
        return cls(reader, writer, timeout_s)

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass

    async def _read_some(self, deadline: float) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError
        chunk = await asyncio.wait_for(self._reader.read(256), remaining)
        if not chunk:
            raise ModemError("modem port closed")
        self._buffer += chunk

    async def _read_line(self, deadline: float) -> str:
        while b"\n" not in self._buffer:
            await self._read_some(deadline)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    async def _until_final(self, command: str, timeout_s: float) -> list[str]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        lines: list[str] = []
        try:
            while True:
                line = await self._read_line(deadline)
                if not line or line == command:  # blank separators, or the echo before ATE0
                    continue
                if _FINAL.match(line):
                    if line == "OK":
                        return lines
                    raise ModemError(line)
                lines.append(line)
        except TimeoutError:
            raise ModemError(f"modem did not answer {command!r} within {timeout_s:g} s") from None

    async def command(self, command: str, timeout_s: float | None = None) -> list[str]:
        """Send one AT command; return the information lines before OK."""
        self._buffer = b""
        self._writer.write(command.encode("ascii") + b"\r")
        return await self._until_final(command, timeout_s or self._timeout_s)

    async def prepare(self, pin: str = "") -> None:
        """Bring the modem into text mode; enter the PIN if the SIM needs one."""
        await self.command("AT")
        await self.command("ATE0")
        await self.command("AT+CMEE=2")
        status = [line for line in await self.command("AT+CPIN?") if line.startswith("+CPIN:")]
        if status and "SIM PIN" in status[0]:
            if not pin:
                raise ModemError("the SIM needs a PIN and none is configured")
            await self.command(f'AT+CPIN="{pin}"', timeout_s=max(self._timeout_s, 10.0))
        elif status and "READY" not in status[0]:
            raise ModemError(f"SIM not ready: {status[0]}")
        await self.command("AT+CMGF=1")
        await self.command('AT+CSCS="GSM"')

    async def send_sms(self, number: str, text: str, timeout_s: float = 60.0) -> int:
        """Send one text-mode SMS; returns the message reference the network gave it."""
        if not _NUMBER.match(number):
            raise ModemError(f"not a phone number: {number!r}")
        payload = text.encode("ascii", "replace")
        if CTRL_Z in payload or ESC in payload:
            raise ModemError("SMS text contains Ctrl-Z or ESC")
        command = f'AT+CMGS="{number}"'
        self._buffer = b""
        self._writer.write(command.encode("ascii") + b"\r")
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            while b">" not in self._buffer:
                final = _final_in(self._buffer)
                if final:
                    raise ModemError(final)
                await self._read_some(deadline)
        except TimeoutError:
            self._writer.write(ESC)
            raise ModemError("modem gave no '>' prompt for the SMS text") from None
        self._buffer = b""
        self._writer.write(payload + CTRL_Z)
        lines = await self._until_final(command, timeout_s)
        for line in lines:
            if line.startswith("+CMGS:"):
                return int(line.split(":", 1)[1].strip())
        raise ModemError(f"modem answered OK without +CMGS: {lines}")


def _final_in(buffer: bytes) -> str | None:
    for raw in buffer.split(b"\n"):
        line = raw.decode("ascii", "replace").strip()
        if line != "OK" and _FINAL.match(line):
            return line
    return None


async def send_sms_via_modem(
    *, port: str, number: str, text: str, baudrate: int = 115200, pin: str = "", timeout_s: float = 60.0
) -> int:
    """Open the port, prepare the modem, send one SMS, close. Returns the message reference."""
    modem = await GsmModem.open(port, baudrate)
    try:
        await modem.prepare(pin)
        return await modem.send_sms(number, text, timeout_s)
    finally:
        await modem.close()
