"""Run every actor process's message loop with room on CPython's frame stack, so that handling
a message does not map and unmap memory for its frames again and again.

CPython 3.11 keeps Python frames in chunks of 16 KiB that it maps (mmap) when a call does not
fit in the current one and unmaps as soon as the frame that opened a chunk returns. An actor
process runs deep: its stack starts with every frame of the parents it was forked from, and a
string's scan goes through the UPS, its string host, the string master, the cell bank and 120
cells. When a chunk boundary falls inside that loop, every cell's call maps and unmaps a chunk
and faults its pages in. Measured (bench/string_master_step.py run below extra frames): a
string master's scan took 2 to 2.6 times its CPU at some stack depths and not at others; py-spy
on a full gateway found a UPS's samples in mmap, munmap and the lines that call a cell's
estimators.

`call_with_stack_room(fn, *args)` calls through a frame that reserves STACK_ROOM_SLOTS slots,
more than any chunk left from below can hold, so it always opens a chunk of its own, twice its
size: the calls below it have the other half. The reserved part is never written, so its pages
are never touched. `use_stack_room()` runs Thespian's loop of every actor process so (its
ActorManager.run): the chunk is mapped once per process, and no message handler crosses a
boundary unless it goes 64 KiB deeper.

Like quiet_identify.py this touches a library internal: thespian is pinned in pyproject.toml,
and tests/actors/runtime/test_stack_room.py fails if what it relies on moves.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

STACK_ROOM_SLOTS = 8_192  # 64 KiB of 8-byte slots: its chunk is 128 KiB

_installed = False


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


_code = _call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + STACK_ROOM_SLOTS)
_call_in_room = types.FunctionType(_code, _call.__globals__, "call_with_stack_room")


def call_with_stack_room(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), its frames in a fresh stack chunk with 64 KiB of room."""
    return _call_in_room(fn, args)


def use_stack_room() -> None:
    """Install (idempotent). Forked actor processes inherit it."""
    global _installed
    if _installed:
        return
    from thespian.system.actorManager import ActorManager

    run = ActorManager.run

    def run_with_stack_room(self: ActorManager) -> Any:
        return call_with_stack_room(run, self)

    ActorManager.run = run_with_stack_room
    _installed = True
