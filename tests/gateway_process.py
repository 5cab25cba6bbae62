"""Run `btms run` as a real process for integration tests, and find its actor processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from tests.support import free_port, wait_for

REPO = Path(__file__).resolve().parent.parent


def write_demo_topology(tmp_path: Path, cells: int | None = None, scan_period_s: float = 0.5) -> tuple[Path, dict]:
    """The repository's demo topology with free ports, its own storage and simulator name."""
    data = yaml.safe_load((REPO / "topology.yaml").read_text())
    data["gateway"]["admin_port"] = free_port()
    data["services"]["web"]["port"] = free_port()
    data["services"]["modbus"]["port"] = free_port()
    data["services"]["modbus"]["enabled"] = False
    data["storage"]["path"] = str(tmp_path / "var")
    data["buses"][0]["port"] = f"sim://{tmp_path.name}"
    data["buses"][0]["scan_period_s"] = scan_period_s
    if cells is not None:
        for ups in data["upses"]:
            for string in ups["strings"]:
                string["battery"]["count"] = cells
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, data


def btms(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """A short `btms` command whose output we read (never `run`: see GatewayProcess)."""
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", *args], cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class GatewayProcess:
    """`btms run` in the background. Output goes to files: Thespian's orphans would inherit pipes."""

    topology: Path
    data: dict
    process: subprocess.Popen
    stdout: Path
    stderr: Path
    token: str

    @classmethod
    def start(cls, tmp_path: Path, topology: Path, data: dict, max_open_files: int | None = None) -> GatewayProcess:
        """Create an API token for the tests, then launch `btms run`."""
        created = btms("token", "create", "tests", "--topology", str(topology))
        assert created.returncode == 0, created.stderr
        return cls.launch(tmp_path, topology, data, created.stdout.strip(), max_open_files=max_open_files)

    @classmethod
    def launch(cls, tmp_path: Path, topology: Path, data: dict, token: str, name: str = "run",
               max_open_files: int | None = None) -> GatewayProcess:
        """`max_open_files`: run it under `ulimit -n N` (every actor process inherits the limit)."""
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        command = [sys.executable, "-m", "btms.cli", "run", str(topology)]
        if max_open_files is not None:  # the shell execs btms: the pid stays the gateway's
            command = ["sh", "-c", f'ulimit -n {int(max_open_files)} && exec "$@"', "sh", *command]
        with open(out, "w") as o, open(err, "w") as e:
            process = subprocess.Popen(command, cwd=REPO, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        return cls(topology, data, process, out, err, token)

    @property
    def admin_port(self) -> int:
        return self.data["gateway"]["admin_port"]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.data['services']['web']['port']}"

    def get(self, path: str, token: str | None = "default") -> tuple[int, dict]:
        request = urllib.request.Request(self.web_url + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {self.token if token == 'default' else token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def try_get(self, path: str):
        try:
            return self.get(path)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def actor_pids(self) -> set[int]:
        return actor_system_pids(self.admin_port)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout)


def actor_system_pids(admin_port: int) -> set[int]:
    """Every process of the actor system whose admin listens on admin_port (one session)."""
    admin = next(
        (c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == admin_port and c.pid),
        None,
    )
    if admin is None:
        return set()
    sid = os.getsid(admin)
    found = set()
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == sid:
                found.add(p.pid)
        except (ProcessLookupError, PermissionError):
            pass
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.add(pid)
        except psutil.NoSuchProcess:
            pass
    return living


def kill_all(pids: set[int]) -> None:
    for pid in alive(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_serving(gateway: GatewayProcess, timeout: float = 10.0) -> dict:
    """Wait until the API serves fresh values of every string."""

    def fresh():
        if gateway.process.poll() is not None:  # no use waiting out the deadline for a gateway that gave up
            raise AssertionError(f"btms run exited with {gateway.process.returncode} before serving")
        answer = gateway.try_get("/api/v1/site")
        if answer and answer[0] == 200 and all(not s["stale"] for s in answer[1]["strings"]):
            return answer[1]
        return None

    return wait_for(fresh, timeout=timeout, interval=0.1, what="the API to serve fresh values of every string")


def gateway_actor(admin_port: int):
    """Connect to a running gateway's actor system and return (system, gateway address).

    transientUnique: ActorSystem() is otherwise a process-wide singleton that would keep
    pointing at an earlier test's (dead) admin.
    """
    from thespian.actors import ActorSystem

    from actors.runtime.loopback import bind_thespian_to
    from actors.site.gateway import Gateway

    bind_thespian_to("127.0.0.1")  # the gateway's admin listens on loopback only
    if admin_port not in _connections:
        _connections[admin_port] = ActorSystem("multiprocTCPBase", {"Admin Port": admin_port}, transientUnique=True)
    asys = _connections[admin_port]
    return asys, asys.createActor(Gateway, globalName="gateway")


_connections: dict = {}
