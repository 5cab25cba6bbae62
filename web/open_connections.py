"""The web server's open connections, so that a stopping gateway can hang up on every one.

Why: asyncio closes a connection only once its send buffer is empty, so a client that stopped
reading in the middle of a download holds a closing connection, and with it Hypercorn's shutdown
and the gateway's, for as long as it likes. After the graceful period the server shuts each
remaining socket down in the kernel: the pending write fails at once and the connection ends.
"""

from __future__ import annotations

import socket
import weakref


class TrackingListener(socket.socket):
    """A listening socket that remembers every connection it accepted while it is open."""

    def __init__(self, listener: socket.socket) -> None:
        super().__init__(listener.family, listener.type, listener.proto, fileno=listener.detach())
        self.accepted: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def accept(self) -> tuple[socket.socket, object]:
        connection, address = super().accept()
        self.accepted.add(connection)
        return connection, address

    def hang_up(self) -> int:
        """Shut every accepted connection still open down, both ways; returns how many."""
        count = 0
        for connection in list(self.accepted):
            try:
                connection.shutdown(socket.SHUT_RDWR)
                count += 1
            except OSError:  # closed already, or the peer went away meanwhile
                pass
        return count


def tracking(listeners: list[socket.socket]) -> list[TrackingListener]:
    """The same listening sockets, each now remembering what it accepts."""
    return [TrackingListener(listener) for listener in listeners]
