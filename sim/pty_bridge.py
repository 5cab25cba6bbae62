"""The simulator's end of a serial line: a pseudo-terminal (or a TCP socket) that can be unplugged.

The gateway opens the other end with its real serial code: the pty's slave path through a
stable symlink (so that a line that is unplugged and plugged back keeps its name, like
/dev/serial/by-id/...), or `socket://127.0.0.1:PORT` like an RS-485-to-Ethernet converter.

We keep our own handle on the pty's slave side open, so a gateway can close and reopen the
port without the line disappearing (socat does the same); `unplug()` closes everything, and
the gateway's reads fail as they do when a USB adapter is pulled.
"""

from __future__ import annotations

import os
import select
import socket
import termios
import tty
from abc import ABC, abstractmethod
from pathlib import Path

_BAUD_BY_SPEED = {
    getattr(termios, f"B{rate}"): rate
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
    if hasattr(termios, f"B{rate}")
}


class LineEndpoint(ABC):
    """One bus line as the simulated devices see it."""

    @property
    @abstractmethod
    def port(self) -> str:
        """What to put in the topology's `port:` for this bus."""

    @abstractmethod
    def read(self, timeout_s: float) -> bytes:
        """Bytes the gateway sent, b"" when none arrived within timeout_s (or while unplugged)."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the gateway (dropped while unplugged or with nobody connected)."""

    @abstractmethod
    def unplug(self) -> None: ...

    def line_baudrate(self) -> int | None:
        """The baud rate the gateway set on its end, when the line can tell (None: unknown)."""
        return None

    @abstractmethod
    def replug(self) -> None: ...

    @property
    @abstractmethod
    def plugged(self) -> bool: ...

    def close(self) -> None:
        self.unplug()


class PtyEndpoint(LineEndpoint):
    def __init__(self, link: Path) -> None:
        self._link = Path(link).absolute()
        self._master: int | None = None
        self._slave: int | None = None
        self.replug()

    @property
    def port(self) -> str:
        return str(self._link)

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def device_path(self) -> str | None:
        return os.ttyname(self._slave) if self._slave is not None else None

    def line_baudrate(self) -> int | None:
        """A pty shares one termios between its ends: we see the speed the gateway opened it with."""
        if self._master is None:
            return None
        try:
            speed = termios.tcgetattr(self._master)[4]
        except termios.error:
            return None
        return _BAUD_BY_SPEED.get(speed)

    def replug(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._link.with_name(self._link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self._link)  # atomic: the name never points nowhere while plugged

    def unplug(self) -> None:
        if self._master is None:
            return
        self._link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def read(self, timeout_s: float) -> bytes:
        master = self._master
        if master is None:
            select.select([], [], [], timeout_s)
            return b""
        ready, _, _ = select.select([master], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(master, 4096)
        except BlockingIOError:
            return b""
        except OSError:  # EIO: no process has the slave open; nothing to read
            return b""

    def write(self, data: bytes) -> None:
        master = self._master
        if master is None:
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(master, view) :]
            except BlockingIOError:
                select.select([], [master], [], 0.1)


class TcpEndpoint(LineEndpoint):
    """A listening socket on loopback; the newest connection owns the line (as on a converter)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._host = host
        self._port = port
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.replug()

    @property
    def port(self) -> str:
        return f"socket://{self._host}:{self._port}"

    @property
    def plugged(self) -> bool:
        return self._listener is not None

    def replug(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, self._port))
        listener.listen(1)
        listener.setblocking(False)
        self._port = listener.getsockname()[1]
        self._listener = listener

    def unplug(self) -> None:
        for s in (self._conn, self._listener):
            if s is not None:
                s.close()
        self._conn = self._listener = None

    def read(self, timeout_s: float) -> bytes:
        if self._listener is None:
            select.select([], [], [], timeout_s)
            return b""
        watched = [self._listener] + ([self._conn] if self._conn is not None else [])
        ready, _, _ = select.select(watched, [], [], timeout_s)
        if self._listener in ready:
            conn, _ = self._listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._conn is not None:
                self._conn.close()
            self._conn = conn
            return b""
        if self._conn is not None and self._conn in ready:
            try:
                data = self._conn.recv(4096)
            except ConnectionError:
                data = b""
            if not data:
                self._conn.close()
                self._conn = None
            return data
        return b""

    def write(self, data: bytes) -> None:
        if self._conn is None:
            return
        try:
            self._conn.sendall(data)
        except OSError:
            self._conn.close()
            self._conn = None
