"""Thespian's sockets accept connections only from processes of the gateway's own user.

Binding to loopback (loopback.py) keeps other machines out, but any local user could still
connect to the admin port or an actor's port, and Thespian unpickles what arrives: a pickled
`os.system` call would run as the gateway. So every accepted connection is checked before
Thespian reads a byte of it: the owner of the socket at the other end is looked up in
/proc/net/tcp (then /proc/net/tcp6, see proc_net_tcp.py) and the connection is closed unless
that owner is our own effective uid. Refusals are logged, at most once per LOG_INTERVAL_S with
the number refused in between, so a local user hammering a port cannot flood the log.

The cost is paid per connection, not per message: Thespian keeps a connection open while it is
in use (up to 20 minutes idle). Reading /proc/net/tcp costs the kernel a walk of its whole
socket table (docs/architecture.md has the measured figure).

Hook: `TCPTransport._acceptNewIncoming` accepts one connection and registers it for reading;
we wrap it and unregister and close whatever it registered that fails the check. Like
loopback.py this touches a library internal: thespian is pinned in pyproject.toml, and
tests/actors/runtime/test_same_user.py fails if the check stops working.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from actors.runtime.proc_net_tcp import Endpoint, connection_needles, connection_owner
from observability.log import configure_structlog

SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
LOG_INTERVAL_S = 60.0

_log = structlog.get_logger("gateway.runtime")
_installed = False


@dataclass(frozen=True)
class PeerVerdict:
    allowed: bool
    peer: Endpoint | None  # None: the connection was gone before we could ask
    owner_uid: int | None  # None: no process holds the other end (closed) or it is not listed
    error: str = ""


def _rows_mentioning(path: str, needles: set[str]) -> str:
    """The rows of a socket table that contain one of `needles`, read line by line: the whole
    table of a busy host is hundreds of kB, and holding it at once grew every actor process."""
    try:
        with open(path, encoding="ascii") as table:
            return "".join(line for line in table if any(n in line for n in needles))
    except FileNotFoundError:  # a kernel without IPv6 has no tcp6
        return ""


def check_peer(sock: socket.socket, own_uid: int, tables: Sequence[str] = SOCKET_TABLES) -> PeerVerdict:
    """Who is at the other end of this accepted local connection, and may it talk to us?"""
    try:
        peer = tuple(sock.getpeername()[:2])
        me = tuple(sock.getsockname()[:2])
    except OSError as error:
        return PeerVerdict(False, None, None, f"{type(error).__name__}: {error}")
    owner = None
    try:
        for table in tables:
            rows = _rows_mentioning(table, connection_needles(peer, me))  # type: ignore[arg-type]
            owner = connection_owner(rows, peer, me)  # type: ignore[arg-type]
            if owner is not None:
                break
    except (OSError, ValueError) as error:
        return PeerVerdict(False, peer, None, f"{type(error).__name__}: {error}")  # type: ignore[arg-type]
    return PeerVerdict(owner == own_uid, peer, owner)  # type: ignore[arg-type]


class RefusalLog:
    """One warning per interval; the refusals in between are counted into the next one."""

    def __init__(self, interval_s: float = LOG_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._next_at: float | None = None
        self._unlogged = 0

    def refused(self, verdict: PeerVerdict, listening: str) -> bool:
        """Count a refusal; log it if the interval has passed. Returns True if it was logged.

        A connection whose other end was already closed when it was checked (no process holds
        it: every gateway shutdown has a few, from its own actors) is refused without a warning:
        nothing was read from it, and a warning each shutdown would hide the ones that matter."""
        if verdict.peer is not None and verdict.owner_uid is None and not verdict.error:
            return False
        now = self._clock()
        self._unlogged += 1
        if self._next_at is not None and now < self._next_at:
            return False
        configure_structlog()  # the admin process runs none of our actors' __init__: it may not be yet
        _log.warning(
            "connection refused: not from the gateway's own user",
            listening=listening,
            peer=f"{verdict.peer[0]}:{verdict.peer[1]}" if verdict.peer else "gone",
            peer_uid=verdict.owner_uid if verdict.owner_uid is not None else "unknown",
            own_uid=os.geteuid(),
            error=verdict.error or None,
            refused=self._unlogged,
            interval_s=self._interval_s,
        )
        self._unlogged = 0
        self._next_at = now + self._interval_s
        return True


_refusals = RefusalLog()


def accept_only_own_user() -> None:
    """Install the check (idempotent). Call before the first ActorSystem() of the process."""
    global _installed
    if _installed:
        return
    if not os.path.exists(SOCKET_TABLES[0]):
        raise RuntimeError(f"{SOCKET_TABLES[0]} is missing: the gateway's peer check needs Linux's /proc")
    from thespian.system.transport import TCPTransport

    original_accept = TCPTransport.TCPTransport._acceptNewIncoming

    def accept_then_check_owner(self):  # type: ignore[no-untyped-def]
        registered = {id(incoming) for incoming in self._incomingSockets.values()}
        original_accept(self)
        for fileno, incoming in list(self._incomingSockets.items()):
            if id(incoming) in registered or incoming.socket is None:
                continue
            verdict = check_peer(incoming.socket, os.geteuid())
            if not verdict.allowed:
                del self._incomingSockets[fileno]
                incoming.close()
                _refusals.refused(verdict, str(self.myAddress))

    TCPTransport.TCPTransport._acceptNewIncoming = accept_then_check_owner
    _installed = True
