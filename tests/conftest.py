"""Fixtures: actor systems on both Thespian bases, torn down with no process left behind."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from actors.runtime.loopback import bind_thespian_to
from actors.runtime.poll_selector import use_poll_selector
from actors.runtime.quiet_identify import use_quiet_identify
from tests.support import free_port, process_running, wait_for

bind_thespian_to("127.0.0.1")
use_poll_selector()  # as `btms run` does: the multiprocTCPBase tests run the production transport
use_quiet_identify()


def _session_pids(admin_port: int) -> set[int]:
    """Every process of the actor system listening on admin_port (they share its session)."""
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


@pytest.fixture(params=["simpleSystemBase", "multiprocTCPBase"])
def actor_system(request):
    """A private actor system per test, on both bases (simpleSystemBase hides pickling bugs)."""
    from thespian.actors import ActorSystem

    if request.param == "simpleSystemBase":
        asys = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
        asys.base_name = request.param
        yield asys
        asys.shutdown()
        return
    port = free_port()
    asys = ActorSystem("multiprocTCPBase", {"Admin Port": port}, transientUnique=True)
    asys.base_name = request.param
    asys.admin_port = port
    pids = _session_pids(port)
    yield asys
    pids |= _session_pids(port)
    asys.shutdown()
    try:
        wait_for(lambda: not any(process_running(p) for p in pids), timeout=5, what="every actor process to exit")
    finally:
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
