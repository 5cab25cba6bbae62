"""Start and stop the production actor system (multiprocTCPBase) safely.

Two hazards of Thespian shape this module (THESPIAN.md §7):
- a program that dies leaves its actor processes running, and a new `ActorSystem()` on the
  same admin port silently attaches to them, running old code: so we shut down whatever is
  on our admin port before starting;
- the processes outlive a killed main program: the Watchdog actor (actors/site/watchdog.py)
  shuts the system down when the main program's heartbeats stop.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from observability.log import thespian_log_defs
from actors.runtime.loopback import bind_thespian_to
from actors.runtime.poll_selector import use_poll_selector
from actors.runtime.quiet_identify import use_quiet_identify
from actors.runtime.same_user_only import accept_only_own_user

BASE = "multiprocTCPBase"


def prepare_process(log_dir: Path) -> None:
    """Environment Thespian reads at import time; call before importing thespian.actors."""
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("THESPLOG_FILE", str(log_dir / "thespian-internal.log"))
    os.environ.setdefault("THESPLOG_THRESHOLD", "WARNING")
    os.environ.setdefault("THESPLOG_FILE_MAXSIZE", str(1024 * 1024))
    bind_thespian_to("127.0.0.1")
    use_poll_selector()
    use_quiet_identify()
    accept_only_own_user()


def admin_port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def shut_down_stale_system(port: int) -> bool:
    """If an actor system answers on our admin port, shut it down. Returns True if one did."""
    if not admin_port_in_use(port):
        return False
    from thespian.actors import ActorSystem

    ActorSystem(BASE, {"Admin Port": port}, transientUnique=True).shutdown()
    return True


def start_actor_system(admin_port: int, log_dir: Path, level: int = logging.INFO):
    """A fresh multiprocTCPBase system on loopback, with JSON-lines logging into log_dir."""
    prepare_process(log_dir)
    shut_down_stale_system(admin_port)
    from thespian.actors import ActorSystem

    return ActorSystem(
        BASE,
        {"Admin Port": admin_port},
        logDefs=thespian_log_defs(log_dir, level),
        transientUnique=True,
    )
