"""The live event streams: who may open one, what they send, that a slow client skips versions
instead of queueing them (over a real socket to a real Hypercorn), the bound on open streams,
and that closing ends them."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import replace

from tests.factories import make_status, ui_context
from tests.support import free_port, small_topology
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.live.changes import ChangeBoard, string_key
from web.live.hub import LiveHub
from web.live.stream import LevelStream, StreamSlots
from web.service import WebService
from web.users.book import User

CELLS = 4


def scan(no: int, string_id: str = "U1S1", cells: int = CELLS):
    """A fresh scan whose values differ from scan to scan (so each one is worth sending)."""
    return replace(make_status(string_id, 1, time.time(), cells, ups_id="U1", voltage_mv=13000 + no), scan_no=no)


def events(raw: bytes) -> list[dict]:
    found = []
    for block in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "model":
            found.append(json.loads(fields["data"]))
    return found


def test_streams_need_a_session_and_answer_401_not_a_redirect(tmp_path):
    ui = ui_context(small_topology(tmp_path, cells=CELLS), tmp_path)
    app = create_app(ui, TokenVerifier(tmp_path))

    async def check():
        async with app.test_app():
            client = app.test_client()
            for path in ("/live/site", "/live/ups/U1", "/live/strings/U1S1", "/live/kiosk"):
                response = await client.get(path)
                assert response.status_code == 401, path
                assert "Location" not in response.headers
                assert (await response.get_json())["error"]["status"] == 401

    asyncio.run(check())


def test_a_stream_sends_the_present_model_then_each_new_scan(tmp_path):
    ui = ui_context(small_topology(tmp_path, cells=CELLS), tmp_path)
    app = create_app(ui, TokenVerifier(tmp_path))
    ui.users.add(User("ann", "viewer"), "a-long-password-1")

    async def check():
        session_id, _ = await ui.sessions.create("ann")
        async with app.test_app():
            async with app.test_client().request(
                "/live/strings/U1S1", headers={"Cookie": f"btms_session={session_id}"}
            ) as connection:
                await connection.send_complete()
                first = events(await asyncio.wait_for(connection.receive(), 5))
                assert first[0]["model"]["level"] == "string" and first[0]["model"]["stale"] is True
                status = scan(1)
                ui.view.site.apply_string(status)
                ui.live.apply(status)
                second = events(await asyncio.wait_for(connection.receive(), 5))
                assert second[0]["version"] == first[0]["version"] + 1
                assert second[0]["model"]["stale"] is False
                assert second[0]["model"]["table"]["rows"][0]["cells"][2][0] == "13.001"
                await connection.disconnect()

    asyncio.run(check())


def test_a_slow_reader_gets_the_latest_version_not_every_one(tmp_path):
    topology = small_topology(tmp_path, cells=CELLS)
    view = ui_context(topology, tmp_path).view
    board = ChangeBoard()
    hub = LiveHub(view, ui_context(topology, tmp_path).site_settings, board=board)
    stream = LevelStream(hub, string_key("U1S1"), StreamSlots(1))

    async def check():
        await stream.__anext__()  # the present model
        for no in range(1, 6):  # five scans while the reader is busy elsewhere
            status = scan(no)
            view.site.apply_string(status)
            hub.apply(status)
            board.publish()
        sent = events(await asyncio.wait_for(stream.__anext__(), 5))
        assert sent[0]["version"] == 5
        hub.close()
        try:
            await asyncio.wait_for(stream.__anext__(), 5)
            raise AssertionError("the stream went on after the hub closed")
        except StopAsyncIteration:
            pass

    asyncio.run(check())


def test_a_client_that_stops_reading_skips_versions_over_a_real_socket(tmp_path):
    """The server never queues events for a client: after 200 scans unread, the client gets a
    bounded backlog and then the newest version."""
    topology = small_topology(tmp_path, cells=120, web_port=free_port())
    service = WebService(topology, lambda message: None)
    token = None

    async def check():
        nonlocal token
        from web.api_tokens import create_token

        token = create_token(topology.storage_dir(), "tests", "viewer")
        await service.start()
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", topology.services.web.port))
        request = f"GET /live/strings/U1S1 HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        for no in range(1, 201):
            status = scan(no, cells=120)
            service.apply(status)
            await asyncio.sleep(0.025)  # past the board's coalescing: each scan is its own version
        last = service.live.board.version(string_key("U1S1"))
        assert last == 200
        received = b""
        deadline = time.monotonic() + 10
        newest = f"id: {last}\n".encode()
        while time.monotonic() < deadline and not (newest in received and received.endswith(b"\n\n")):
            try:
                received += await asyncio.wait_for(loop.sock_recv(sock, 1 << 16), 1)
            except TimeoutError:
                pass
        sock.close()
        await service.stop()
        head, _, body = received.partition(b"\r\n\r\n")  # HTTP/1.0: the body is not chunked
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        ids = [e["version"] for e in events(body)]
        assert ids[-1] == last
        assert len(ids) < 60, f"{len(ids)} events: the server queued versions for a client that did not read"

    asyncio.run(check())


def test_streams_beyond_the_bound_get_429_and_a_closed_one_frees_its_slot(tmp_path):
    ui = ui_context(small_topology(tmp_path, cells=CELLS), tmp_path)
    slots = StreamSlots(1)
    app = create_app(ui, TokenVerifier(tmp_path), stream_slots=slots)
    ui.users.add(User("ann", "viewer"), "a-long-password-1")

    async def check():
        session_id, _ = await ui.sessions.create("ann")
        cookie = {"Cookie": f"btms_session={session_id}"}
        async with app.test_app():
            client = app.test_client()
            async with client.request("/live/site", headers=cookie) as connection:
                await connection.send_complete()
                await asyncio.wait_for(connection.receive(), 5)
                refused = await client.get("/live/site", headers=cookie)
                assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
                await connection.disconnect()
            await asyncio.sleep(0)
            for _ in range(100):
                if slots.open == 0:
                    break
                await asyncio.sleep(0.01)
            assert slots.open == 0

    asyncio.run(check())
