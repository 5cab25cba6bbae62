"""The storage directory is made private (0700 / 0600) and proved writable before a start."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from actors.runtime.errors import CannotStart
from actors.runtime.storage_access import create_storage, make_storage_private
from tests.gateway_process import REPO, obey_file_permissions


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def restore_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_storage_and_what_is_created_in_it_afterwards_are_private(tmp_path, restore_umask):
    storage = tmp_path / "site" / "var"
    create_storage(storage)
    (storage / "settings.db").write_text("")
    assert (mode(storage), mode(storage / "log"), mode(storage / "settings.db")) == (0o700, 0o700, 0o600)


def test_what_an_older_version_left_readable_is_tightened_and_links_are_left_alone(tmp_path, restore_umask):
    storage = tmp_path / "var"
    (storage / "history").mkdir(parents=True)
    for path, bits in ((storage, 0o755), (storage / "history", 0o775)):
        path.chmod(bits)
    readable = storage / "history" / "hot-2026-01-01.db"
    readable.write_text("")
    readable.chmod(0o644)
    owner_only_read = storage / "notes.txt"
    owner_only_read.write_text("")
    owner_only_read.chmod(0o444)
    target = tmp_path / "elsewhere"
    target.write_text("")
    target.chmod(0o644)
    (storage / "link").symlink_to(target)
    make_storage_private(storage)
    assert [mode(p) for p in (storage, storage / "history", readable, owner_only_read)] == [0o700, 0o700, 0o600, 0o400]
    assert mode(target) == 0o644  # not ours to change


def test_a_file_the_gateway_cannot_write_is_named_before_the_start(tmp_path, restore_umask):
    storage = tmp_path / "var"
    create_storage(storage)
    stuck = storage / "settings.db"
    stuck.write_text("")
    stuck.chmod(0o400)
    program = (
        "import sys; from pathlib import Path; from actors.runtime.storage_access import check_storage; "
        "check_storage(Path(sys.argv[1]))"
    )
    checked = subprocess.run(  # in a process that obeys file permissions even when the tests run as root
        [sys.executable, "-c", program, str(storage)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=obey_file_permissions,
    )
    assert checked.returncode != 0
    assert f"CannotStart: storage file {stuck} is not writable" in checked.stderr


def test_a_storage_path_through_a_file_is_named(tmp_path):
    blocker = tmp_path / "site"
    blocker.write_text("")
    with pytest.raises(CannotStart, match=f"storage {blocker / 'var'} cannot be created: Not a directory"):
        create_storage(blocker / "var")
