"""The gateway as a systemd service: the shipped unit file, and `btms run`'s sd_notify messages.

The unit is checked with systemd's own tools (`systemd-analyze verify` and its offline security
review). The notification protocol is checked the way systemd receives it: a unix datagram
socket named by NOTIFY_SOCKET, whose credentials say which process sent each message
(NotifyAccess=main accepts only the main program's).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from actors.messages.down import Heartbeat
from actors.messages.up import HeartbeatAnswer
from actors.runtime.tree_monitor import FRESH_S, PERIOD_S, SILENCE_LIMIT_S
from tests.gateway_process import (
    REPO,
    GatewayProcess,
    gateway_actor,
    kill_all,
    write_demo_topology,
)

pytestmark = pytest.mark.integration

UNIT = REPO / "packaging" / "systemd" / "btms-gateway.service"
MAX_EXPOSURE = 3.0  # systemd-analyze security: 0 = fully locked down, 10 = unprotected


def unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout (verify checks that the program exists)."""
    text = UNIT.read_text()
    assert re.search(r"^ExecStart=\S+/btms run \S+$", text, re.MULTILINE)
    local = re.sub(
        r"^ExecStart=.*$",
        f"ExecStart={sys.executable} -m btms.cli run {tmp_path}/topology.yaml",
        text,
        flags=re.MULTILINE,
    )
    path = tmp_path / UNIT.name
    path.write_text(local)
    return path


def settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_file_passes_systemd_analyze_verify(tmp_path):
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit_for_this_machine(tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""  # verify only warns (exit 0) about unknown keys or bad values


def test_the_unit_restarts_on_failure_and_is_locked_down(tmp_path):
    unit = settings(UNIT.read_text())
    assert unit["Type"] == ["notify"] and unit["WatchdogSec"] and unit["Restart"] == ["on-failure"]
    assert unit["User"] == ["btms"]
    for key, value in (
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
    ):
        assert unit[key] == [value], key
    assert "/var/lib/btms" in unit["ReadWritePaths"]
    review = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit_for_this_machine(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", review.stdout)
    assert exposure, review.stdout + review.stderr
    assert float(exposure.group(1)) <= MAX_EXPOSURE, review.stdout


@dataclass
class Notification:
    at: float  # time.monotonic() when received
    pid: int  # the sender, from the socket credentials
    fields: dict[str, str]


class NotifySocket:
    """What systemd listens on: a unix datagram socket that records each sender's pid."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="btms-notify-")  # short: unix socket paths are limited
        self.path = os.path.join(self.folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.received: list[Notification] = []

    def until(self, predicate, timeout: float, what: str) -> Notification:
        """Receive until a notification satisfies predicate; fail naming `what` at the deadline."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("iII")))
            except TimeoutError:
                break
            pid = next(
                struct.unpack("iII", d)[0]
                for level, kind, d in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            )
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            note = Notification(time.monotonic(), pid, fields)
            self.received.append(note)
            if predicate(note):
                return note
        raise AssertionError(f"no {what} within {timeout} s; received {[n.fields for n in self.received]}")

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def test_btms_run_notifies_ready_then_watchdog_pings_that_stop_when_the_gateway_hangs(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    listener = NotifySocket()
    gateway = None
    try:
        gateway = GatewayProcess.start(tmp_path, topology, data, env={"NOTIFY_SOCKET": listener.path})
        ready = listener.until(lambda n: n.fields.get("READY") == "1", timeout=30, what="READY=1")
        assert not any("WATCHDOG" in n.fields for n in listener.received[:-1])  # nothing is healthy before ready
        assert gateway.get("/api/v1/site")[0] == 200  # ready means serving
        for _ in range(2):
            listener.until(lambda n: n.fields.get("WATCHDOG") == "1", timeout=2, what="WATCHDOG=1")
        assert {n.pid for n in listener.received} == {gateway.process.pid}  # NotifyAccess=main
        assert ready.pid == gateway.process.pid

        asys, gw = gateway_actor(gateway.admin_port)
        answer = asys.ask(gw, Heartbeat(1), 5)
        assert isinstance(answer, HeartbeatAnswer)
        os.kill(answer.pid, signal.SIGSTOP)  # a hung gateway: the tree no longer answers
        hung_at = time.monotonic()
        listener.until(lambda n: n.fields.get("STOPPING") == "1", timeout=SILENCE_LIMIT_S + 15, what="STOPPING=1")
        pings_after = [n.at - hung_at for n in listener.received if n.at > hung_at and "WATCHDOG" in n.fields]
        assert max(pings_after, default=0) <= FRESH_S + 2 * PERIOD_S + 0.5, pings_after
        assert gateway.process.wait(10) != 0
        assert f"the gateway actor (pid {answer.pid}) has not answered" in gateway.stderr.read_text()
        assert gateway.processes() == set()
    finally:
        listener.close()
        if gateway is not None:
            try:
                gateway.stop(signal.SIGTERM)
            finally:
                kill_all(gateway.processes())
