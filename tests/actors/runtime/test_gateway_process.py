"""`btms run` as a user runs it: the real multiprocTCPBase tree on the simulator.

Checks the promises of the foundation: serving within 10 s, stopping within 5 s on SIGINT and
SIGTERM with no process left, every socket on loopback, the dead man's switch, one gateway per
storage and per admin port, no attaching to a stale system, authentication, and a string master
re-created after SIGKILL.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import time

import psutil
import pytest
import yaml

from actors.messages.service import LocateString, StringLocation
from tests.gateway_process import (
    GatewayProcess,
    alive,
    gateway_actor,
    kill_all,
    wait_serving,
    write_demo_topology,
)
from tests.support import free_port, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    process = GatewayProcess.start(tmp_path, topology, data)
    started = time.monotonic()
    try:
        wait_serving(process, timeout=10)
        process.serving_after_s = time.monotonic() - started
        process.pids = process.actor_pids()
        yield process
    finally:
        pids = process.actor_pids() | getattr(process, "pids", set())
        try:
            process.stop(signal.SIGTERM)
        except Exception:
            process.process.kill()
        kill_all(pids | process.processes())


def test_serves_live_values_within_ten_seconds(gateway):
    assert gateway.serving_after_s < 10
    status, site = gateway.get("/api/v1/site")
    assert status == 200
    assert [u["id"] for u in site["upses"]] == ["UPS-A", "UPS-B"]
    status, ups = gateway.get("/api/v1/ups/UPS-A")
    assert status == 200 and ups["health"] == "ok"
    volts = [s["voltage_v"] for s in ups["strings"]]
    assert ups["voltage_v"] == pytest.approx(sum(volts) / len(volts), abs=0.02)
    status, cells = gateway.get("/api/v1/strings/A1/cells")
    assert status == 200 and len(cells["cells"]) == 8
    assert all(12.0 < c["voltage_v"] < 15.6 for c in cells["cells"])


def test_api_requires_a_valid_token_and_answers_json_errors(gateway):
    assert gateway.get("/api/v1/site", token=None)[0] == 401
    status, body = gateway.get("/api/v1/site", token="btms_not-a-real-token")
    assert status == 401 and "invalid" in body["error"]["message"]
    status, body = gateway.get("/api/v1/strings/NOPE")
    assert status == 404 and "NOPE" in body["error"]["message"]
    assert gateway.get("/api/v1/nothing-here")[0] == 404


def test_every_listening_socket_is_on_loopback(gateway):
    pids = gateway.actor_pids() | {gateway.process.pid}
    listening = [
        (c.pid, c.laddr)
        for c in psutil.net_connections("inet")
        if c.pid in pids and (c.status == psutil.CONN_LISTEN or c.type == 2)  # TCP listen or bound UDP
    ]
    assert listening, "expected the admin, logger, actors and web server to listen"
    exposed = [(pid, addr) for pid, addr in listening if not ipaddress.ip_address(addr.ip).is_loopback]
    assert exposed == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_everything_within_five_seconds(gateway, signum):
    pids = gateway.actor_pids()
    assert len(pids) >= 8  # admin, logger, watchdog, gateway, bus, 2 UPS (with their string masters), MC, web
    sent = time.monotonic()
    gateway.process.send_signal(signum)
    gateway.process.wait(5)
    wait_for(lambda: not alive(pids), timeout=5 - (time.monotonic() - sent) + 0.5, what="every actor process to exit")
    assert time.monotonic() - sent < 5.5
    assert gateway.process.returncode == 0


def test_killed_main_program_takes_every_actor_with_it(gateway, tmp_path):
    pids = gateway.actor_pids()
    os.kill(gateway.process.pid, signal.SIGKILL)
    gateway.process.wait(5)
    wait_for(lambda: not alive(pids), timeout=5.5, what="the dead man's switch to stop every actor")


def test_a_second_run_on_the_same_storage_refuses_and_names_the_running_one(gateway, tmp_path):
    """It used to shut the live gateway down: the same admin port looked like a stale system."""
    before = alive(gateway.actor_pids())
    second = GatewayProcess.launch(tmp_path, gateway.topology, gateway.data, gateway.token, name="second")
    try:
        assert second.process.wait(30) != 0
        assert second.processes() == set()
    finally:
        try:
            second.stop()
        finally:
            kill_all(second.processes())
    refusal = second.stderr.read_text()
    assert "already running" in refusal and f"pid {gateway.process.pid}" in refusal, refusal
    assert gateway.process.poll() is None
    assert alive(before) == before
    wait_serving(gateway, timeout=5)


def test_a_gateway_of_another_storage_on_the_same_admin_port_is_left_running(gateway, tmp_path):
    other = {
        **gateway.data,
        "storage": {**gateway.data["storage"], "path": str(tmp_path / "other-var")},
        "services": {**gateway.data["services"], "web": {**gateway.data["services"]["web"], "port": free_port()}},
    }
    topology = tmp_path / "other.yaml"
    topology.write_text(yaml.safe_dump(other, sort_keys=False))
    before = alive(gateway.actor_pids())
    second = GatewayProcess.launch(tmp_path, topology, other, gateway.token, name="other")
    try:
        assert second.process.wait(30) != 0
        assert second.processes() == set()
    finally:
        try:
            second.stop()
        finally:
            kill_all(second.processes())
    refusal = second.stderr.read_text()
    assert f"admin port {gateway.admin_port}" in refusal and f"pid {gateway.process.pid}" in refusal, refusal
    assert alive(before) == before
    wait_serving(gateway, timeout=5)


def test_new_run_replaces_the_tree_of_a_gateway_that_died(gateway, tmp_path):
    """The main program is killed while its admin is frozen, so the watchdog cannot end the tree:
    a stale tree holds the lock and the admin port, and the next run must replace it."""
    old = gateway.actor_pids()
    os.kill(gateway.admin_pid(), signal.SIGSTOP)  # the watchdog's shutdown request now goes nowhere
    os.kill(gateway.process.pid, signal.SIGKILL)
    gateway.process.wait(5)
    assert alive(old)  # the stale tree: still serving, nobody to stop it
    fresh = GatewayProcess.launch(tmp_path, gateway.topology, gateway.data, gateway.token, name="second")
    try:
        wait_for(lambda: not alive(old), timeout=15, what="the stale tree to be ended")
        wait_for(lambda: "running" in fresh.stdout.read_text(), timeout=20, what="the new run to start")
        wait_serving(fresh, timeout=10)
        assert not (fresh.actor_pids() & old)
    finally:
        try:
            fresh.stop(signal.SIGTERM)
        finally:
            kill_all(fresh.processes())


def test_a_killed_ups_process_is_recreated_and_its_strings_serving_within_two_seconds(gateway):
    """A UPS hosts its string masters in its own process: the process of string A2 is its UPS's."""
    asys, gw = gateway_actor(gateway.admin_port)
    before = asys.ask(gw, LocateString(1, "A2"), 5)
    assert isinstance(before, StringLocation) and before.pid
    _, status = gateway.get("/api/v1/strings/A2")
    last_scan = status["scan_no"]
    os.kill(before.pid, signal.SIGKILL)
    killed = time.monotonic()

    def serving_again():
        location = asys.ask(gw, LocateString(2, "A2"), 5)
        if not (isinstance(location, StringLocation) and location.pid and location.pid != before.pid):
            return None
        code, body = gateway.get("/api/v1/strings/A2")
        return code == 200 and not body["stale"] and body["scan_no"] > last_scan + 1 and body

    wait_for(serving_again, timeout=4, interval=0.05, what="a new UPS process serving A2")
    assert time.monotonic() - killed < 2.0
    assert not psutil.pid_exists(before.pid) or psutil.Process(before.pid).status() == psutil.STATUS_ZOMBIE


def test_battery_references_survive_a_restart(tmp_path):
    """SOH is measured against each battery's commissioning resistance: a restart must keep it."""
    from actors.messages.service import GetCellRestarts
    from storage.snapshot_file import load_snapshots

    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    first = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(first, timeout=15)
        wait_for(lambda: first.get("/api/v1/strings/A1")[1].get("scan_no", 0) > 12, what="a dozen scans")
    finally:
        pids = first.actor_pids()
        first.stop(signal.SIGTERM)
        kill_all(pids)
    saved = load_snapshots(tmp_path / "var")
    references = [c.reference_resistance_uohm for c in saved["A1"].cells]
    assert len(references) == 8 and all(r > 0 for r in references)

    second = GatewayProcess.launch(tmp_path, topology, data, first.token, name="second")
    try:
        wait_serving(second, timeout=15)
        asys, gw = gateway_actor(second.admin_port)
        location = wait_for(
            lambda: (loc := asys.ask(gw, LocateString(7, "A1"), 5)) and loc.address and loc, what="A1's string master"
        )
        restarts = wait_for(
            lambda: (r := asys.ask(location.address, GetCellRestarts(8, "A1"), 5)) and r.snapshots and r,
            what="A1's cell snapshots",
        )
        assert [c.reference_resistance_uohm for c in restarts.snapshots] == references
    finally:
        pids = second.actor_pids()
        second.stop(signal.SIGTERM)
        kill_all(pids)


def test_the_api_serves_https_with_the_installers_certificate(tmp_path):
    import ssl
    import subprocess
    import urllib.request

    import yaml

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    data["services"]["web"].update(tls_cert=str(cert), tls_key=str(key))
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    gateway = GatewayProcess.start(tmp_path, topology, data)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{data['services']['web']['port']}/api/v1/site"

        def served():
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {gateway.token}"})
            try:
                with urllib.request.urlopen(request, timeout=5, context=context) as response:
                    return response.status == 200 and json.loads(response.read())
            except (OSError, ValueError):
                return None

        site = wait_for(served, timeout=15, what="the API over HTTPS")
        assert site["gateway"]["id"] == "gw1"
        assert gateway.try_get("/api/v1/site") is None  # no plain HTTP on that port
        assert "https://" in gateway.stdout.read_text()
    finally:
        pids = gateway.actor_pids()
        gateway.stop(signal.SIGTERM)
        kill_all(pids)


def test_a_clean_stop_commits_the_scans_still_waiting_for_their_commit(tmp_path):
    """With a 60 s commit interval nothing is on disk yet after a few seconds; SIGTERM must commit it."""
    import asyncio
    import time as clock

    from storage.history.reader import HistoryReader

    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    gateway = GatewayProcess.start(tmp_path, topology, data)
    started = clock.time()
    try:
        wait_serving(gateway, timeout=15)
        last = wait_for(
            lambda: (body := gateway.get("/api/v1/strings/A1")[1]).get("scan_no", 0) >= 6 and body, what="six scans"
        )
    finally:
        pids = gateway.actor_pids()
        gateway.stop(signal.SIGTERM)
        kill_all(pids)
    assert gateway.process.returncode == 0
    points = asyncio.run(
        HistoryReader(tmp_path / "var").series("string", "A1", "voltage", started - 5, clock.time(), 1000)
    )
    assert len(points) >= last["scan_no"] - 1  # every scan served before the stop is stored
