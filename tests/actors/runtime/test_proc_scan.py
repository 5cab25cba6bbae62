"""Finding processes by the files and listening sockets they hold (Linux /proc)."""

from __future__ import annotations

import os
import socket

from actors.runtime.proc_scan import (
    is_running,
    open_paths,
    pids_holding,
    pids_listening_on,
)


def test_the_holders_of_a_file_include_a_forked_child(tmp_path):
    path = tmp_path / "held"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.read(read_end, 1)  # hold the inherited descriptor until told to go
        os._exit(0)
    try:
        assert pids_holding(path) == {os.getpid(), child}
        assert str(path) in open_paths(child)
    finally:
        os.write(write_end, b"x")
        os.waitpid(child, 0)
        os.close(fd)
    assert pids_holding(path) == set()
    assert not is_running(child)


def test_the_listeners_of_a_port_are_found_and_a_closed_port_has_none():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert pids_listening_on(port) == {os.getpid()}
    assert pids_listening_on(port) == set()
