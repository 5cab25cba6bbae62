"""Server-sent events: a level's present model, pushed when a new scan of it has been applied.

GET /live/site, /live/ups/<id>, /live/strings/<id> (a session or token, web/access.py) and
/live/kiosk (also the kiosk's listed addresses). Each event is the level's whole model, never a
difference, so a client needs only the last one: a stream sends the LATEST version when it can,
and a client too slow for the scan rate skips versions instead of queueing them (its socket
buffers hold at most what it has not read yet). On connecting, the client gets the present
model at once.

Bounded: at most `max_streams` streams per gateway (then 429 with Retry-After); a heartbeat
event every HEARTBEAT_S so a client can tell a quiet stream from a dead one; a stream ends after
MAX_STREAM_S (the browser reconnects by itself, and access is checked again: a logged-out
session stops receiving), and every stream ends at once when the server stops, so `btms run`
is not held up by open browsers.
"""

from __future__ import annotations

import time

from quart import Blueprint, Response

from observability.log import get_logger
from web.errors import json_error
from web.live.changes import KIOSK, SITE, Closed, string_key, ups_key
from web.live.hub import LiveHub
from web.request_args import require_known

MAX_STREAMS = 64  # per gateway: browsers, kiosks and scripts together
HEARTBEAT_S = 10.0
CHECK_S = 2.0  # how often a quiet stream looks whether its level went stale by age
MAX_STREAM_S = 300.0
RETRY_MS = 2000  # the browser's reconnection delay after a stream ends
RETRY_AFTER_S = 10

log = get_logger("btms.web")


class StreamSlots:
    """How many streams are open; one slot per stream, given back exactly once."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open -= 1


class LevelStream:
    """The events of one client's stream (an async iterator Quart sends from)."""

    def __init__(self, hub: LiveHub, key: str, slots: StreamSlots, monotonic=time.monotonic) -> None:
        self.hub, self.key, self.slots, self.monotonic = hub, key, slots, monotonic
        self.sent_version = -1
        self.sent_body: str | None = None
        self.started = self.last_sent = monotonic()
        self._holding = True

    def __aiter__(self) -> LevelStream:
        return self

    async def __anext__(self) -> bytes:
        if self.sent_body is None:
            return f"retry: {RETRY_MS}\n".encode() + self._event()
        while self.monotonic() - self.started < MAX_STREAM_S:
            try:
                await self.hub.board.wait_newer(self.key, self.sent_version, CHECK_S)
            except Closed:
                break
            snapshot = self.hub.snapshot(self.key)
            if snapshot.body != self.sent_body:
                return self._event()
            self.sent_version = snapshot.version  # a new scan that shows the same: nothing to send
            if self.monotonic() - self.last_sent >= HEARTBEAT_S:
                self.last_sent = self.monotonic()
                return f"event: heartbeat\ndata: {time.time():.3f}\n\n".encode()
        await self.aclose()
        raise StopAsyncIteration

    def _event(self) -> bytes:
        snapshot = self.hub.snapshot(self.key)
        self.sent_version, self.sent_body, self.last_sent = snapshot.version, snapshot.body, self.monotonic()
        data = f'{{"version":{snapshot.version},"changed_at":{snapshot.changed_at:.3f},"model":{snapshot.body}}}'
        return f"id: {snapshot.version}\nevent: model\ndata: {data}\n\n".encode()

    async def aclose(self) -> None:
        """Quart calls this when the stream ends or the client leaves; it gives the slot back once."""
        if self._holding:
            self._holding = False
            self.slots.give_back()

    def __del__(self) -> None:  # a stream dropped before Quart started sending it
        if self._holding:
            self._holding = False
            self.slots.give_back()


def live_routes(hub: LiveHub, slots: StreamSlots | None = None) -> Blueprint:
    bp = Blueprint("live", __name__)
    slots = slots or StreamSlots()
    topology = hub.view.topology

    def stream(key: str):
        if not slots.take():
            log.warning("live stream refused: too many open", open=slots.open, limit=slots.limit)
            return json_error(
                429, f"too many live streams open ({slots.limit}): close a page or try again later", RETRY_AFTER_S
            )
        response = Response(LevelStream(hub, key, slots), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold events back
        response.timeout = None  # an event stream has no end the server could wait for
        return response

    @bp.get("/live/site")
    async def site():
        return stream(SITE)

    @bp.get("/live/kiosk")
    async def kiosk():
        return stream(KIOSK)

    @bp.get("/live/ups/<ups_id>")
    async def ups(ups_id: str):
        require_known(topology, ups=ups_id)
        return stream(ups_key(ups_id))

    @bp.get("/live/strings/<string_id>")
    async def string(string_id: str):
        require_known(topology, string=string_id)
        return stream(string_key(string_id))

    bp.slots = slots  # type: ignore[attr-defined]
    return bp
