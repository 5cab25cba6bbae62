"""Restart policy of supervising actors: restart at once, back off when a child keeps dying.

A child whose configuration makes it die at start would otherwise be forked in a tight loop
(THESPIAN.md §1). Pure: the caller passes the clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 60.0
FREE_RESTARTS = 3  # restarts within WINDOW_S that happen immediately
MAX_DELAY_S = 30.0


@dataclass
class RestartPolicy:
    history: dict[str, deque] = field(default_factory=dict)

    def delay_before_restart(self, name: str, now: float) -> float:
        """Seconds to wait before re-creating `name`, recording this restart."""
        times = self.history.setdefault(name, deque())
        while times and now - times[0] > WINDOW_S:
            times.popleft()
        times.append(now)
        excess = len(times) - FREE_RESTARTS
        if excess <= 0:
            return 0.0
        return min(MAX_DELAY_S, 0.5 * 2 ** (excess - 1))


def find_name(children: list[tuple[str, object]], address: object) -> str | None:
    """The name of the child at `address` (addresses are unhashable: compare with ==)."""
    for name, child in children:
        if child == address:
            return name
    return None


def replace_child(children: list[tuple[str, object]], name: str, address: object) -> None:
    for i, (n, _) in enumerate(children):
        if n == name:
            children[i] = (name, address)
            return
    children.append((name, address))


def child_named(children: list[tuple[str, object]], name: str) -> object | None:
    for n, child in children:
        if n == name:
            return child
    return None
