"""`btms aggregate --config FILE`: start the aggregator's actor system and serve until stopped.

The tree runs in Thespian's multiprocTCPBase on loopback, like a gateway's, and is kept the
same way (actors/runtime/gateway_process.py): the storage's lock file is held by every process
of the tree, so a start finds and ends what a killed aggregator left; the main program
heartbeats a Watchdog (dead man's switch: a SIGKILLed `btms aggregate` takes its actors with
it within WATCHDOG_TIMEOUT_S) and the Aggregator actor (a lost tree ends the program
non-zero, so the service manager restarts it). SIGTERM or Ctrl-C stops it: the Store writes
what it holds, the subscriber says offline, the system shuts down.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from aggregator.config import load_config
from topology.problems import TopologyError

START_TIMEOUT_S = 60.0
WATCHDOG_TIMEOUT_S = 2.0


def run_aggregator(config_path: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        config = load_config(config_path)
    except TopologyError as error:
        print(str(error), file=err)
        return 1
    from actors.runtime.errors import CannotStart
    from actors.runtime.gateway_lock import GatewayLock
    from actors.runtime.lock_taking import take_storage_lock
    from actors.runtime.system import free_admin_port, prepare_process

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    lock = GatewayLock(config.storage)
    try:
        try:
            config.storage.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CannotStart(f"storage {config.storage} cannot be created: {error.strerror or error}") from None
        prepare_process(config.storage / "log")  # before any Thespian call, even one to a stale system
        take_storage_lock(lock, config.admin_port, "aggregator")
        free_admin_port(config.admin_port)
        return _serve(config, stop, out, err)
    except CannotStart as error:
        print(f"btms aggregate: not started: {error}", file=err)
        return 1
    finally:
        if lock.fd is not None:
            left = lock.end_tree()
            if left:
                print(f"btms aggregate: processes {sorted(left)} did not end; stop them first", file=err)
            lock.release()


def _serve(config, stop: threading.Event, out: TextIO, err: TextIO) -> int:
    from actors.base.watchdog import Watchdog
    from actors.messages.down import StartWatchdog
    from actors.runtime.errors import CannotStart
    from actors.runtime.system import start_actor_system, stop_actor_system
    from actors.runtime.tree_monitor import PERIOD_S, TreeMonitor
    from aggregator.messages import AggregatorReady, InitAggregator
    from aggregator.root import Aggregator

    asys = start_actor_system(config.admin_port, config.storage / "log")
    monitor = TreeMonitor(asys, stop)
    try:
        watchdog = asys.createActor(Watchdog)
        asys.tell(watchdog, StartWatchdog(WATCHDOG_TIMEOUT_S))
        monitor.watch("watchdog", watchdog)
        root = asys.createActor(Aggregator, globalName="aggregator")
        answer = asys.ask(root, InitAggregator(config), START_TIMEOUT_S)
        if not isinstance(answer, AggregatorReady):
            raise CannotStart(getattr(answer, "reason", "no answer within the start timeout"))
        monitor.watch("aggregator", root)
        print(f"aggregator {config.host_id} serving on {answer.web}", file=out, flush=True)
        while not stop.wait(PERIOD_S):
            lost = monitor.verdict()
            if lost:
                print(f"btms aggregate: stopped: lost its actor tree: {lost}", file=err, flush=True)
                return 1
        return 0
    finally:
        stop.set()
        if monitor.admin_gone() is None:  # without its admin the system cannot be asked: the lock ends it
            stop_actor_system(asys, wait_s=15.0)
