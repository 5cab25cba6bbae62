"""One gateway per storage directory: an exclusive lock on <storage>/gateway.lock.

`btms run` takes the lock (flock) before it starts any actor and writes its pid into the file.
Every actor process is forked from it and inherits the open file, so the lock stays held while
any process of the tree lives, even after the main program died: the set of processes holding
the file IS the tree, which lets a new `btms run` find and end a dead gateway's leftovers, and
lets every start failure end its own. The descriptor is close-on-exec: programs the gateway
runs do not hold it.

A second `btms run` on the same storage finds the lock held: if the recorded main program still
runs (and holds the file), it refuses to start and names it; if that program is gone, what
still holds the lock is a stale tree, which the caller shuts down.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path

from actors.runtime.errors import CannotStart
from actors.runtime.proc_scan import is_running, pids_holding

LOCK_FILE = "gateway.lock"
EXIT_GRACE_S = 1.0  # after a shutdown, actor processes are usually gone in a few ms
KILL_WAIT_S = 3.0


class GatewayLock:
    def __init__(self, storage_dir: Path):
        self.path = storage_dir / LOCK_FILE
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock and record our pid; False when another process holds it."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise CannotStart(f"storage {self.path.parent} is not writable: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return True

    def holder_pid(self) -> int | None:
        """The pid the holder recorded (None while it is being written, or if unreadable)."""
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def holder_running(self) -> int | None:
        """The pid of the `btms run` holding the lock, if that program still runs."""
        pid = self.holder_pid()
        if pid is None or pid == os.getpid() or not is_running(pid):
            return None
        holding = pids_holding(self.path)
        return pid if pid in holding or not holding else None  # not holding: a reused pid

    def tree_pids(self) -> set[int]:
        """Every other living process holding the lock file: the actor processes of a tree."""
        return {pid for pid in pids_holding(self.path) if pid != os.getpid() and is_running(pid)}

    def end_tree(self, grace_s: float = EXIT_GRACE_S, wait_s: float = KILL_WAIT_S) -> set[int]:
        """Give the other processes holding the lock grace_s to exit, then SIGKILL them.

        A parent killed a moment after its child may fork a replacement first, so killing goes
        on until nothing holds the lock. Returns what is still there after wait_s (nothing,
        unless it belongs to another user).
        """
        wait_until_gone(self.tree_pids, grace_s)
        return wait_until_gone(self._kill_tree, wait_s)

    def _kill_tree(self) -> set[int]:
        """SIGKILL every other process holding the lock; returns the ones that were there."""
        pids = self.tree_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return pids

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def wait_until_gone(pids_now, wait_s: float, poll_s: float = 0.05) -> set[int]:
    """Poll `pids_now()` until it is empty or wait_s passed; return what is left."""
    deadline = time.monotonic() + wait_s
    left = pids_now()
    while left and time.monotonic() < deadline:
        time.sleep(poll_s)
        left = pids_now()
    return left
