"""The service manager's notifications, received on a real unix datagram socket."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from actors.runtime.sd_notify import ServiceNotifier


@pytest.fixture
def abstract_socket():
    name = f"@btms-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:])
    sock.settimeout(2)
    yield name, sock
    sock.close()


def test_ready_alive_and_stopping_arrive_as_systemd_reads_them(abstract_socket, monkeypatch):
    name, sock = abstract_socket
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    notifier = ServiceNotifier.from_environment()
    assert "NOTIFY_SOCKET" not in os.environ  # the actor processes forked later must not inherit it
    notifier.ready("gateway gw1 running")
    notifier.alive()
    notifier.stopping("gateway gw1 stopping")
    received = [sock.recv(1024).decode() for _ in range(3)]
    assert received == ["READY=1\nSTATUS=gateway gw1 running", "WATCHDOG=1", "STOPPING=1\nSTATUS=gateway gw1 stopping"]


def test_without_a_service_manager_nothing_is_sent_and_a_lost_one_is_reported_once(tmp_path, capsys):
    ServiceNotifier(None).ready("x")  # no NOTIFY_SOCKET: nothing to do, nothing to say
    gone = ServiceNotifier(str(tmp_path / "no-such-socket"))
    gone.alive()
    gone.alive()
    assert capsys.readouterr().err.count("service manager notification") == 1
