"""Limits of the JSON API against a running `btms run`: what one client can cost the gateway.

The gateway holds two weeks of history (compacted and hot, as a running gateway leaves them).
A viewer asks for a series and a CSV of 0001..9999: answered from the stored days, in bounded
time and memory. A client with too many downloads at once, or too many invalid tokens, gets
429 with Retry-After while other addresses are served. Ids past SQLite's 64 bits are 404s.
SIGTERM ends every process of the gateway within 5 s while downloads are still running.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.factories import write_past_days
from tests.gateway_process import (
    GatewayProcess,
    alive,
    btms,
    kill_all,
    wait_serving,
    write_demo_topology,
)
from tests.support import wait_for

pytestmark = pytest.mark.integration

DEMO_STRINGS = [("A1", 1, "UPS-A"), ("A2", 2, "UPS-A"), ("B1", 3, "UPS-B"), ("B2", 4, "UPS-B")]
PAST_DAYS = 14
ALL_TIME = "from=0001-01-01T00:00Z&to=9999-12-31T00:00Z"


@pytest.fixture(scope="module")
def stored_history(tmp_path_factory) -> Path:
    """Two weeks of the demo site (8 batteries per string) at one scan per 10 minutes."""
    storage = tmp_path_factory.mktemp("history") / "var"
    write_past_days(storage, DEMO_STRINGS, PAST_DAYS, step_s=600, cells=8, hot_days=1)
    return storage


def _start(tmp_path: Path, stored_history: Path) -> GatewayProcess:
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    shutil.copytree(stored_history, tmp_path / "var")
    gateway = GatewayProcess.start(tmp_path, topology, data)
    wait_serving(gateway, timeout=20)
    return gateway


def _stop(gateway: GatewayProcess) -> None:
    pids = gateway.actor_pids()
    try:
        gateway.stop(signal.SIGTERM)
    finally:
        kill_all(pids)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, stored_history):
    process = _start(tmp_path_factory.mktemp("gateway"), stored_history)
    try:
        yield process
    finally:
        _stop(process)


def web_pid(gateway: GatewayProcess) -> int:
    """The actor process that serves the API (it listens on the web port)."""
    port = gateway.data["services"]["web"]["port"]
    return next(
        c.pid
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
    )


def request(
    gateway: GatewayProcess, path: str, token: str | None = None, source: str = "127.0.0.1", method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request from a chosen loopback address (every 127/8 address is this machine)."""
    port = gateway.data["services"]["web"]["port"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token or gateway.token}"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def stalled_download(gateway: GatewayProcess, path: str, source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    """Start a download and stop reading after its head: the server's send blocks (a slow client)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, so the server stalls soon
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", gateway.data["services"]["web"]["port"]))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {gateway.token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        got = s.recv(1024)
        assert got, f"the server closed the download of {path} before its head"
        head += got
    return s, head.split(b"\r\n", 1)[0]


class PeakRss:
    """The highest resident set size of a process while the block runs (sampled every 5 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 1e6


def test_ids_beyond_64_bits_are_not_found(gateway):
    for method, path in (
        ("GET", "/api/v1/discharges/99999999999999999999999/series"),
        ("POST", "/api/v1/alarms/99999999999999999999999/acknowledge"),
        ("GET", "/api/v1/discharges/9223372036854775808/series"),
        ("GET", "/api/v1/discharges/" + "9" * 5000 + "/series"),
    ):
        status, headers, body = request(gateway, path, method=method)
        assert status == 404 and headers["content-type"] == "application/json", (path[:60], status, body[:200])
        assert "no such resource" in json.loads(body)["error"]["message"]
    status, _, body = request(gateway, "/api/v1/discharges/9223372036854775807/series")
    assert status == 404 and json.loads(body)["error"]["message"] == "no discharge event 9223372036854775807"


def test_all_of_time_costs_only_the_stored_days(gateway):
    """A viewer's 0001..9999 series and CSV: <= 2 s each, web process RSS growth <= 50 MB."""
    created = btms("token", "create", "wallboard", "--role", "viewer", "--topology", str(gateway.topology))
    assert created.returncode == 0, created.stderr
    viewer = created.stdout.strip()
    with PeakRss(web_pid(gateway)) as rss:
        started = time.monotonic()
        status, _, body = request(gateway, f"/api/v1/series?level=ups&id=UPS-A&quantity=voltage&{ALL_TIME}", viewer)
        series_s = time.monotonic() - started
        started = time.monotonic()
        status_csv, _, text = request(gateway, f"/api/v1/export.csv?{ALL_TIME}", viewer)
        export_s = time.monotonic() - started
    assert status == 200, body[:300]
    points = json.loads(body)["points"]
    assert 400 <= len(points) <= 500  # the stored fortnight divided into buckets, not the calendar
    first_day = int(time.time() // 86_400) - PAST_DAYS
    assert points[0][0] == time.strftime("%Y-%m-%dT00:00:00.000+00:00", time.gmtime(first_day * 86_400))
    assert status_csv == 200
    rows = list(csv.reader(io.StringIO(text.decode())))
    assert len(rows) > len(DEMO_STRINGS) * PAST_DAYS * 144  # every stored scan of every string
    assert series_s <= 2.0 and export_s <= 2.0, (series_s, export_s)
    assert rss.growth_mb <= 50, f"web process grew {rss.growth_mb:.0f} MB"


def test_one_client_gets_a_few_downloads_at_once_and_others_are_served(gateway):
    path = f"/api/v1/export.csv?kind=cells&{ALL_TIME}"
    held = [stalled_download(gateway, path) for _ in range(2)]
    try:
        assert [status for _, status in held] == [b"HTTP/1.1 200 "] * 2
        status, headers, body = request(gateway, f"/api/v1/series?level=string&id=A1&quantity=current&{ALL_TIME}")
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
        assert "at most 2 at once" in json.loads(body)["error"]["message"]
        status, _, _ = request(
            gateway, f"/api/v1/series?level=string&id=A1&quantity=current&{ALL_TIME}", source="127.0.0.2"
        )
        assert status == 200  # another client is served meanwhile
    finally:
        for s, _ in held:
            s.close()
    # A download whose client left gives its slot back.
    wait_for(
        lambda: request(gateway, "/api/v1/series?level=string&id=A1&quantity=current")[0] == 200,
        timeout=10,
        what="the slots of the closed downloads to be given back",
    )


def test_invalid_tokens_are_limited_per_address(gateway):
    answers = [request(gateway, "/api/v1/site", token=f"btms_guess{n}", source="127.0.0.3") for n in range(30)]
    assert [a[0] for a in answers[:10]] == [401] * 10
    assert {a[0] for a in answers[10:]} == {429}
    _, headers, body = answers[-1]
    assert 1 <= int(headers["retry-after"]) <= 60 and headers["content-type"] == "application/json"
    assert "too many invalid API tokens from 127.0.0.3" in json.loads(body)["error"]["message"]
    assert request(gateway, "/api/v1/site", source="127.0.0.3")[0] == 429  # even a good token, for a minute
    assert request(gateway, "/api/v1/site", source="127.0.0.2")[0] == 200  # other addresses are unaffected


def test_sigterm_ends_every_process_while_downloads_run(tmp_path, stored_history):
    gateway = _start(tmp_path, stored_history)
    pids = gateway.actor_pids() | {gateway.process.pid}
    held: list[tuple[socket.socket, bytes]] = []
    try:
        held = [
            stalled_download(gateway, f"/api/v1/export.csv?kind=cells&{ALL_TIME}", source=f"127.0.0.{n}")
            for n in (4, 5)
        ]
        assert all(status == b"HTTP/1.1 200 " for _, status in held)
        stopped_at = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        wait_for(lambda: not alive(pids), timeout=5, interval=0.05, what="every process of the gateway to end")
        assert time.monotonic() - stopped_at <= 5
    finally:
        for s, _ in held:
            s.close()
        kill_all(pids)
