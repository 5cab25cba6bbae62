"""How the web server's event loop talks to the actor tree, without calling Thespian.

`command(message)` hands a message to the WebServer actor (ProtocolActor.post_command), which
sends it to the gateway. `request(make)` does the same with a fresh request id and waits for the
reply that the actor hands back into the loop (`resolve`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any


class TreeBridge:
    def __init__(self, post: Callable[[Any], None]) -> None:
        self._post = post
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}

    def command(self, message: Any) -> None:
        self._post(message)

    async def request(self, make: Callable[[int], Any], timeout_s: float) -> Any:
        """Send make(request_id) and wait for the reply with that id; TimeoutError after timeout_s."""
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._post(make(request_id))
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, request_id: int, reply: Any) -> None:
        """In the loop: a reply arrived (late replies of timed-out requests are dropped)."""
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(reply)
