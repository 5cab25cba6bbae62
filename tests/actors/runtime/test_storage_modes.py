"""Files at rest: the storage folder is 0700 and every file the gateway keeps in it 0600.

The storage holds token and password hashes, notification settings, the history and the logs;
with the usual umask of 022 every local user could read them. Checked on a real `btms run`
started with that umask, over a storage an older version left world-readable.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from tests.gateway_process import (
    GatewayProcess,
    btms,
    kill_all,
    permissive_umask,
    wait_serving,
    write_demo_topology,
)
from tests.support import wait_for

pytestmark = pytest.mark.integration


def modes(storage: Path) -> dict[str, int]:
    """Permission bits of every folder and regular file under storage, by relative path."""
    found = {".": stat.S_IMODE(storage.stat().st_mode)}
    for root, folders, files in os.walk(storage):
        for name in folders + files:
            path = Path(root) / name
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                found[str(path.relative_to(storage))] = stat.S_IMODE(st.st_mode)
    return found


def not_private(storage: Path) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in modes(storage).items()
        if mode != (0o700 if (storage / name).is_dir() else 0o600)
    }


def test_every_file_the_gateway_keeps_is_private_to_its_user(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    storage = tmp_path / "var"
    old_log = storage / "log" / "gateway.jsonl.1"  # as an older version left it
    old_log.parent.mkdir(parents=True)
    old_log.write_text("{}\n")
    for path, mode in ((storage, 0o755), (old_log.parent, 0o755), (old_log, 0o644)):
        path.chmod(mode)
    token = btms("token", "create", "tests", "--topology", str(topology), preexec_fn=permissive_umask).stdout.strip()
    gateway = GatewayProcess.launch(tmp_path, topology, data, token, preexec_fn=permissive_umask)
    try:
        wait_serving(gateway, timeout=15)
        wait_for(lambda: gateway.get("/api/v1/strings/A1")[1].get("scan_no", 0) > 4, what="a few scans")
        running = modes(storage)
        for name in (
            "settings.db",
            "settings.db-wal",
            "settings.db-shm",
            "gateway.lock",
            "history",
            "log",
            "log/gateway.jsonl",
            "log/gateway.jsonl.1",
        ):
            assert name in running, sorted(running)
        assert any(name.startswith("history/") and name.endswith(".db") for name in running), sorted(running)
        assert not_private(storage) == {}
    finally:
        try:
            gateway.stop(signal.SIGTERM)
        finally:
            kill_all(gateway.processes())
    assert (storage / "string-snapshots.json").exists()  # written at the stop
    assert not_private(storage) == {}
