"""Modbus TCP connections: accept, frame, answer in order, and keep the number of sockets bounded.

Why not a stock server: SCADA clients pipeline requests (several frames in one TCP segment),
leak connections when they reconnect, and a port scanner can open thousands. This listener
- answers every complete MBAP frame of a segment, in order, each with its transaction id, and
  keeps a partial frame until the rest arrives (a header announcing more than the largest
  Modbus frame closes the connection: the stream cannot be resynchronised);
- holds at most `max_connections`: a new client is admitted by closing the connection that has
  been idle the longest, so a leaked or hostile batch of idle sockets never locks SCADA out;
- closes a connection that sent no complete request for `idle_timeout_s`;
- stops reading from a client that does not read its answers (asyncio's write high-water mark),
  so neither buffer grows without bound;
- when the process is out of file descriptors anyway, frees one the same way and retries
  instead of spinning; every such condition is logged at most once a minute (ThrottledLog).

Answers are computed synchronously by `answer(unit_id, pdu, client_ip) -> response PDU`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from observability.log import get_logger
from observability.throttled_log import ThrottledLog
from protocols.scada import modbus_mbap as mbap
from protocols.scada.modbus_pdu import ExceptionCode, exception_response
from protocols.scada.tasks import cancel_and_wait

log = get_logger("btms.modbus_tcp")

Answer = Callable[[int, bytes, str], bytes]

OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
RETRY_AFTER_FREEING_S = 0.05  # a closed socket's descriptor is released on the next loop pass
RETRY_WITH_NOTHING_TO_FREE_S = 1.0
WRITE_CHUNK = 16 * 1024  # answers are sent in chunks of this size, so a pause takes effect between them
BACKLOG = 100


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 32
    idle_timeout_s: float = 60.0


class ModbusTcpListener:
    """Listens on every address `host` resolves to; `start()`, then `stop()`."""

    def __init__(self, answer: Answer, limits: ConnectionLimits, problems: ThrottledLog | None = None) -> None:
        self.answer = answer
        self.limits = limits
        self.problems = problems or ThrottledLog(log)
        self._sockets: list[socket.socket] = []
        self._acceptors: list[asyncio.Task] = []
        # Least recently active first: the connection to close when room is needed.
        self._connections: OrderedDict[_Connection, None] = OrderedDict()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            for family, kind, proto, _, address in dict.fromkeys(infos):
                self._sockets.append(_listening_socket(family, kind, proto, address))
        except OSError as exc:
            self._close_sockets()
            raise OSError(f"Modbus TCP server: cannot listen on {host}:{port} ({exc})") from exc
        self._acceptors = [asyncio.create_task(self._accept_forever(s), name="modbus-accept") for s in self._sockets]

    async def stop(self) -> None:
        for task in self._acceptors:
            await cancel_and_wait(task)
        self._acceptors = []
        self._close_sockets()
        for connection in list(self._connections):
            self._drop(connection, abort=True)
        self.problems.flush()

    def _close_sockets(self) -> None:
        for s in self._sockets:
            s.close()
        self._sockets = []

    @property
    def port(self) -> int:
        if not self._sockets:
            raise RuntimeError("Modbus TCP server is not running")
        return int(self._sockets[0].getsockname()[1])

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # -- admission ------------------------------------------------------------------------

    async def _accept_forever(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(listening)
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:
                    log.warning("accept failed", error=str(exc))  # e.g. ECONNABORTED: that client gave up
                    continue
                freed = self._close_longest_idle()
                self.problems.error(
                    "Modbus TCP cannot accept a connection: the process is out of file descriptors",
                    error=str(exc),
                    connections=len(self._connections),
                    action="closed the longest idle connection" if freed else "retrying in 1 s",
                )
                await asyncio.sleep(RETRY_AFTER_FREEING_S if freed else RETRY_WITH_NOTHING_TO_FREE_S)
                continue
            if len(self._connections) >= self.limits.max_connections:
                self._close_longest_idle()
                self.problems.error(
                    "Modbus TCP connection limit reached: closed the longest idle connection to admit a new one",
                    max_connections=self.limits.max_connections,
                    hint="a client that opens connections without closing them, or raise services.modbus.max_connections",
                )
            try:
                await loop.connect_accepted_socket(lambda: _Connection(self), client)
            except OSError as exc:
                client.close()
                self.problems.warning("Modbus TCP connection could not be set up", error=str(exc))

    def _close_longest_idle(self) -> bool:
        for connection in self._connections:
            self._drop(connection)
            return True
        return False

    # -- bookkeeping (called by the connections) ------------------------------------------

    def _admitted(self, connection: _Connection) -> None:
        self._connections[connection] = None

    def _active(self, connection: _Connection) -> None:
        if connection in self._connections:
            self._connections.move_to_end(connection)

    def _drop(self, connection: _Connection, abort: bool = False) -> None:
        self._connections.pop(connection, None)
        connection.close(abort)

    def _idle_expired(self, connection: _Connection) -> None:
        self.problems.info("Modbus TCP closed idle connections", idle_timeout_s=self.limits.idle_timeout_s)
        self._drop(connection)

    def _framing_error(self, connection: _Connection, error: mbap.FramingError) -> None:
        self.problems.warning(
            "Modbus TCP connection closed: not a Modbus TCP frame", client=connection.client_ip, error=str(error)
        )
        self._drop(connection)

    def _answer(self, unit_id: int, pdu: bytes, client_ip: str) -> bytes:
        try:
            return self.answer(unit_id, pdu, client_ip)
        except Exception as exc:  # noqa: BLE001 - a bug must cost one answer, not the connection or the server
            self.problems.error(
                "Modbus TCP request failed", error=f"{type(exc).__name__}: {exc}", unit=unit_id, function=pdu[0]
            )
            return exception_response(pdu[0], ExceptionCode.SERVER_DEVICE_FAILURE)


def _listening_socket(family: int, kind: int, proto: int, address: tuple) -> socket.socket:
    s = socket.socket(family, kind, proto)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # the IPv4 address gets its own socket
        s.bind(address)
        s.listen(BACKLOG)
        s.setblocking(False)
    except OSError:
        s.close()
        raise
    return s


class _Connection(asyncio.Protocol):
    """One client: its receive buffer (at most one partial frame while reading), its idle timer."""

    def __init__(self, listener: ModbusTcpListener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.client_ip = ""
        self.buffer = bytearray()
        self.writing_paused = False
        self.last_request = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client_ip = str(peer[0]) if peer else ""
        loop = asyncio.get_running_loop()
        self.last_request = loop.time()
        self._idle_timer = loop.call_at(self.last_request + self.listener.limits.idle_timeout_s, self._check_idle)
        self.listener._admitted(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.listener._connections.pop(self, None)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.writing_paused:
            self._serve_buffer()

    def pause_writing(self) -> None:
        """The client does not read its answers: stop reading its requests until it does."""
        self.writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.transport is not None:
            self.transport.resume_reading()
            self._serve_buffer()

    def _serve_buffer(self) -> None:
        out: list[bytes] = []
        size = 0
        while self.transport is not None and not self.writing_paused:
            try:
                frame, used = mbap.next_frame(self.buffer)
            except mbap.FramingError as error:
                self._write(out)
                self.listener._framing_error(self, error)
                return
            if frame is None:
                break
            del self.buffer[:used]
            self.last_request = asyncio.get_running_loop().time()
            self.listener._active(self)
            if frame.protocol_id != mbap.MODBUS_PROTOCOL_ID:
                continue  # another protocol on the Modbus port: not ours to answer
            pdu = self.listener._answer(frame.unit_id, frame.pdu, self.client_ip)
            out.append(mbap.frame_bytes(frame.transaction_id, frame.unit_id, pdu))
            size += len(out[-1])
            if size >= WRITE_CHUNK:
                self._write(out)  # may pause writing, which ends the loop
                out, size = [], 0
        self._write(out)

    def _write(self, answers: list[bytes]) -> None:
        if answers and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(answers))

    def _check_idle(self) -> None:
        if self.transport is None:
            return
        loop = asyncio.get_running_loop()
        due = self.last_request + self.listener.limits.idle_timeout_s
        if loop.time() >= due:
            self.listener._idle_expired(self)
        else:
            self._idle_timer = loop.call_at(due, self._check_idle)

    def close(self, abort: bool = False) -> None:
        """Close gracefully when nothing is left to send, else at once (its descriptor is needed)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        transport = self.transport
        if transport is None:
            return
        if abort or transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()
