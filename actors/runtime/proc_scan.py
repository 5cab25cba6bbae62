"""Which processes hold a file open or listen on a port, read from Linux's /proc.

`btms run` needs both to find the processes of a gateway tree: Thespian's admin double-forks
and calls setsid, so they are neither our children nor in our process group, but every one of
them inherits the open lock file and the admin's listening socket. Only our own user's
processes are visible (the others' /proc/<pid>/fd are unreadable), which is what we want.
Without /proc (not Linux) every answer is empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from actors.runtime.proc_net_tcp import parse_row

PROC = Path("/proc")
TCP_LISTEN = 0x0A  # the state of a listening socket in /proc/net/tcp


def pids_holding(path: Path) -> set[int]:
    """Every process with an open descriptor on the file at `path` (matched by device and inode)."""
    try:
        target = path.stat()
    except OSError:
        return set()
    found = set()
    for pid, fd_path in _descriptors():
        try:
            st = os.stat(fd_path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            found.add(pid)
    return found


def pids_listening_on(port: int) -> set[int]:
    """Every process holding a TCP socket that listens on `port` (IPv4 or IPv6)."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return set()
    found = set()
    for pid, fd_path in _descriptors():
        try:
            if os.readlink(fd_path) in inodes:
                found.add(pid)
        except OSError:
            continue
    return found


def open_paths(pid: int) -> list[str]:
    """The paths of the files a process has open (empty when it is gone or not ours)."""
    paths = []
    try:
        entries = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return []
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("/"):
            paths.append(target)
    return paths


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a double-forked process that died is a zombie of init for a while)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return _exists_without_proc(pid)
    state = stat.rsplit(")", 1)[1].split()[0]  # the command name may contain spaces and ')'
    return state not in ("Z", "X")


def _exists_without_proc(pid: int) -> bool:
    if PROC.is_dir():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _descriptors() -> Iterator[tuple[int, Path]]:
    try:
        pids = [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            fds = list((PROC / str(pid) / "fd").iterdir())
        except OSError:  # gone, or another user's process
            continue
        for fd_path in fds:
            yield pid, fd_path


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "self" / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            try:
                row = parse_row(line)
            except ValueError:
                continue
            if row.state == TCP_LISTEN and row.local[1] == port:
                inodes.add(str(row.inode))
    return inodes
