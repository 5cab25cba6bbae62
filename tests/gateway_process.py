"""Run `btms run` as a real process for integration tests, and find its actor processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
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


def btms(*args: str, cwd: Path | None = None, timeout: float = 60, preexec_fn=None) -> subprocess.CompletedProcess:
    """A short `btms` command whose output we read (never `run`: see GatewayProcess)."""
    return subprocess.run(
        [sys.executable, "-m", "btms.cli", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def permissive_umask() -> None:
    """preexec_fn: the common default umask 022 (group and others may read new files), whatever
    the test runner's own umask is, so a test sees what a program does about it."""
    os.umask(0o022)


MARKER = "BTMS_TEST_RUN"  # in the environment of one `btms run` and of every process it forks


@dataclass
class GatewayProcess:
    """`btms run` in the background. Output goes to files: Thespian's orphans would inherit pipes."""

    topology: Path
    data: dict
    process: subprocess.Popen
    stdout: Path
    stderr: Path
    token: str
    marker: str = ""

    @classmethod
    def start(cls, tmp_path: Path, topology: Path, data: dict, **launch) -> GatewayProcess:
        """Create an API token for the tests, then launch `btms run` (launch: see `launch`)."""
        created = btms("token", "create", "tests", "--topology", str(topology))
        assert created.returncode == 0, created.stderr
        return cls.launch(tmp_path, topology, data, created.stdout.strip(), **launch)

    @classmethod
    def launch(
        cls,
        tmp_path: Path,
        topology: Path,
        data: dict,
        token: str,
        name: str = "run",
        env: dict | None = None,
        preexec_fn=None,
        max_open_files: int | None = None,
    ) -> GatewayProcess:
        """`env` adds to the environment; `preexec_fn` runs in the child before `btms` starts;
        `max_open_files` runs it under `ulimit -n N` (every actor process inherits the limit)."""
        out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        marker = uuid.uuid4().hex
        command = [sys.executable, "-m", "btms.cli", "run", str(topology)]
        if max_open_files is not None:  # the shell execs btms: the pid stays the gateway's
            command = ["sh", "-c", f'ulimit -n {int(max_open_files)} && exec "$@"', "sh", *command]
        with open(out, "w") as o, open(err, "w") as e:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                stdout=o,
                stderr=e,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {}), MARKER: marker},
                preexec_fn=preexec_fn,
            )
        return cls(topology, data, process, out, err, token, marker)

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

    def processes(self) -> set[int]:
        """Every living process this `btms run` started, found by the marker in its environment.

        Independent of how the gateway tracks its processes: Thespian's admin double-forks and
        calls setsid, but the environment is inherited by every fork.
        """
        found = set()
        for p in psutil.process_iter():
            try:
                if p.environ().get(MARKER) == self.marker and p.status() != psutil.STATUS_ZOMBIE:
                    found.add(p.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return found

    def admin_pid(self) -> int:
        """Thespian's admin: the one process of the run whose parent is not (double fork, setsid)."""
        mine = self.processes()
        admins = [pid for pid in mine - {self.process.pid} if psutil.Process(pid).ppid() not in mine]
        assert len(admins) == 1, f"expected one admin among {sorted(mine)}, found {admins}"
        return admins[0]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout)


def actor_system_pids(admin_port: int) -> set[int]:
    """Every process of the actor system whose admin listens on admin_port (one session)."""
    admin = next(
        (
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == admin_port and c.pid
        ),
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


def obey_file_permissions() -> None:
    """preexec_fn: make a `btms run` started as root obey file permissions like a service user.

    Drops the capabilities that let root ignore them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
    CAP_FOWNER) from the bounding set, so the program exec'd next does not get them. A test run
    by another user needs nothing: permissions already apply.
    """
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
