"""Room on CPython's frame stack (actors/runtime/stack_room.py): a loop run in it maps no stack
chunk per call, at any depth it starts from; a loop run without it does at some depths.

A chunk CPython maps for a frame is fresh memory: its first page faults in when the frame is
written. Minor page faults are counted by the kernel, so this needs no clock.
"""

from __future__ import annotations

import resource

from thespian.system.actorManager import ActorManager

from actors.runtime.stack_room import STACK_ROOM_SLOTS, call_with_stack_room, use_stack_room

CALLS = 300
CHUNK_SLOTS = 16 * 1024 // 8  # CPython 3.11's chunk of frames: 16 KiB


def leaf(a: int, b: int) -> int:
    return a + b


def faults_over_calls() -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for i in range(CALLS):
        leaf(i, 1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def at_depth(depth: int, fn, *args):
    return fn(*args) if depth == 0 else at_depth(depth - 1, fn, *args)


def test_without_room_some_depth_maps_a_chunk_for_every_call():
    worst = max(at_depth(depth, faults_over_calls) for depth in range(0, 400))
    assert worst >= CALLS  # the depth where a call's frame opens a chunk: at least one fault each


def test_with_room_no_depth_maps_a_chunk_per_call():
    worst = max(at_depth(depth, call_with_stack_room, faults_over_calls) for depth in range(0, 400))
    assert worst < CALLS // 10


def test_the_room_is_larger_than_any_chunk_left_below_it():
    assert STACK_ROOM_SLOTS > CHUNK_SLOTS


def test_call_with_stack_room_passes_arguments_results_and_errors():
    assert call_with_stack_room(leaf, 2, 3) == 5
    try:
        call_with_stack_room(int, "not a number")
    except ValueError as error:
        assert "not a number" in str(error)
    else:
        raise AssertionError("the error must come through")


def test_every_actor_process_runs_its_message_loop_in_the_room():
    use_stack_room()
    use_stack_room()  # idempotent: wrapped once
    assert ActorManager.run.__name__ == "run_with_stack_room"
    assert ActorManager.run.__closure__ is not None
    (wrapped,) = [c.cell_contents for c in ActorManager.run.__closure__ if callable(c.cell_contents)]
    assert wrapped.__name__ == "run"
