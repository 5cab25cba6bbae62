"""Let Thespian's TCP transport wait with poll() instead of a new epoll instance per wait.

Thespian 4.0.1 builds a fresh `selectors.DefaultSelector()` on every pass of its transport loop
(its own comment: "creates selector on each loop, perhaps this could be optimized"). On Linux
that is an epoll instance: epoll_create, one epoll_ctl per socket, epoll_wait and close, several
system calls for each wait, several waits for each message. PollSelector keeps its registrations
in the process and waits with one poll() call: same semantics for the handful of sockets an
actor holds, and measurably less CPU across the 54 processes of a full gateway (bench/scale.py).

Only the transport module's view of `selectors` changes; asyncio loops elsewhere keep epoll.
Forked actor processes inherit it. Like loopback.py this touches a library internal: thespian is
pinned in pyproject.toml, and every integration test runs on the patched transport.
"""

from __future__ import annotations

import selectors
import types

_installed = False


def use_poll_selector() -> None:
    """Install (idempotent). Call before the first ActorSystem() of the process."""
    global _installed
    if _installed or not hasattr(selectors, "PollSelector"):
        return
    from thespian.system.transport import TCPTransport

    view = types.ModuleType("selectors_for_thespian")
    view.__dict__.update(vars(selectors))
    view.DefaultSelector = selectors.PollSelector
    TCPTransport.selectors = view
    _installed = True
