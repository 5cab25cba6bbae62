"""One gateway per storage: the lock, its holder, and the leftovers of a holder that died.

Real processes hold the lock: a `holder` program takes it like `btms run` does and forks a child
that inherits it, as Thespian's actor processes do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from actors.runtime.errors import CannotStart
from actors.runtime.gateway_lock import GatewayLock
from tests.gateway_process import REPO
from tests.support import process_running, wait_for

HOLDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from actors.runtime.gateway_lock import GatewayLock
    lock = GatewayLock(Path(sys.argv[1]))
    assert lock.try_acquire()
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """A process holding the lock of tmp_path, and its forked child: (process, child pid)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    child = int(process.stdout.readline())
    yield process, child
    for pid in (process.pid, child):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(5)


def test_a_second_lock_is_refused_and_names_the_running_holder(tmp_path, holder):
    process, child = holder
    lock = GatewayLock(tmp_path)
    assert not lock.try_acquire()
    assert lock.holder_running() == process.pid
    assert lock.tree_pids() == {process.pid, child}
    assert oct(os.stat(lock.path).st_mode & 0o777) == oct(0o600)


def test_the_leftovers_of_a_dead_holder_keep_the_lock_until_they_are_ended(tmp_path, holder):
    process, child = holder
    process.kill()
    process.wait(5)
    lock = GatewayLock(tmp_path)
    assert not lock.try_acquire()  # the forked child still holds it
    assert lock.holder_running() is None  # ... but the program that took it is gone: stale
    assert lock.end_tree() == set()
    assert not process_running(child)
    assert lock.try_acquire()
    assert lock.holder_pid() == os.getpid()
    lock.release()
    wait_for(lambda: _acquired_and_released(tmp_path), timeout=2, what="the released lock")


def _acquired_and_released(storage) -> bool:
    """Take the lock and give it back at once: a lock left open in the test process would make
    it look like a running gateway to every later test (its open files name the lock)."""
    again = GatewayLock(storage)
    if not again.try_acquire():
        return False
    again.release()
    return True


def test_a_storage_that_cannot_hold_the_lock_file_is_named(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(CannotStart, match=f"storage {not_a_folder} is not writable"):
        GatewayLock(not_a_folder).try_acquire()
