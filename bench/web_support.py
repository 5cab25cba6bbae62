"""Parts of bench/web.py: a year of stored history, a logged-in HTTP client, live stream readers."""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import re
import socket
import statistics
import threading
import time
from dataclasses import replace
from pathlib import Path

from bench.storage import SimulatedString, clone_year
from storage.history import schema
from storage.history.compactor import compact_day
from storage.history.retention import RetentionPolicy
from storage.history.writer import HistoryWriter

DAY = 86_400


def write_year(storage_dir: Path, strings: int, cells: int, scan_s: float = 60.0) -> int:
    """Yesterday's scans of every string, compacted, cloned over the 365 days before it (hourly
    summaries of every cell, full samples of string 1): a year of history ending yesterday, as the
    storage benchmark builds it. Returns yesterday's day number."""
    yesterday = schema.day_of(time.time()) - 1
    sims = [SimulatedString(i + 1, cells, random.Random(i), discharges=i < 4) for i in range(strings)]

    async def write() -> None:
        w = HistoryWriter(
            storage_dir, policy=RetentionPolicy(min_free_mb=0), commit_interval_s=3600, compact=False,
            housekeeping_interval_s=1e12,
        )  # fmt: skip
        await w.open()
        for i in range(int(DAY / scan_s)):
            for s in sims:
                status = s.scan(yesterday * DAY + i * scan_s, i)
                w.submit_string(replace(status, ups_id=f"UPS{(s.no - 1) // 4 + 1}"))  # bench_site's UPS ids
            if i % 10 == 9:
                await w.commit()
        await w.commit()
        await w.close()

    asyncio.run(write())
    compact_day(storage_dir, yesterday)
    schema.hot_path(storage_dir, yesterday).unlink()
    clone_year(storage_dir, yesterday, 1)
    return yesterday


class Browser:
    """One keep-alive HTTP connection with a log-in session, as a browser holds it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, data

    def log_in(self, user: str, password: str) -> None:
        _, page = self.request("GET", "/login")
        token = re.search(rb'name="login_csrf" value="([^"]+)"', page).group(1).decode()
        form = f"login_csrf={token}&username={user}&password={password}&next=/site/realtime"
        status, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303 or "btms_session" not in self.cookies:
            raise RuntimeError(f"log-in failed: HTTP {status}")

    def timed(
        self, path: str, repeat: int, headers: dict | None = None, pause_s: float = 0.0, server=None
    ) -> tuple[list[float], list[float]]:
        """Milliseconds of each GET, `pause_s` apart: wall (request sent to last byte read) and, with
        `server` (a psutil.Process), that process' CPU meanwhile (which a loaded machine inflates less)."""
        wall, cpu = [], []
        for _ in range(repeat):
            time.sleep(pause_s)  # pacing: past the server's one-second model cache
            c0 = _cpu(server)
            t = time.perf_counter()
            status, _ = self.request("GET", path, headers=headers)
            wall.append((time.perf_counter() - t) * 1e3)
            cpu.append((_cpu(server) - c0) * 1e3)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}")
        return wall, cpu


def _cpu(process) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def listening_process(port: int):
    """The process that listens on `port` (the gateway's web server actor)."""
    import psutil

    for c in psutil.net_connections("tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid:
            return psutil.Process(c.pid)
    raise RuntimeError(f"no process listens on port {port}")


class StreamReader(threading.Thread):
    """One live client: reads a stream as fast as it comes, notes each event's lag behind the scan."""

    def __init__(self, port: int, path: str, token: str) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.token = port, path, token
        self.lags_ms: list[tuple[float, float]] = []  # (received at, lag)
        self.versions: list[int] = []
        self.stop = threading.Event()
        self.error = ""

    def run(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            request = f"GET {self.path} HTTP/1.0\r\nHost: bench\r\nAuthorization: Bearer {self.token}\r\n\r\n"
            sock.sendall(request.encode())
            buffer = b""
            head_done = False
            while not self.stop.is_set():
                try:
                    chunk = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                if not chunk:
                    if not self.stop.is_set():
                        self.error = "stream closed by the server"
                    return
                buffer += chunk
                if not head_done:
                    if b"\r\n\r\n" not in buffer:
                        continue
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    if not head.startswith(b"HTTP/1.1 200"):
                        self.error = head.split(b"\r\n", 1)[0].decode()
                        return
                    head_done = True
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    self._event(event)
            sock.close()
        except OSError as error:
            self.error = str(error)

    def _event(self, event: bytes) -> None:
        now = time.time()
        for line in event.split(b"\n"):
            if line.startswith(b"data: {"):
                data = json.loads(line[6:])
                self.versions.append(data["version"])
                if data["changed_at"]:
                    self.lags_ms.append((now, (now - data["changed_at"]) * 1e3))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
