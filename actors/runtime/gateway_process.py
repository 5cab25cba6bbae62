"""`btms run`: start the actor tree of a topology, keep it alive, stop it on SIGINT/SIGTERM.

The main program's only jobs after start-up are to feed the watchdog and to wait for a signal.
If it is killed, the watchdog stops every actor within WATCHDOG_TIMEOUT_S (dead man's switch);
on a signal it shuts the system down, which ends every actor process.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from actors.runtime.system import start_actor_system

WATCHDOG_TIMEOUT_S = 2.0
HEARTBEAT_PERIOD_S = 0.4
READY_TIMEOUT_S = 20.0


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

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    storage = topology.storage_dir()
    asys = start_actor_system(topology.gateway.admin_port, storage / "log")
    try:
        from actors.messages.down import InitGateway, StartWatchdog
        from actors.messages.up import GatewayReady
        from actors.site.gateway import Gateway
        from actors.site.watchdog import Watchdog

        watchdog = asys.createActor(Watchdog)
        asys.tell(watchdog, StartWatchdog(WATCHDOG_TIMEOUT_S))
        # Heartbeats start with the watchdog: building a large tree takes longer than its timeout.
        heartbeat = threading.Thread(target=_feed_watchdog, args=(asys, watchdog, stop), name="heartbeat", daemon=True)
        heartbeat.start()
        gateway = asys.createActor(Gateway, globalName="gateway")
        ready = asys.ask(gateway, InitGateway(topology), READY_TIMEOUT_S)
        if not isinstance(ready, GatewayReady):
            print(f"gateway {topology.gateway.id}: the actor tree did not start within {READY_TIMEOUT_S:.0f} s", file=err)
            return 1
        if ready.failures:
            for failure in ready.failures:
                print(f"gateway {topology.gateway.id}: {failure}", file=err)
            return 1
        _announce(topology, out)
        stop.wait()
        print("stopping", file=out, flush=True)
        return 0
    finally:
        stop.set()
        asys.shutdown()


def _feed_watchdog(asys, watchdog, stop: threading.Event) -> None:
    """Heartbeats from their own thread, through its own private context (THESPIAN.md §4)."""
    from actors.messages.down import Heartbeat

    with asys.private() as context:
        while not stop.wait(HEARTBEAT_PERIOD_S):
            context.tell(watchdog, Heartbeat(time.time()))


def _announce(topology, out: TextIO) -> None:
    s = topology.services
    lines = [f"gateway {topology.gateway.id} ({topology.gateway.name}) running: {len(topology.strings)} strings in {len(topology.upses)} UPSes"]
    if s.web.enabled:
        scheme = "https" if s.web.tls_cert else "http"
        lines.append(f"  web/API  {scheme}://{s.web.host}:{s.web.port}/api/v1/site")
    lines.append(f"  storage  {topology.storage_dir()}")
    lines.append("  stop with Ctrl-C")
    print("\n".join(lines), file=out, flush=True)
