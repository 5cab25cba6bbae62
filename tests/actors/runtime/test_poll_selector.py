"""Thespian's transport waits with poll(); everything else keeps the default selector.

Every multiprocTCPBase test (the actor_system fixture, the gateway processes) runs on the
patched transport: conftest.py and `btms run` both install it.
"""

from __future__ import annotations

import selectors

from actors.runtime.poll_selector import use_poll_selector


def test_thespian_transport_uses_poll_and_asyncio_keeps_its_selector():
    from thespian.system.transport import TCPTransport

    use_poll_selector()
    use_poll_selector()  # idempotent
    assert TCPTransport.selectors.DefaultSelector is selectors.PollSelector
    assert TCPTransport.selectors.EVENT_READ == selectors.EVENT_READ
    assert selectors.DefaultSelector is not selectors.PollSelector  # asyncio and the rest: unchanged
