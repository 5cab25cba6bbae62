"""Taking a storage's lock at start, for `btms run` and `btms aggregate` alike
(actors/runtime/gateway_lock.py): refuse while the storage's program runs, end what a dead one left."""

from __future__ import annotations

from actors.runtime.errors import CannotStart
from actors.runtime.gateway_lock import GatewayLock
from actors.runtime.proc_scan import pids_listening_on
from actors.runtime.system import shut_down_system_on


def take_storage_lock(lock: GatewayLock, admin_port: int, program: str = "gateway") -> None:
    """Refuse if a `program` (gateway or aggregator) runs on this storage; end the leftovers of
    one that died."""
    if lock.try_acquire():
        return
    running = lock.holder_running()
    if running is not None:
        raise CannotStart(f"a {program} is already running on storage {lock.path.parent} (pid {running}, {lock.path})")
    if pids_listening_on(admin_port) & lock.tree_pids():  # our dead tree's admin: let it stop cleanly
        shut_down_system_on(admin_port)
    left = lock.end_tree()
    if left or not lock.try_acquire():
        raise CannotStart(f"{lock.path} is still held by processes {sorted(left)} of a {program} that died")
