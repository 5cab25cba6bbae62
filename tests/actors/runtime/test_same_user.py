"""Thespian's ports refuse other local users: a real actor system, real sockets, a real second uid.

The tests run as root; a forked child drops to uid 65534 ("nobody") before it creates its
socket, so the kernel lists that socket as nobody's. Every attack is also sent from our own uid
as a control: the same bytes must then be delivered, which shows the refusal is what stops them.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import socket
from dataclasses import dataclass

import psutil
import pytest
from thespian.actors import ActorAddress
from thespian.system.transport.IPBase import TCPv4ActorAddress
from thespian.system.transport.streamBuffer import toSendBuffer

from actors.runtime.same_user_only import check_peer
from tests.recorder import GetRecorded, Recorder
from tests.support import free_port, session_pids, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid"),
]

OTHER_UID = 65534
REPLY_WAIT_S = 5.0


@dataclass(frozen=True)
class Marker:
    text: str


class RunsCommand:
    """Unpickling this runs a shell command: what an attacker would send to a Thespian port."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def envelope(message) -> bytes:
    """One Thespian packet: the length, '>', then the pickled (sender address, message)."""
    sender = ActorAddress(TCPv4ActorAddress("127.0.0.1", free_port(), external=True))
    return toSendBuffer((sender, message), pickle.dumps)


def send_raw(port: int, packet: bytes) -> str:
    """Connect, send one packet, and report what the listener did: "acked" or "closed"."""
    with socket.create_connection(("127.0.0.1", port), timeout=REPLY_WAIT_S) as s:
        s.sendall(packet)
        try:
            reply = s.recv(100)
        except ConnectionResetError:
            return "closed"
        except TimeoutError:
            return "no answer"
        return "acked" if b"ACK" in reply else ("closed" if reply == b"" else f"other: {reply!r}")


def as_user(uid: int, function, *args):
    """Run `function(*args)` in a forked child that has become `uid`; return its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only socket calls, then _exit (no pytest teardown in here)
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            result = {"uid": os.geteuid(), "value": function(*args)}
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            result, code = {"error": f"{type(error).__name__}: {error}"}, 1
        os.write(write_end, json.dumps(result).encode())
        os._exit(code)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], REPLY_WAIT_S * 2)
        assert ready, "the child as another user did not answer"
        result = json.loads(os.read(read_end, 65536))
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert "error" not in result, result
    assert result["uid"] == uid
    return result["value"]


def actor_port(address) -> int:
    return address.addressDetails.connectArgs[0][1]


def listening_ports(admin_port: int) -> set[int]:
    """The ports of the admin, logger and actor processes; not this test process's own (which
    its forks inherit): it only accepts while the test is inside ask()."""
    pids = session_pids(admin_port)
    listening = [c for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN]
    ours = {c.laddr.port for c in psutil.Process().net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
    return {c.laddr.port for c in listening if c.pid in pids} - ours


def recorded(asys, recorder) -> tuple:
    return asys.ask(recorder, GetRecorded(), REPLY_WAIT_S).messages


def test_every_port_of_the_system_refuses_another_user_and_our_own_ask_still_works(tcp_actor_system):
    asys = tcp_actor_system
    recorder = asys.createActor(Recorder)
    assert recorded(asys, recorder) == ()
    ports = listening_ports(asys.admin_port)
    assert asys.admin_port in ports and actor_port(recorder) in ports and len(ports) >= 3  # admin, logger, recorder

    for port in sorted(ports):
        assert as_user(OTHER_UID, send_raw, port, envelope(Marker(f"intruder on {port}"))) == "closed", port
    assert recorded(asys, recorder) == ()  # nothing was delivered, and ask() from our uid works

    assert send_raw(actor_port(recorder), envelope(Marker("insider"))) == "acked"  # control: the same bytes, our uid
    assert wait_for(lambda: recorded(asys, recorder), what="the insider's marker") == (Marker("insider"),)


def test_a_pickled_command_from_another_user_never_runs(tcp_actor_system, tmp_path):
    asys = tcp_actor_system
    recorder = asys.createActor(Recorder)
    assert recorded(asys, recorder) == ()
    intruder_file = tmp_path / "intruder-ran"
    for port in (asys.admin_port, actor_port(recorder)):
        packet = envelope(RunsCommand(f"touch {intruder_file}"))
        assert as_user(OTHER_UID, send_raw, port, packet) == "closed"
    # Closed before a byte was read: nothing can read those bytes any more.
    assert not intruder_file.exists()

    own_file = tmp_path / "own-ran"  # control: the same payload from our uid does run
    assert send_raw(actor_port(recorder), envelope(RunsCommand(f"touch {own_file}"))) == "acked"
    wait_for(own_file.exists, what="the control payload to run")
    assert not intruder_file.exists()


def _connect_send_and_close(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=REPLY_WAIT_S) as s:
        s.sendall(b"5>hello")
    return True


def _connect_and_hold(port: int, ready_fd: int, release_fd: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=REPLY_WAIT_S) as s:
        os.write(ready_fd, b"1")
        select.select([release_fd], [], [], REPLY_WAIT_S * 2)
        return bool(s)


def test_a_connection_whose_other_end_was_closed_is_refused_even_for_uid_0(tmp_path):
    """A closed socket is listed with uid 0; a root gateway must not take that for its own."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert as_user(OTHER_UID, _connect_send_and_close, port)
        connection, _ = listener.accept()
        with connection:
            verdict = check_peer(connection, own_uid=0)
        assert not verdict.allowed and verdict.owner_uid is None and verdict.peer is not None

        _connect_send_and_close(port)  # our own uid, closed before the accept: unknown too
        connection, _ = listener.accept()
        with connection:
            assert not check_peer(connection, own_uid=os.geteuid()).allowed

        with socket.create_connection(("127.0.0.1", port)) as ours:
            connection, _ = listener.accept()
            with connection:
                verdict = check_peer(connection, own_uid=os.geteuid())
            assert verdict.allowed and verdict.owner_uid == os.geteuid() and ours


def test_another_users_open_connection_is_attributed_to_that_user():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ready_r, ready_w = os.pipe()
        release_r, release_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgroups([])
                os.setgid(OTHER_UID)
                os.setuid(OTHER_UID)
                code = 0 if _connect_and_hold(port, ready_w, release_r) else 1
            finally:
                os._exit(code)
        try:
            assert select.select([ready_r], [], [], REPLY_WAIT_S)[0], "the other user's client did not connect"
            connection, _ = listener.accept()
            with connection:
                verdict = check_peer(connection, own_uid=os.geteuid())
            assert not verdict.allowed and verdict.owner_uid == OTHER_UID
        finally:
            os.write(release_w, b"1")
            os.waitpid(pid, 0)
            for fd in (ready_r, ready_w, release_r, release_w):
                os.close(fd)
