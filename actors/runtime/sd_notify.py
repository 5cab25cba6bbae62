"""Tell the service manager we are ready and alive (systemd's sd_notify protocol, no libsystemd).

With `Type=notify` systemd passes the path of a unix datagram socket in NOTIFY_SOCKET; each
datagram is newline-separated `KEY=value` lines: READY=1 once the gateway serves, WATCHDOG=1
while it is healthy (without it for `WatchdogSec=` systemd kills and restarts the service),
STOPPING=1 when it shuts down, STATUS= a line for `systemctl status`. A name starting with '@'
is in the abstract namespace. Without NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import os
import socket
import sys


class ServiceNotifier:
    def __init__(self, address: str | None):
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self.failed_once = False

    @classmethod
    def from_environment(cls) -> ServiceNotifier:
        """Take NOTIFY_SOCKET out of the environment: the actor processes must not inherit it."""
        return cls(os.environ.pop("NOTIFY_SOCKET", None) or None)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def alive(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self, status: str) -> None:
        self.send(f"STOPPING=1\nSTATUS={status}")

    def send(self, state: str) -> None:
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode())
        except OSError as error:  # never stop the gateway for this; say it once (systemd will act)
            if not self.failed_once:
                self.failed_once = True
                print(f"service manager notification to {self.address!r} failed: {error}", file=sys.stderr)
