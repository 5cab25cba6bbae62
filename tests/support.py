"""Helpers shared by the tests: topologies built in code, free ports, waiting with a deadline."""

from __future__ import annotations

import errno
import os
import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from battery.site import (
    BatteryType,
    BusConfig,
    GatewayConfig,
    IoModuleConfig,
    MasterControllerConfig,
    ModbusTcpConfig,
    OutputConfig,
    ServicesConfig,
    StorageConfig,
    StringConfig,
    Topology,
    UpsConfig,
    WebConfig,
)

T = TypeVar("T")


REPO = Path(__file__).resolve().parent.parent  # the repository's root
TEST_DATA = REPO / "tests" / "data"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_EPHEMERAL_LOW, _EPHEMERAL_HIGH = _ephemeral_range()
_PORTS_BELOW = 10000  # well-known and registered services stay below this in practice
_handed_out: set[int] = set()


def _unused_port(kind: socket.SocketKind) -> int:
    """A port nobody listens on, chosen OUTSIDE the kernel's ephemeral range.

    A port the kernel picked with bind(0) is in the ephemeral range, where every outgoing
    connection and every Thespian actor (which binds port 0) also takes its ports: between the
    test picking one and the gateway binding it, a starting actor tree could take it first
    ("Address already in use"). Outside that range only explicit binds compete. Each port is
    handed out once per test process."""
    candidates = [p for p in range(_PORTS_BELOW, _EPHEMERAL_LOW) if p not in _handed_out]
    if not candidates:  # a kernel whose ephemeral range starts low: the kernel's choice, as before
        candidates = [0]
    for port in random.sample(candidates, min(len(candidates), 200)):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen = s.getsockname()[1]
        _handed_out.add(chosen)
        return chosen
    raise RuntimeError(f"no free {kind.name} port on 127.0.0.1 below {_EPHEMERAL_LOW}")


def free_port() -> int:
    return _unused_port(socket.SOCK_STREAM)


def free_udp_port() -> int:
    return _unused_port(socket.SOCK_DGRAM)


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")


def small_topology(
    tmp_path: Path,
    upses: int = 1,
    strings_per_ups: int = 2,
    cells: int = 4,
    web_port: int | None = None,
    admin_port: int | None = None,
    scan_period_s: float = 0.2,
    sim_name: str | None = None,
) -> Topology:
    ups_configs = []
    index = 0
    outputs = []
    for u in range(1, upses + 1):
        strings = []
        for k in range(1, strings_per_ups + 1):
            index += 1
            sid = f"U{u}S{k}"
            strings.append(
                StringConfig(
                    id=sid,
                    index=index,
                    name=f"String {sid}",
                    ups_id=f"U{u}",
                    bus="sim",
                    address=index,
                    battery=BatteryType(12, 100.0, cells),
                    hall_range_a=500,
                    climate_sensor=True,
                )
            )
            outputs.append(OutputConfig("io1", index, "disconnect", sid))
        ups_configs.append(UpsConfig(f"U{u}", u, f"UPS {u}", tuple(strings)))
    return Topology(
        gateway=GatewayConfig("gwtest", "Test site", admin_port or free_port()),
        buses=(BusConfig("sim", f"sim://{sim_name or tmp_path.name}", scan_period_s=scan_period_s),),
        upses=tuple(ups_configs),
        master_controller=MasterControllerConfig("sim", 100, (IoModuleConfig("io1", 101),), tuple(outputs)),
        services=ServicesConfig(
            web=WebConfig(enabled=web_port is not None, port=web_port or 8080),
            modbus=ModbusTcpConfig(enabled=False),
        ),
        storage=StorageConfig(path=str(tmp_path / "var")),
        source=str(tmp_path / "topology.yaml"),
    )


def process_running(pid: int) -> bool:
    """Alive and not a zombie; a process that exits while we look is not running."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def session_pids(admin_port: int) -> set[int]:
    """Every process of the actor system listening on admin_port (they share its session)."""
    import os

    import psutil

    admin = None
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == admin_port and conn.pid:
            admin = conn.pid
    if admin is None:
        return set()
    sid = os.getsid(admin)
    pids = set()
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.pid) == sid and p.pid != os.getpid():
                pids.add(p.pid)
        except (ProcessLookupError, PermissionError):
            pass
    return pids


@contextmanager
def small_disk(path: Path, size: str = "8m") -> Iterator[Path]:
    """A real file system of `size` on `path` (tmpfs), so a test can fill a disk; unmounted after.

    Mounting needs root (the test machines run the tests as root); without it the test is
    skipped with the reason, never passed.
    """
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"a full disk is simulated with a {size} tmpfs and mount was refused "
                    f"({(mounted.stderr or mounted.stdout).strip()}): run the tests as root")  # fmt: skip
    try:
        yield path
    finally:
        done = subprocess.run(["umount", str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:  # a process still holds a file there: detach it, do not leave it mounted
            subprocess.run(["umount", "--lazy", str(path)], capture_output=True, text=True, check=False)


def fill_disk(directory: Path, name: str = "filler.bin", leave_bytes: int = 0) -> Path:
    """Write a file in `directory` until the disk has no more than `leave_bytes` free; returns it."""
    import shutil

    path = directory / name
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12):
            block = bytes(chunk)
            while shutil.disk_usage(directory).free - chunk >= leave_bytes:
                try:
                    os.write(fd, block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return path


def run_apart(coroutine):
    """asyncio.run in a thread of its own: a test module that drives Chromium through Playwright's
    sync API has that API's event loop marked as running in the main thread while its browser is
    open, and asyncio.run refuses to start there."""
    import asyncio
    import threading

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="run-apart")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
