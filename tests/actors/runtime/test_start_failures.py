"""`btms run` when a start step fails: one line saying why, a non-zero exit, and no process left.

A process left behind after a failed start kept the admin port, and the next `btms run` on
healthy storage failed until someone killed it by hand. Every test here makes one start step
fail for real (a read-only storage, a port another program holds, an unusable TLS file) and then
looks for any process the run started, by a marker in the environment every fork inherits.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest
import yaml

from actors.runtime.system import admin_port_in_use
from tests.gateway_process import (
    GatewayProcess,
    btms,
    obey_file_permissions,
    wait_serving,
    write_demo_topology,
)

pytestmark = pytest.mark.integration

START_FAILURE_WITHIN_S = 30


def refusal(gateway: GatewayProcess, admin_port_ours: bool = True) -> str:
    """The one line `btms run` printed about not starting; checks it exited non-zero and left nothing."""
    returncode = gateway.process.wait(START_FAILURE_WITHIN_S)
    stderr = gateway.stderr.read_text()
    assert returncode != 0, stderr
    assert "Traceback" not in stderr, stderr
    reasons = [line for line in stderr.splitlines() if line.startswith("gateway gw1 not started: ")]
    assert len(reasons) == 1, stderr
    assert gateway.processes() == set(), "processes left behind by a failed start"
    if admin_port_ours:
        assert not admin_port_in_use(gateway.admin_port)
    return reasons[0]


def stop(gateway: GatewayProcess) -> None:
    """Teardown: stop the run, and kill by pid whatever it left (the test has failed then)."""
    try:
        gateway.stop(signal.SIGTERM)
    finally:
        for pid in gateway.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_read_only_storage_is_refused_before_any_actor_and_the_next_start_works(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=4)
    token = btms("token", "create", "tests", "--topology", str(topology)).stdout.strip()
    storage = tmp_path / "var"
    (storage / "log").mkdir(parents=True, exist_ok=True)  # as a previous run leaves it
    for folder in (storage / "log", storage):
        folder.chmod(0o500)
    try:
        refused = GatewayProcess.launch(
            tmp_path, topology, data, token, name="read-only", preexec_fn=obey_file_permissions
        )
        stderr_lines = []
        try:
            reason = refusal(refused)
            stderr_lines = refused.stderr.read_text().splitlines()
        finally:
            stop(refused)
        assert "is not writable" in reason and str(storage) in reason
        assert stderr_lines == [reason]  # nothing started, so nothing else spoke
    finally:
        for folder in (storage, storage / "log"):
            folder.chmod(0o700)

    healthy = GatewayProcess.launch(tmp_path, topology, data, token, name="healthy")
    try:
        wait_serving(healthy, timeout=15)
    finally:
        stop(healthy)


def _occupied_tcp_port() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def _occupied_udp_port() -> socket.socket:
    bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bound.bind(("127.0.0.1", 0))
    return bound


def _web_port_taken(data, tmp_path):
    holder = _occupied_tcp_port()
    data["services"]["web"]["port"] = holder.getsockname()[1]
    return holder, ["web: cannot listen", str(holder.getsockname()[1])]


def _modbus_port_taken(data, tmp_path):
    holder = _occupied_tcp_port()
    data["services"]["modbus"].update(enabled=True, port=holder.getsockname()[1])
    return holder, ["modbus", str(holder.getsockname()[1])]


def _snmp_port_taken(data, tmp_path):
    holder = _occupied_udp_port()
    data["services"]["snmp"] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": holder.getsockname()[1],
        "read_community": "not-public-test",
    }
    return holder, ["snmp", str(holder.getsockname()[1])]


def _tls_certificate_unusable(data, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    key.write_text("not a key\n")
    data["services"]["web"].update(tls_cert=str(cert), tls_key=str(key))
    return None, ["web", str(cert)]


def _admin_port_held_by_another_program(data, tmp_path):
    holder = _occupied_tcp_port()
    data["gateway"]["admin_port"] = holder.getsockname()[1]
    return holder, ["admin port", str(holder.getsockname()[1]), "another program"]


@pytest.mark.parametrize(
    "make_it_fail",
    [
        _web_port_taken,
        _modbus_port_taken,
        _snmp_port_taken,
        _tls_certificate_unusable,
        _admin_port_held_by_another_program,
    ],
)
def test_a_start_step_that_fails_is_named_in_one_line_and_leaves_no_process(tmp_path, make_it_fail):
    topology, data = write_demo_topology(tmp_path, cells=4)
    holder, words = make_it_fail(data, tmp_path)
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        gateway = GatewayProcess.launch(tmp_path, topology, data, token="")
        try:
            reason = refusal(gateway, admin_port_ours=make_it_fail is not _admin_port_held_by_another_program)
        finally:
            stop(gateway)
        for word in words:
            assert word in reason
        if holder is not None and holder.type == socket.SOCK_STREAM:
            with socket.create_connection(holder.getsockname(), timeout=2):
                pass  # the other program still has its port
    finally:
        if holder is not None:
            holder.close()
