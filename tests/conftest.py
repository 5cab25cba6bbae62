"""Fixtures: actor systems on both Thespian bases, torn down with no process left behind."""

from __future__ import annotations

import os
import signal

import pytest

from actors.runtime.loopback import bind_thespian_to
from actors.runtime.poll_selector import use_poll_selector
from actors.runtime.quiet_identify import use_quiet_identify
from actors.runtime.same_user_only import accept_only_own_user
from tests.support import free_port, process_running, session_pids, wait_for

pytest_plugins = [
    "tests.notify_support",  # the SMTP server, modem and SMS gateway fixtures
    "tests.browser_fixtures",  # Debian's Chromium through Playwright: browser, page, tablet_page, shoot
]

bind_thespian_to("127.0.0.1")
use_poll_selector()  # as `btms run` does: the multiprocTCPBase tests run the production transport
use_quiet_identify()
accept_only_own_user()  # likewise: every actor port refuses other local users


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
    yield from _multiproc_system()


@pytest.fixture
def tcp_actor_system():
    """multiprocTCPBase only: for tests of the production transport itself (its sockets)."""
    yield from _multiproc_system()


def _multiproc_system():
    from thespian.actors import ActorSystem

    port = free_port()
    asys = ActorSystem("multiprocTCPBase", {"Admin Port": port}, transientUnique=True)
    asys.base_name = "multiprocTCPBase"
    asys.admin_port = port
    pids = session_pids(port)
    yield asys
    pids |= session_pids(port)
    asys.shutdown()
    try:
        wait_for(lambda: not any(process_running(p) for p in pids), timeout=5, what="every actor process to exit")
    finally:
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
