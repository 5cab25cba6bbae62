"""Which parts of the site changed, as a version number per level: what wakes the live streams.

The web server applies a scan's statuses one message at a time (a UPS, then each of its
strings). A stream that woke on the first would send a half-applied scan and then again, so
changes are collected for COALESCE_S and published together: each changed level's version goes
up by one and the streams waiting on it wake. A stream never queues versions: it remembers the
last one it sent and, when woken, renders the level as it is now. A client slower than the scan
rate therefore skips versions instead of falling behind.

Runs in the web server's event loop only (apply() is called there): no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

COALESCE_S = 0.02  # a scan's messages arrive within a few milliseconds of each other

SITE = "site"
KIOSK = "kiosk"


def string_key(string_id: str) -> str:
    return f"string:{string_id}"


def ups_key(ups_id: str) -> str:
    return f"ups:{ups_id}"


class Closed(Exception):
    """The board was closed: the server is stopping and every stream must end."""


class ChangeBoard:
    def __init__(self, coalesce_s: float = COALESCE_S, clock=time.time) -> None:
        self.coalesce_s = coalesce_s
        self.clock = clock
        self._versions: dict[str, int] = {}
        self._changed_at: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Event] = {}
        self._dirty: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        self._first_marked = 0.0
        self.closed = False

    def version(self, key: str) -> int:
        return self._versions.get(key, 0)

    def changed_at(self, key: str) -> float:
        """UNIX time the first change of the level's current version was applied (0 before its
        first): a client's lag behind it includes the coalescing."""
        return self._changed_at.get(key, 0.0)

    def mark(self, keys: Iterable[str]) -> None:
        """These levels changed; they are published together a moment later."""
        if self.closed:
            return
        self._dirty.update(keys)
        if self._flush is None:
            self._first_marked = self.clock()
            self._flush = asyncio.get_running_loop().call_later(self.coalesce_s, self.publish)

    def publish(self) -> None:
        """Every marked level gets a new version; its streams wake."""
        self._flush = None
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            self._versions[key] = self._versions.get(key, 0) + 1
            self._changed_at[key] = self._first_marked
            waiter = self._waiters.pop(key, None)
            if waiter is not None:
                waiter.set()

    async def wait_newer(self, key: str, seen: int, timeout_s: float) -> int:
        """The level's version once it is above `seen`, or its current one after `timeout_s`.

        Raises Closed when the board closes (at once, for every waiter).
        """
        if self.closed:
            raise Closed
        if self.version(key) > seen:
            return self.version(key)
        waiter = self._waiters.get(key)
        if waiter is None:
            waiter = self._waiters[key] = asyncio.Event()
        try:
            await asyncio.wait_for(waiter.wait(), timeout_s)
        except TimeoutError:
            pass
        if self.closed:
            raise Closed
        return self.version(key)

    def close(self) -> None:
        """Wake every stream for the last time: the server is stopping."""
        self.closed = True
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.set()
