"""The storage directory: private to the gateway's user, and writable before anything starts.

It holds the API token hashes, users' password hashes, notification settings, the history and
the logs, so nobody else on the machine may read it: the directory is 0700 and every file in it
0600. A umask of 077 makes every file the gateway creates private (forked actor processes
inherit it; SQLite gives a database's -wal/-shm files the database's own mode), and files left
by older versions are tightened at start.

A storage that cannot be written (a read-only mount, another user's files) is found here, before
any actor process exists, and reported in one line; found later it would leave a half-started
tree behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from actors.runtime.errors import CannotStart

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
SUBDIRS_AT_START = ("log",)  # Thespian's logger opens its files here before any actor runs


def keep_new_files_private() -> None:
    """Every file and folder this process (and its forks) creates is for its own user only."""
    os.umask(PRIVATE_UMASK)


def create_storage(storage_dir: Path) -> None:
    """The storage folder and the folders needed at start, created private if missing."""
    keep_new_files_private()
    for folder in (storage_dir, *(storage_dir / name for name in SUBDIRS_AT_START)):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        except OSError as error:
            raise CannotStart(f"storage {folder} cannot be created: {error.strerror or error}") from None


def check_storage(storage_dir: Path) -> None:
    """Tighten what is already in the storage, then prove every folder and file writable.

    Call it holding the gateway lock (nothing else writes there then). Raises CannotStart
    naming the path that is in the way.
    """
    make_storage_private(storage_dir)
    for folder, files in _walk(storage_dir):
        _check_writable_folder(folder)
        for path in files:
            if not os.access(path, os.W_OK):
                raise CannotStart(f"storage file {path} is not writable by user id {os.geteuid()}")


def make_storage_private(storage_dir: Path) -> None:
    """Remove group and other permissions from the storage folder and everything in it.

    Symbolic links are left alone (the simulator's device links point outside). A file that
    belongs to another user cannot be changed: that is reported, since the gateway could not
    write it either.
    """
    if not storage_dir.exists():
        return
    for folder, files in _walk(storage_dir):
        for path in (folder, *files):
            _make_private(path)


def _walk(storage_dir: Path):
    """(folder, its regular files) for the storage folder and every folder below it."""
    for root, _dirs, names in os.walk(storage_dir, onerror=_raise_walk_error):
        folder = Path(root)
        yield folder, [folder / n for n in names if _is_regular_file(folder / n)]


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _raise_walk_error(error: OSError) -> None:
    if isinstance(error, FileNotFoundError):  # removed while we walk (`btms token` beside a running gateway)
        return
    raise CannotStart(f"storage {error.filename} cannot be read: {error.strerror or error}")


def _make_private(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
        if not mode & 0o077:
            return
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:  # the gateway's retention removed it meanwhile
        return
    except OSError as error:
        owner = os.lstat(path).st_uid
        raise CannotStart(
            f"storage {path} cannot be made private (owner uid {owner}, we are uid {os.geteuid()}): "
            f"{error.strerror or error}"
        ) from None


def _check_writable_folder(folder: Path) -> None:
    """Create, write, sync and delete a file: the only proof that survives read-only mounts and ACLs."""
    try:
        handle, name = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        try:
            os.write(handle, b"x")
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(name)
    except OSError as error:
        raise CannotStart(f"storage {folder} is not writable: {error.strerror or error}") from None
