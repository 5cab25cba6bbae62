"""`btms run`: start the actor tree of a topology, keep it alive, stop it on SIGINT/SIGTERM.

Start-up checks everything it can before any actor process exists (the topology, the storage,
the lock that allows one gateway per storage, the admin port), and every failure after that
ends every process it started: the lock file is inherited by each of them, so whoever still
holds it is killed (actors/runtime/gateway_lock.py). A failure is reported in one line and a
non-zero exit, never a traceback.

While it runs the main program exchanges heartbeats with its tree (actors/runtime/tree_monitor.py):
if the main program is killed, the watchdog stops every actor within WATCHDOG_TIMEOUT_S (dead
man's switch); if the tree is lost, the main program ends what is left and exits non-zero, so
the service manager restarts it. Under systemd it reports READY=1 and, while the tree answers,
WATCHDOG=1 (actors/runtime/sd_notify.py).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from actors.runtime.errors import CannotStart
from actors.runtime.gateway_lock import GatewayLock
from actors.runtime.lock_taking import take_storage_lock
from actors.runtime.sd_notify import ServiceNotifier
from actors.runtime.storage_access import check_storage, create_storage
from actors.runtime.system import (
    free_admin_port,
    prepare_process,
    start_actor_system,
    stop_actor_system,
)
from actors.runtime.tree_monitor import PERIOD_S, TreeMonitor

WATCHDOG_TIMEOUT_S = 2.0
# Beyond the gateway's own wait for its services (30 s), within the unit's TimeoutStartSec (60 s).
READY_TIMEOUT_S = 45.0


class TreeLost(Exception):
    """The running tree went away from outside; the message says how."""


def run_gateway(topology_path: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from topology.loader import TopologyError, load_topology
    from topology.problems import shown_problems

    try:
        topology = load_topology(topology_path)
    except TopologyError as error:
        for line in shown_problems(error.problems):
            print(line, file=err)
        print(f"{topology_path}: {len(error.problems)} problem(s); the gateway was not started", file=err)
        return 2

    label = f"gateway {topology.gateway.id}"
    notifier = ServiceNotifier.from_environment()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    storage = topology.storage_dir()
    lock = GatewayLock(storage)
    try:
        create_storage(storage)
        prepare_process(storage / "log")  # before any Thespian call, even one to a stale system
        take_storage_lock(lock, topology.gateway.admin_port)
        check_storage(storage)
        free_admin_port(topology.gateway.admin_port)
        return _serve(topology, label, stop, notifier, out)
    except CannotStart as error:
        print(f"{label} not started: {error}", file=err)
        return 1
    except TreeLost as error:
        print(f"{label} stopped: {error}", file=err, flush=True)
        return 1
    finally:
        if lock.fd is not None:
            left = lock.end_tree()
            if left:
                print(f"{label}: processes {sorted(left)} did not end; stop them before the next start", file=err)
            lock.release()


def _serve(topology, label: str, stop: threading.Event, notifier: ServiceNotifier, out: TextIO) -> int:
    asys = start_actor_system(topology.gateway.admin_port, topology.storage_dir() / "log")
    monitor = TreeMonitor(asys, stop)
    try:
        try:
            _start_tree(asys, topology, monitor)
        except CannotStart:
            raise
        except Exception as error:  # Thespian's failures share no base class; all mean "not started"
            raise CannotStart(f"the actor tree did not start: {type(error).__name__}: {error}") from None
        _announce(topology, out)
        notifier.ready(f"{label} running")
        while not stop.wait(PERIOD_S):
            lost = monitor.verdict()
            if lost:
                notifier.stopping(f"{label} lost its actor tree: {lost}")
                raise TreeLost(lost)
            if monitor.answering():
                notifier.alive()
        notifier.stopping(f"{label} stopping")
        print("stopping", file=out, flush=True)
        return 0
    finally:
        stop.set()
        if monitor.admin_gone() is None:  # without its admin the system cannot be asked: the caller kills it
            stop_actor_system(asys)


def _start_tree(asys, topology, monitor: TreeMonitor) -> None:
    """The watchdog, then the gateway, which builds the tree; returns once every service answered."""
    from actors.base.watchdog import Watchdog
    from actors.messages.down import InitGateway, StartWatchdog
    from actors.messages.up import GatewayReady
    from actors.site.gateway import Gateway

    watchdog = asys.createActor(Watchdog)
    asys.tell(watchdog, StartWatchdog(WATCHDOG_TIMEOUT_S))
    # Heartbeats start with the watchdog: building a large tree takes longer than its timeout.
    monitor.watch("watchdog", watchdog)
    gateway = asys.createActor(Gateway, globalName="gateway")
    ready = asys.ask(gateway, InitGateway(topology), READY_TIMEOUT_S)
    if not isinstance(ready, GatewayReady):
        raise CannotStart(f"the actor tree did not start within {READY_TIMEOUT_S:.0f} s")
    if ready.failures:
        raise CannotStart("; ".join(ready.failures))
    monitor.watch("gateway", gateway)


def _announce(topology, out: TextIO) -> None:
    s = topology.services
    lines = [
        f"gateway {topology.gateway.id} ({topology.gateway.name}) running: {len(topology.strings)} strings in {len(topology.upses)} UPSes"
    ]
    if s.web.enabled:
        scheme = "https" if s.web.tls_cert else "http"
        lines.append(f"  web/API  {scheme}://{s.web.host}:{s.web.port}/api/v1/site")
    lines.append(f"  storage  {topology.storage_dir()}")
    lines.append("  stop with Ctrl-C")
    print("\n".join(lines), file=out, flush=True)
