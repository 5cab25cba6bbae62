"""Keep every Thespian socket on one chosen interface (loopback on a gateway).

Thespian 4.0.1 binds its admin, logger and actor sockets to every interface and unpickles
whatever arrives, so anyone who reaches those ports can run code (THESPIAN.md §8-1). We wrap
`IPActorAddress.__init__` so that a wildcard bind name becomes the chosen address. Child
processes are forked and inherit the patch. This touches a library internal: thespian is pinned
in pyproject.toml and test_every_listening_socket_is_on_loopback (tests/actors/runtime/test_gateway_process.py) fails if any listener of a
running gateway is on a non-loopback address.
"""

from __future__ import annotations

import os

_WILDCARDS = ("", "0.0.0.0")
_installed_for: str | None = None


def bind_thespian_to(address: str = "127.0.0.1") -> None:
    """Install the patch (idempotent). Call before the first ActorSystem() of the process."""
    global _installed_for
    os.environ["THESPIAN_BASE_IPADDR"] = address
    if _installed_for is not None:
        _installed_for = address
        return
    from thespian.system.transport import IPBase

    original_init = IPBase.IPActorAddress.__init__

    def init_bound_to_interface(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        host, *rest = self.bindname
        if host in _WILDCARDS:
            self.bindname = (_installed_for, *rest)

    IPBase.IPActorAddress.__init__ = init_bound_to_interface
    _installed_for = address
