"""End-to-end helpers: the simulator and the gateway as separate processes, and real clients.

A user runs `btms sim` in one terminal and `btms run` in another, then looks with curl, mbpoll
and net-snmp. These helpers do the same: every process gets its own output files (Thespian's
orphans would inherit pipes) and is stopped, then killed, when its `with` block ends.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.control import ControlClient
from tests.gateway_process import (
    REPO,
    GatewayProcess,
    btms,
    kill_all,
    wait_serving,
    write_demo_topology,
)
from tests.support import process_running, wait_for


def save_topology(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_serial_topology(
    tmp_path: Path, cells: int = 8, scan_period_s: float = 0.5, string_overrides: dict[str, dict] | None = None
) -> tuple[Path, dict, Path]:
    """The demo topology whose bus port is the simulator's pty link <run_dir>/<bus id>.tty.

    `btms sim` reads the same file (it serves each bus under its own path, whatever `port:`
    says), so the gateway and the simulator agree on devices and addresses.
    Returns (topology file, its data, the simulator's run directory).
    """
    topology, data = write_demo_topology(tmp_path, cells=cells, scan_period_s=scan_period_s)
    run_dir = tmp_path / "sim-run"
    for bus in data["buses"]:
        bus["port"] = str(run_dir / f"{bus['id']}.tty")
    for ups in data["upses"]:
        for string in ups["strings"]:
            if string_overrides and string["id"] in string_overrides:
                string["alarm_overrides"] = string_overrides[string["id"]]
    save_topology(topology, data)
    return topology, data, run_dir


@dataclass
class SimulatorProcess:
    """`btms sim --run-dir D`: the topology's devices as Modbus RTU slaves on pseudo-terminals."""

    process: subprocess.Popen
    run_dir: Path
    stdout: Path
    stderr: Path

    @classmethod
    def launch(cls, tmp_path: Path, topology: Path, run_dir: Path, bus_ids: list[str]) -> SimulatorProcess:
        out, err = tmp_path / "sim.out", tmp_path / "sim.err"
        with open(out, "w") as o, open(err, "w") as e:
            process = subprocess.Popen(
                [sys.executable, "-m", "btms.cli", "sim", "--topology", str(topology), "--run-dir", str(run_dir)],
                cwd=REPO, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        sim = cls(process, run_dir, out, err)

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"btms sim exited with {process.returncode}: {err.read_text()}")
            return (run_dir / "sim.json").exists() and all((run_dir / f"{b}.tty").exists() for b in bus_ids)

        wait_for(ready, timeout=15, interval=0.05, what="btms sim to publish its ptys and control port")
        return sim

    def control(self, cmd: str, **params: object) -> dict:
        """One request on the fault control channel (raises ControlError when refused)."""
        with ControlClient.from_run_dir(self.run_dir) as client:
            return client.send(cmd, **params)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def running_simulator(tmp_path: Path, topology: Path, data: dict, run_dir: Path) -> Iterator[SimulatorProcess]:
    sim = SimulatorProcess.launch(tmp_path, topology, run_dir, [b["id"] for b in data["buses"]])
    try:
        yield sim
    finally:
        sim.stop()


@contextmanager
def running_gateway(
    tmp_path: Path, topology: Path, data: dict, serving_within_s: float = 15, max_open_files: int | None = None
) -> Iterator[GatewayProcess]:
    """`btms run` until the API serves fresh values of every string; every actor process killed at the end."""
    gateway = GatewayProcess.start(tmp_path, topology, data, max_open_files=max_open_files)
    pids: set[int] = set()
    try:
        try:
            wait_serving(gateway, timeout=serving_within_s)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- btms run stderr ---\n{log_tail(gateway.stderr)}") from None
        pids = gateway.actor_pids()
        yield gateway
    finally:
        pids |= gateway.actor_pids()
        try:
            gateway.stop(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait(5)
        kill_all(pids)
        wait_for(lambda: not _living(pids), timeout=5, what="every actor process of the gateway to exit")


def _living(pids: set[int]) -> set[int]:
    return {p for p in pids if process_running(p)}


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a process's log, for a failure message (\"\" when there is none)."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def stored_alarms(settings_db: Path) -> list[dict]:
    """Rows of the `alarms` table as dicts (empty while the table does not exist yet)."""
    if not settings_db.exists():
        return []
    with sqlite3.connect(settings_db) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM alarms ORDER BY id")]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A short `btms` command (check, discover, sim-fault)."""
    return btms(*args, timeout=timeout)


# --- Modbus TCP with mbpoll -------------------------------------------------------------------


@dataclass(frozen=True)
class MbpollResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def registers(self) -> dict[int, int]:
        """`[12]: 	0xFFFF` lines (with -t 4:hex) -> {12: 65535}."""
        return {int(a): int(v, 16) for a, v in re.findall(r"^\[(\d+)\]:\s+0x([0-9A-Fa-f]+)", self.stdout, re.MULTILINE)}


def mbpoll(port: int, unit: int, address: int, count: int) -> MbpollResult:
    """Holding registers from `address` (0-based, as in docs/modbus.md), raw 16-bit words."""
    done = subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", str(unit), "-0", "-r", str(address), "-c", str(count), "-t", "4:hex", "-1",
         "-o", "2", "-p", str(port), "127.0.0.1"],
        capture_output=True, text=True, timeout=20, check=False,  # exceptions are results here
    )  # fmt: skip
    return MbpollResult(done.returncode, done.stdout, done.stderr)


def uint32(words: dict[int, int], address: int) -> int:
    """A 32-bit value, high word first (docs/modbus.md conventions)."""
    return words[address] << 16 | words[address + 1]


def int32(words: dict[int, int], address: int) -> int:
    value = uint32(words, address)
    return value - (1 << 32) if value & 0x8000_0000 else value


def int16(words: dict[int, int], address: int) -> int:
    value = words[address]
    return value - (1 << 16) if value & 0x8000 else value


# --- SNMP with net-snmp -----------------------------------------------------------------------


def net_snmp(tool: str, community: str, port: int, *oids: str) -> dict[str, str]:
    """snmpget/snmpwalk -v2c -On -> {numeric OID without the leading dot: "TYPE: value"}."""
    done = subprocess.run(
        [tool, "-v2c", "-c", community, "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}", *oids],
        capture_output=True, text=True, timeout=30, check=False,  # asserted below with the tool's message
    )  # fmt: skip
    assert done.returncode == 0, f"{tool} failed: {done.stderr or done.stdout}"
    return dict(re.findall(r"^\.(\S+) = (.*)$", done.stdout, re.MULTILINE))


@contextmanager
def snmptrapd(tmp_path: Path, community: str, port: int) -> Iterator[Path]:
    """net-snmp's trap receiver on 127.0.0.1:port, logging to a file whose path is yielded."""
    conf = tmp_path / "snmptrapd.conf"
    conf.write_text(f"authCommunity log {community}\n")
    log = tmp_path / "traps.log"
    process = subprocess.Popen(
        ["snmptrapd", "-f", "-n", "-On", "-C", "-m", "", "-c", str(conf), "-Lf", str(log), f"udp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: log.exists() and "NET-SNMP version" in log.read_text(), timeout=10,
                 what="snmptrapd to start")  # fmt: skip
        yield log
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
