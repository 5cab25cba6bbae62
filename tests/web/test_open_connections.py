"""A stopping web server hangs up on a client that stopped reading mid-download.

asyncio closes a connection only once its send buffer is empty; without the hang-up such a
client held the server, and the gateway's SIGTERM, for as long as it kept the socket open.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from web.open_connections import TrackingListener

pytestmark = pytest.mark.timeout(30)

CHUNK = b"x" * (1 << 20)


async def _stalled_server_closing(hang_up: bool) -> bool:
    """A server that writes to a client that never reads, then closes; True if the close ended."""
    listener = TrackingListener(socket.create_server(("127.0.0.1", 0)))
    closed = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(CHUNK * 8)  # more than any kernel buffers: most of it stays in asyncio's
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        closed.set()

    server = await asyncio.start_server(serve, sock=listener)
    client = socket.create_connection(listener.getsockname())  # connects and never reads
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not listener.accepted and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert len(listener.accepted) == 1, "the listener did not remember the connection it accepted"
        if hang_up:
            assert listener.hang_up() == 1
        try:
            await asyncio.wait_for(closed.wait(), 1.0)
            return True
        except TimeoutError:
            return False
    finally:
        client.close()
        server.close()


def test_a_client_that_stopped_reading_holds_a_closing_connection_open():
    assert asyncio.run(_stalled_server_closing(hang_up=False)) is False


def test_hanging_up_ends_that_connection_at_once():
    assert asyncio.run(_stalled_server_closing(hang_up=True)) is True


def test_hang_up_skips_connections_already_closed():
    listener = TrackingListener(socket.create_server(("127.0.0.1", 0)))
    client = socket.create_connection(listener.getsockname())
    connection, _ = listener.accept()
    connection.close()
    try:
        assert listener.hang_up() == 0
    finally:
        client.close()
        listener.close()
