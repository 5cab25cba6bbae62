"""At most a few heavy history queries at once per client address.

Series, snapshots, discharge series and CSV exports run in the web server's worker threads
(six on a 2-core gateway). Without a cap one client could hold every one of them, and every
other operator would wait. A client past its cap gets 429 with Retry-After; a CSV download
holds its slot until its last byte is sent or its client leaves. Behind a reverse proxy every
client has the proxy's address and shares one cap.
"""

from __future__ import annotations

import threading

PER_CLIENT = 2
RETRY_AFTER_S = 2  # a short query ends within a second or two; a download may take longer


class TooManyQueries(Exception):
    """The client already runs its share of heavy queries (the message says how many)."""


class QuerySlots:
    def __init__(self, per_client: int = PER_CLIENT) -> None:
        if per_client < 1:
            raise ValueError(f"QuerySlots: per_client must be >= 1, got {per_client}")
        self.per_client = per_client
        self._running: dict[str, int] = {}  # only clients with a query running: bounded by them
        self._lock = threading.Lock()  # a download's slot is released when its generator is finalised

    def running(self, client: str) -> int:
        return self._running.get(client, 0)

    def claim(self, client: str) -> QuerySlot:
        """A slot for one heavy query of `client`, or TooManyQueries."""
        with self._lock:
            n = self._running.get(client, 0)
            if n >= self.per_client:
                raise TooManyQueries(
                    f"{client} already runs {n} history queries or downloads "
                    f"(at most {self.per_client} at once): wait for one to finish"
                )
            self._running[client] = n + 1
        return QuerySlot(self, client)

    def _release(self, slot: QuerySlot) -> None:
        with self._lock:
            if not slot._held:
                return
            slot._held = False
            client = slot._client
            n = self._running.get(client, 0) - 1
            if n > 0:
                self._running[client] = n
            else:
                self._running.pop(client, None)


class QuerySlot:
    """One claimed slot; release() is idempotent, and `with` releases it at the end."""

    def __init__(self, slots: QuerySlots, client: str) -> None:
        self._slots = slots
        self._client = client
        self._held = True

    def release(self) -> None:
        self._slots._release(self)

    def __enter__(self) -> QuerySlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
