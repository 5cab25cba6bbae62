"""Start and stop the production actor system (multiprocTCPBase) safely.

Hazards of Thespian that shape this module (THESPIAN.md §7):
- a program that dies leaves its actor processes running, and a new `ActorSystem()` on the
  same admin port silently attaches to them, running old code: so a stale system on our admin
  port is shut down before we start (the caller decides it is stale: actors/runtime/gateway_lock.py);
- the processes outlive a killed main program: the Watchdog actor (actors/base/watchdog.py)
  shuts the system down when the main program's heartbeats stop;
- Thespian calls can block for a long time (a shutdown waits for actors that do not answer; a
  program on the admin port that is not Thespian takes about 15 s to be refused), so every
  call made while starting or stopping runs with a deadline, and one that may be abandoned
  before a new system starts runs in a process of its own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

from actors.base.forking import prepare_to_fork
from actors.runtime.errors import CannotStart
from actors.runtime.gateway_lock import LOCK_FILE, GatewayLock
from actors.runtime.loopback import bind_thespian_to
from actors.runtime.poll_selector import use_poll_selector
from actors.runtime.proc_scan import open_paths, pids_listening_on
from actors.runtime.quiet_identify import use_quiet_identify
from actors.runtime.same_user_only import accept_only_own_user
from actors.runtime.stack_room import use_stack_room
from observability.log import thespian_log_defs

BASE = "multiprocTCPBase"
SHUTDOWN_WAIT_S = 4.0
STALE_SHUTDOWN_WAIT_S = 5.0


def prepare_process(log_dir: Path) -> None:
    """Environment Thespian reads at import time; call before importing thespian.actors."""
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("THESPLOG_FILE", str(log_dir / "thespian-internal.log"))
    os.environ.setdefault("THESPLOG_THRESHOLD", "WARNING")
    os.environ.setdefault("THESPLOG_FILE_MAXSIZE", str(1024 * 1024))
    # Thespian titles each actor process with its class through setproctitle when it is installed;
    # by default that overwrites the memory /proc/PID/environ shows, and what finds the
    # processes of a run by their environment (tests/gateway_process.py) then finds none.
    os.environ.setdefault("SPT_NOENV", "1")
    bind_thespian_to("127.0.0.1")
    use_poll_selector()
    use_quiet_identify()
    use_stack_room()
    accept_only_own_user()


def admin_port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def shut_down_system_on(port: int, wait_s: float = STALE_SHUTDOWN_WAIT_S) -> bool:
    """Ask whatever actor system answers on `port` to shut down; True if it did within wait_s.

    The request runs in a child process that is killed at the deadline: an abandoned Thespian
    call keeps retrying, and would shut down the next system we start on the same port.
    """
    if not admin_port_in_use(port):
        return True
    import multiprocessing

    asking = multiprocessing.get_context("fork").Process(
        target=_shut_down, args=(port,), name="stale-shutdown", daemon=True
    )
    asking.start()
    asking.join(wait_s)
    if asking.is_alive():
        asking.kill()
        asking.join()
    return asking.exitcode == 0


def _shut_down(port: int) -> None:
    from thespian.actors import ActorSystem

    ActorSystem(BASE, {"Admin Port": port}, transientUnique=True).shutdown()


def free_admin_port(port: int) -> None:
    """Make sure our admin port is free, shutting down a stale system there, never a live gateway.

    Called holding our storage's lock, so no process of our own gateway is on it. Whatever is
    there is another gateway (refused if its main program runs: each gateway needs its own
    admin port), the leftovers of a dead one (shut down), or another program (refused).
    """
    if not admin_port_in_use(port):
        return
    listeners = pids_listening_on(port)
    running = _gateways_behind(listeners)
    if running:
        storage, pid = running[0]
        raise CannotStart(
            f"admin port {port} is used by the gateway of {storage} (pid {pid}); "
            "give each gateway its own gateway.admin_port"
        )
    shut_down_system_on(port)
    if admin_port_in_use(port):
        users = f" (pid {', '.join(map(str, sorted(listeners)))})" if listeners else ""
        raise CannotStart(
            f"admin port {port} is in use by another program{users}; stop it or choose another gateway.admin_port"
        )


def _gateways_behind(listeners: set[int]) -> list[tuple[Path, int]]:
    """(storage, main pid) of every running gateway whose processes hold a listening socket."""
    found = []
    for lock_path in sorted({p for pid in listeners for p in open_paths(pid) if p.endswith("/" + LOCK_FILE)}):
        storage = Path(lock_path).parent
        holder = GatewayLock(storage).holder_running()
        if holder is not None:
            found.append((storage, holder))
    return found


def start_actor_system(admin_port: int, log_dir: Path, level: int = logging.INFO):
    """A fresh multiprocTCPBase system on loopback, with JSON-lines logging into log_dir.

    Raises CannotStart if Thespian cannot start it (its processes are the caller's to end).
    """
    prepare_process(log_dir)
    from thespian.actors import ActorSystem

    # Thespian forks its admin from this process, and the admin forks its log process, the
    # watchdog and the gateway: without a freeze each of them copied every page of this heap
    # at its first full collection.
    prepare_to_fork()
    try:
        return ActorSystem(
            BASE, {"Admin Port": admin_port}, logDefs=thespian_log_defs(log_dir, level), transientUnique=True
        )
    except Exception as error:  # Thespian raises several unrelated types here; all mean "not started"
        raise CannotStart(
            f"the actor system did not start on admin port {admin_port}: {type(error).__name__}: {error}"
        ) from None


def stop_actor_system(asys, wait_s: float = SHUTDOWN_WAIT_S) -> bool:
    """Shut our system down; False if it did not finish within wait_s (its admin is gone or hung).

    It runs in a daemon thread the process abandons at the deadline: the caller then kills what
    is left and exits, so the abandoned call cannot reach a later system.
    """
    outcome: list[bool] = []

    def shut_down() -> None:
        try:
            asys.shutdown()
            outcome.append(True)
        except Exception:  # a dead admin: the caller ends what is left by pid and says so
            outcome.append(False)

    worker = threading.Thread(target=shut_down, name="actor-system-shutdown", daemon=True)
    worker.start()
    worker.join(wait_s)
    return bool(outcome and outcome[0])
