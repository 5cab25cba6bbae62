"""`btms aggregate --config FILE`: start the aggregator's actor system and serve until stopped.

The tree runs in Thespian's multiprocTCPBase on loopback, like a gateway's. SIGTERM or Ctrl-C
stops it: the Store writes what it holds, the subscriber says offline, the system shuts down.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from aggregator.config import load_config
from topology.problems import TopologyError

START_TIMEOUT_S = 60.0


def run_aggregator(config_path: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        config = load_config(config_path)
    except TopologyError as error:
        print(str(error), file=err)
        return 1
    from actors.runtime.errors import CannotStart
    from actors.runtime.system import admin_port_in_use, start_actor_system, stop_actor_system

    if admin_port_in_use(config.admin_port):
        print(f"btms aggregate: admin port {config.admin_port} is in use; is an aggregator running?", file=err)
        return 1
    config.storage.mkdir(parents=True, exist_ok=True)
    try:
        asys = start_actor_system(config.admin_port, config.storage / "log")
    except CannotStart as error:
        print(f"btms aggregate: {error}", file=err)
        return 1
    from aggregator.messages import AggregatorReady, InitAggregator
    from aggregator.root import Aggregator

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        root = asys.createActor(Aggregator, globalName="aggregator")
        answer = asys.ask(root, InitAggregator(config), START_TIMEOUT_S)
        if not isinstance(answer, AggregatorReady):
            reason = getattr(answer, "reason", "no answer within the start timeout")
            print(f"btms aggregate: not started: {reason}", file=err)
            return 1
        print(f"aggregator {config.host_id} serving on {answer.web}", file=out, flush=True)
        stop.wait()
        return 0
    finally:
        stop_actor_system(asys, wait_s=15.0)
