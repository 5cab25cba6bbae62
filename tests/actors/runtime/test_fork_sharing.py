"""The main program freezes its heap before Thespian forks the actor system's first process."""

from __future__ import annotations

import gc
import os

import thespian.actors

from actors.runtime.system import start_actor_system
from tests.support import free_port


def test_the_heap_is_frozen_when_thespian_forks_its_admin(tmp_path, monkeypatch):
    """Unfrozen, the admin, its log process, the watchdog and the gateway each copied the main
    program's heap at their first full collection (bench/scale.py --by-process: 9 MiB of PSS)."""
    frozen_at_fork: list[int] = []

    class ForkingSystem:  # stands in for the ActorSystem whose constructor forks the admin
        def __init__(self, *args, **kwargs) -> None:
            frozen_at_fork.append(gc.get_freeze_count())

    for name, value in (
        ("THESPLOG_FILE", str(tmp_path / "thespian.log")),
        ("THESPLOG_THRESHOLD", "WARNING"),
        ("THESPLOG_FILE_MAXSIZE", "1024"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(thespian.actors, "ActorSystem", ForkingSystem)
    gc.unfreeze()
    try:
        start_actor_system(free_port(), tmp_path / "logs")
    finally:
        gc.unfreeze()  # the test process goes on collecting its own garbage
    assert frozen_at_fork and frozen_at_fork[0] > 0


def test_process_titles_may_not_overwrite_the_environment_tests_find_a_run_by(tmp_path, monkeypatch):
    from actors.runtime.system import prepare_process

    monkeypatch.setenv("SPT_NOENV", "")  # recorded, so that the test's own setting is undone
    monkeypatch.delenv("SPT_NOENV")
    for name in ("THESPLOG_FILE", "THESPLOG_THRESHOLD", "THESPLOG_FILE_MAXSIZE"):
        monkeypatch.setenv(name, "1024")
    prepare_process(tmp_path)
    assert os.environ["SPT_NOENV"] == "1"
